import { describe, expect, it } from "vitest";
import { emailDetector } from "../../../src/classify/detectors/email.js";

const values = (text: string) => emailDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("emailDetector", () => {
  it("is the pii kind email", () => {
    expect(emailDetector.kind).toBe("email");
    expect(emailDetector.group).toBe("pii");
  });

  it("reports the address's offsets, with score 1 for a plain address", () => {
    expect(emailDetector.find("mail jane@example.com now")).toEqual([{ start: 5, end: 21, score: 1 }]);
  });

  it("keeps +tags, dots, hyphens, underscores and subdomains", () => {
    expect(values("to: first.last+llm_1@mail.sub-dept.example.co.uk")).toEqual([
      "first.last+llm_1@mail.sub-dept.example.co.uk",
    ]);
  });

  it("leaves a sentence's full stop and surrounding brackets or quotes out of the span", () => {
    expect(values('Write to <a@example.com>, "b@example.org" or (c@example.net).')).toEqual([
      "a@example.com",
      "b@example.org",
      "c@example.net",
    ]);
  });

  it("finds every address in a list, in order", () => {
    expect(values("a@example.com,b@example.com;c@example.com")).toEqual([
      "a@example.com",
      "b@example.com",
      "c@example.com",
    ]);
  });

  it("finds an address after mailto:", () => {
    expect(values("mailto:press@example.com")).toEqual(["press@example.com"]);
  });

  it("finds bracketed obfuscations without context, at score 0.9, span including the marker words", () => {
    const text = "john [at] example [dot] com and jo(at)example.org and x {at} example {dot} io";
    expect(values(text)).toEqual([
      "john [at] example [dot] com",
      "jo(at)example.org",
      "x {at} example {dot} io",
    ]);
    expect(emailDetector.find(text).map((m) => m.score)).toEqual([0.9, 0.9, 0.9]);
  });

  it("finds a spelled-out 'name at domain dot com' only next to a mail word, at score 0.7", () => {
    expect(emailDetector.find("email: carol at example dot com")).toEqual([
      { start: 7, end: 31, score: 0.7 },
    ]);
    expect(values("carol at example dot com")).toEqual([]);
  });

  it("does not take English for a spelled-out address", () => {
    expect(values("Email me at home dot com")).toEqual([]);
    expect(values("email: he works at example.com")).toEqual([]);
  });

  it("ignores asset names, package versions, handles and decorators", () => {
    expect(values("icon@2x.png logo@3x.webp lodash@4.17.21 @jane @Component() a @ b")).toEqual([]);
  });

  it("ignores the user:password@host of a URL and scp-style git remotes", () => {
    expect(values("https://user:secret@host.example.com/path git@github.com:acme/repo.git")).toEqual([]);
  });

  it("needs a dotted domain with an alphabetic top-level domain", () => {
    expect(values("foo@localhost bar@10.0.0.1 baz@example.c0m")).toEqual([]);
  });

  it("rejects a local part ending in a dot, and reads an ellipsis before an address as punctuation", () => {
    expect(values("x.@example.com")).toEqual([]);
    expect(values("see...john@example.com")).toEqual(["john@example.com"]);
  });
});
