import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bearerCredential, credentialDigest, findByDigest, sameDigest } from "../../src/core/credentials.js";

describe("credentials", () => {
  it("digests a secret with SHA-256, so secrets of any length compare as 32 bytes", () => {
    expect(credentialDigest("k").toString("hex")).toBe(createHash("sha256").update("k").digest("hex"));
    expect(credentialDigest("a".repeat(1000))).toHaveLength(32);
  });

  it("compares digests exactly, and refuses (without throwing) digests of different lengths", () => {
    const a = credentialDigest("alpha-key-0123456789");
    expect(sameDigest(a, credentialDigest("alpha-key-0123456789"))).toBe(true);
    expect(sameDigest(a, credentialDigest("alpha-key-0123456788"))).toBe(false);
    expect(sameDigest(a, a.subarray(0, 16))).toBe(false);
  });

  it("looks at every known digest whatever matched, so the time taken does not say which one did", () => {
    const reads: string[] = [];
    const entry = (name: string, secret: string) => ({
      name,
      get digest() {
        reads.push(name);
        return credentialDigest(secret);
      },
    });
    const known = [entry("first", "first-key-0123456789"), entry("second", "second-key-0123456789")];
    expect(findByDigest("first-key-0123456789", known)?.name).toBe("first");
    expect(reads).toEqual(["first", "second"]);
    reads.length = 0;
    expect(findByDigest("nobody-0123456789", known)).toBeUndefined();
    expect(reads).toEqual(["first", "second"]);
  });

  it("reads a Bearer credential, and nothing else", () => {
    expect(bearerCredential("Bearer abc.def")).toBe("abc.def");
    expect(bearerCredential("bearer abc")).toBe("abc");
    expect(bearerCredential("Basic YWxhZGRpbjpvcGVu")).toBeUndefined();
    expect(bearerCredential("Bearer a, Bearer b")).toBeUndefined();
    expect(bearerCredential("Bearer ")).toBeUndefined();
    expect(bearerCredential(undefined)).toBeUndefined();
  });
});
