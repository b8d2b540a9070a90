import { describe, expect, it } from "vitest";
import { nearWord, precededByWord } from "../../../src/classify/detectors/context.js";

describe("nearWord", () => {
  it("finds a whole word within the window before or after the value", () => {
    const text = "SSN: 123-45-6789";
    expect(nearWord(text, 5, 16, ["ssn"])).toBe(true);
    expect(nearWord("123-45-6789 is my ssn", 0, 11, ["ssn"])).toBe(true);
  });

  it("does not take a word cut by the window's edge for a whole word", () => {
    // The window of 8 before the value starts inside "xssn", leaving "ssn" at its edge.
    const text = "xssn    123";
    expect(nearWord(text, 8, 11, ["ssn"], 7)).toBe(false);
    expect(nearWord("123 ssnx", 0, 3, ["ssn"], 4)).toBe(false);
  });
});

describe("precededByWord", () => {
  it("does not take a word cut by the window's edge for a whole word", () => {
    expect(precededByWord("xversion 1.2.3.4", 9, ["version"], 8)).toBe(false);
    expect(precededByWord(" version 1.2.3.4", 9, ["version"], 8)).toBe(true);
  });
});
