import { describe, expect, it } from "vitest";
import { PERSONAL_DATA_DETECTORS } from "../../../src/classify/detectors/personal-data.js";

const SIZE = 1 << 20;

/** `unit` repeated to 1 MB. */
const wall = (unit: string) => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

/**
 * Inputs that make naive patterns backtrack or rescan: long runs of what each detector expands
 * over, and its anchors repeated. Nothing here asserts time (a slow machine must not fail the
 * suite); a detector that is not linear shows up as a test that never finishes.
 */
const ADVERSARIAL: Record<string, string> = {
  "a wall of digits": wall("1"),
  "digits separated by single spaces": wall("1 "),
  "digits separated by single dashes": wall("1-"),
  "digit groups of four separated by spaces": wall("4111 "),
  "repeated @": wall("@"),
  "repeated a@": wall("a@"),
  "repeated a.": wall("a."),
  "one @ after a long local part": `${wall("a.")}@example.com`,
  "repeated [at] and [dot]": wall("a [at] b [dot] "),
  "repeated spelled-out at and dot": wall("email a at b dot "),
  "a long run of hex": wall("0123456789abcdef"),
  "a base64 wall": wall("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTEx+/="),
  "dotted digits 1.1.1.1…": wall("1."),
  "colons ::::": wall(":"),
  "hex groups and colons": wall("ab:"),
  "phone punctuation ( ) - + and digits": wall("+1 (2) 3-"),
  "IBAN heads": wall("GB82 "),
  "repeated birth words and dates": wall("dob 1984-03-02 "),
  "repeated birth words without dates": wall("born "),
  "repeated identity words": wall("passport NI number SIN "),
};

describe("the personal-data detectors on 1 MB adversarial inputs", () => {
  for (const detector of PERSONAL_DATA_DETECTORS)
    describe(detector.kind, () => {
      for (const [name, text] of Object.entries(ADVERSARIAL))
        it(`finishes on ${name}`, () => {
          const matches = detector.find(text);
          expect(Array.isArray(matches)).toBe(true);
          for (const match of matches) expect(match.end).toBeGreaterThan(match.start);
        });
    });
});
