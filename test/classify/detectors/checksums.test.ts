import { describe, expect, it } from "vitest";
import { ibanMod97Valid, luhnValid, verhoeffValid } from "../../../src/classify/detectors/checksums.js";

const whole = (check: (text: string, start: number, end: number) => boolean) => (text: string) =>
  check(text, 0, text.length);

describe("luhnValid", () => {
  const luhn = whole(luhnValid);
  it("accepts numbers whose Luhn sum is a multiple of 10, skipping separators", () => {
    expect(luhn("4111111111111111")).toBe(true);
    expect(luhn("4111 1111-1111 1111")).toBe(true);
    expect(luhn("4111111111111112")).toBe(false);
  });
  it("reads only the given range", () => {
    expect(luhnValid("xx4111111111111111yy", 2, 18)).toBe(true);
  });
});

describe("verhoeffValid", () => {
  const verhoeff = whole(verhoeffValid);
  it("accepts a number whose Verhoeff check digit is right", () => {
    expect(verhoeff("2363")).toBe(true);
    expect(verhoeff("2364")).toBe(false);
  });
  it("catches adjacent swaps", () => {
    expect(verhoeff("234567890124")).toBe(true);
    expect(verhoeff("234567890214")).toBe(false);
  });
});

describe("ibanMod97Valid", () => {
  const iban = whole(ibanMod97Valid);
  it("moves the first four characters to the end and wants remainder 1 mod 97", () => {
    expect(iban("GB82WEST12345698765432")).toBe(true);
    expect(iban("GB82 WEST 1234 5698 7654 32")).toBe(true);
    expect(iban("GB82WEST12345698765433")).toBe(false);
  });
  it("fails on characters other than capitals, digits and spaces", () => {
    expect(iban("GB82-WEST-1234-5698-7654-32")).toBe(false);
  });
});
