// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` placeholders are written literally, as configs do
import { describe, expect, it } from "vitest";
import {
  ALNUM,
  BASE64,
  forEachRun,
  hasContext,
  isPlaceholder,
  looksRedacted,
  shannonEntropy,
  standsAlone,
} from "../../../src/classify/detectors/secret-text.js";

describe("shannonEntropy", () => {
  it("is 0 for one repeated character and log2(n) for n distinct ones", () => {
    expect(shannonEntropy("aaaaaaaa", 0, 8)).toBe(0);
    expect(shannonEntropy("abcdefgh", 0, 8)).toBeCloseTo(3);
    expect(shannonEntropy("xxabababab", 2, 10)).toBeCloseTo(1);
  });
});

describe("looksRedacted", () => {
  it("is true for runs of six identical characters and for few distinct characters", () => {
    expect(looksRedacted("abXXXXXXcd", 0, 10)).toBe(true);
    expect(looksRedacted("abababababababab", 0, 16)).toBe(true);
    expect(looksRedacted("aB3xK9pQ2mZ7vL4w", 0, 16)).toBe(false);
  });
});

describe("isPlaceholder", () => {
  it("recognises references, fill-ins, masks and placeholder words", () => {
    for (const value of [
      "${X}",
      "$X",
      "{{ x }}",
      "<password>",
      "[secret]",
      "%X%",
      "%(pw)s",
      "***",
      "xxxx",
      "...",
      "changeme",
      "None",
    ])
      expect(isPlaceholder(value), value).toBe(true);
  });

  it("does not take real-looking values for placeholders", () => {
    for (const value of ["hunter2", "S3cret!", "p@ss", "<not closed", "[half"])
      expect(isPlaceholder(value), value).toBe(false);
  });
});

describe("standsAlone", () => {
  it("takes case changes and symbols as word boundaries, letters as continuations", () => {
    const at = (text: string, word: string) =>
      standsAlone(text, text.indexOf(word), text.indexOf(word) + word.length);
    expect(at("authToken", "Token")).toBe(true);
    expect(at("SECRET_KEY", "SECRET")).toBe(true);
    expect(at("APITOKEN", "TOKEN")).toBe(true);
    expect(at("x-api-key", "key")).toBe(true);
    expect(at("tokenize", "token")).toBe(false);
    expect(at("monkey", "key")).toBe(false);
    expect(at("OAuth", "Auth")).toBe(false);
  });
});

describe("hasContext", () => {
  it("looks within the window before and after the span only", () => {
    const words = /secret/gi;
    expect(hasContext("secret: VALUE", 8, 13, words)).toBe(true);
    expect(hasContext("VALUE is the secret", 0, 5, words)).toBe(true);
    expect(hasContext(`secret${" ".repeat(60)}VALUE`, 66, 71, words)).toBe(false);
  });

  it("judges word boundaries against the whole text, not the window's edge", () => {
    const text = `xsecret${" ".repeat(44)}VALUE`;
    expect(hasContext(text, 51, 56, /secret/gi)).toBe(false);
  });
});

describe("forEachRun", () => {
  it("visits every maximal run at least as long as asked, in order", () => {
    const text = "ab cdefgh ijklmnopqr st uvwxyz0123456789";
    const runs: string[] = [];
    forEachRun(text, 6, ALNUM, (start, end) => runs.push(text.slice(start, end)));
    expect(runs).toEqual(["cdefgh", "ijklmnopqr", "uvwxyz0123456789"]);
  });

  it("finds runs at the very start and end and of exactly the minimum length", () => {
    const text = "abcd/+ef gh 12345";
    const runs: string[] = [];
    forEachRun(text, 5, BASE64, (start, end) => runs.push(text.slice(start, end)));
    expect(runs).toEqual(["abcd/+ef", "12345"]);
  });
});
