import { describe, expect, it } from "vitest";
import { createOutputFilter, type OutputFilter } from "../../src/execute/output-filter.js";

// Runs over the real detector list (src/classify/detectors/secrets.ts): aws_access_key_id,
// password, private_key. output-filter.test.ts has the same mechanics over stand-in detectors.

function textThrough(filter: OutputFilter, deltas: readonly string[]): string {
  return deltas.map((delta) => filter.text(delta)).join("") + filter.end().text;
}

const splitAt = (text: string, at: number) => [text.slice(0, at), text.slice(at)];

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";

describe("createOutputFilter masking", () => {
  it("never lets an AWS access key id out whole, wherever it is split, and counts it once", () => {
    const answer = `Use ${KEY_ID} for the bucket.`;
    for (let at = 0; at <= answer.length; at++) {
      const filter = createOutputFilter(undefined);
      const out = textThrough(filter, splitAt(answer, at));
      expect(out, `split at ${at}`).not.toContain(KEY_ID);
      expect(out, `split at ${at}`).toContain("[REDACTED:aws_access_key_id]");
      expect(filter.masked.get("aws_access_key_id"), `split at ${at}`).toBe(1);
    }
  });

  it("never lets a key out whole in tool-call arguments, wherever they are split, and keeps them JSON", () => {
    const args = `{"access_key":"${KEY_ID}","region":"eu-west-1"}`;
    for (let at = 0; at <= args.length; at++) {
      const filter = createOutputFilter(undefined);
      const [first, second] = splitAt(args, at);
      const out =
        filter.toolArguments(0, first as string) +
        filter.toolArguments(0, second as string) +
        (filter.end().toolArguments.get(0) ?? "");
      expect(out, `split at ${at}`).not.toContain(KEY_ID);
      expect(JSON.parse(out).region, `split at ${at}`).toBe("eu-west-1");
      expect(filter.masked.get("aws_access_key_id"), `split at ${at}`).toBe(1);
    }
  });

  it("masks the value after `password=` when it comes in the next delta", () => {
    const filter = createOutputFilter(undefined);
    const out = textThrough(filter, ["Connect with password=", "Tr0ub4dor&3 and then", " retry."]);
    expect(out).not.toContain("Tr0ub4dor&3");
    expect(out).toContain("password=[REDACTED:password]");
    expect(filter.masked.get("password")).toBe(1);
  });

  it("leaves prose with no secret as it was, and counts nothing", () => {
    const filter = createOutputFilter(undefined);
    const answer = "The AKIA prefix marks AWS access keys; rotate them every 90 days.";
    expect(textThrough(filter, splitAt(answer, 10))).toBe(answer);
    expect(filter.masked.size).toBe(0);
  });

  it("never lets a private key block out, wherever it is split", () => {
    const body =
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu";
    const block = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
    const answer = `Here is the key:\n${block}\nKeep it safe.`;
    for (let at = 0; at <= answer.length; at++) {
      const filter = createOutputFilter(undefined);
      const out = textThrough(filter, splitAt(answer, at));
      expect(out, `split at ${at}`).not.toContain("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
      expect(out, `split at ${at}`).toContain("[REDACTED:private_key]");
      expect(filter.masked.get("private_key"), `split at ${at}`).toBe(1);
    }
  });

  it("masks a password in tool-call arguments, wherever they are split", () => {
    const args = '{"user":"admin","password":"Tr0ub4dor&3x"}';
    for (let at = 0; at <= args.length; at++) {
      const filter = createOutputFilter(undefined);
      const [first, second] = splitAt(args, at);
      const out =
        filter.toolArguments(0, first as string) +
        filter.toolArguments(0, second as string) +
        (filter.end().toolArguments.get(0) ?? "");
      expect(JSON.parse(out), `split at ${at}`).toEqual({ user: "admin", password: "[REDACTED:password]" });
    }
  });

  it("masks a plain-word password after `password: ` that ends its line, arriving alone", () => {
    const filter = createOutputFilter(undefined);
    const out = textThrough(filter, ["The login is admin, password: ", "swordfishes", "\nThen log in."]);
    expect(out).not.toContain("swordfishes");
    expect(filter.masked.get("password")).toBe(1);
  });

  it("never lets a key out whole when it is split in three, at any two points", () => {
    const answer = `id ${KEY_ID}.`;
    for (let first = 0; first <= answer.length; first++)
      for (let second = first; second <= answer.length; second++) {
        const filter = createOutputFilter(undefined);
        const deltas = [answer.slice(0, first), answer.slice(first, second), answer.slice(second)];
        const out = textThrough(filter, deltas);
        // A plain-word start ("A") may go out before the rest is known to be a key.
        expect(out, `split at ${first}, ${second}`).toMatch(/^id A?\[REDACTED:aws_access_key_id\]\.$/);
        expect(filter.masked.get("aws_access_key_id"), `split at ${first}, ${second}`).toBe(1);
      }
  });

  it("never lets a private key out of tool-call arguments (escaped line breaks), wherever they are split", () => {
    const body =
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu";
    const args = `{"name":"deploy","key":"-----BEGIN PRIVATE KEY-----\\n${body}\\n-----END PRIVATE KEY-----\\n"}`;
    expect(JSON.parse(args).name).toBe("deploy");
    for (let at = 0; at <= args.length; at++) {
      const filter = createOutputFilter(undefined);
      const [first, second] = splitAt(args, at);
      const out =
        filter.toolArguments(0, first as string) +
        filter.toolArguments(0, second as string) +
        (filter.end().toolArguments.get(0) ?? "");
      expect(out, `split at ${at}`).not.toContain("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
      expect(JSON.parse(out).name, `split at ${at}`).toBe("deploy");
    }
  });
  it("without increments never cuts an unfinished key block at the size cap", () => {
    const filter = createOutputFilter(undefined, { incremental: false });
    const block = `-----BEGIN RSA PRIVATE KEY-----\n${"MIIEowIBAAKCAQEA7Vx3Q9m2Lk4pTz8wRb1sYc6dHj0uFg5nE2aKoWqPiXr\n".repeat(40)}-----END RSA PRIVATE KEY-----`;
    const answer = `${"words and more words ".repeat(740)}${block} done`;
    let out = "";
    for (let at = 0; at < answer.length; at += 97) out += filter.text(answer.slice(at, at + 97));
    out += filter.end().text;
    expect(out).toContain("[REDACTED:private_key]");
    expect(out).not.toContain("MIIEowIBAAKCAQEA");
  });
});
