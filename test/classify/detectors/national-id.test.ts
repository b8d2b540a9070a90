import { describe, expect, it } from "vitest";
import { nationalIdDetector } from "../../../src/classify/detectors/national-id.js";

const values = (text: string) => nationalIdDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("nationalIdDetector", () => {
  it("is the pii kind national_id", () => {
    expect(nationalIdDetector.kind).toBe("national_id");
    expect(nationalIdDetector.group).toBe("pii");
  });

  it("finds UK National Insurance numbers with valid prefixes and suffixes, at 0.9", () => {
    expect(nationalIdDetector.find("NI number: AB 12 34 56 C")).toEqual([{ start: 11, end: 24, score: 0.9 }]);
    expect(values('"nino": "JG103759A"')).toEqual(["JG103759A"]);
    expect(values("NI number QQ123456C, NI number BG123456A, NI number AB123456E")).toEqual([]);
  });

  it("finds Canadian SINs that pass Luhn, at 0.95", () => {
    expect(nationalIdDetector.find("SIN 130 692 544")).toEqual([{ start: 4, end: 15, score: 0.95 }]);
    expect(values("SIN 130 692 545")).toEqual([]);
  });

  it("counts SIN, DNI and NIE only in capitals", () => {
    expect(values("a sin 130 692 544")).toEqual([]);
  });

  it("finds Aadhaar numbers that pass Verhoeff", () => {
    expect(values("Aadhaar 2345 6789 0124 / aadhaar 491837265040")).toEqual([
      "2345 6789 0124",
      "491837265040",
    ]);
    expect(values("Aadhaar 2345 6789 0123")).toEqual([]);
  });

  it("finds Spanish DNI and NIE numbers with the right check letter", () => {
    expect(values("DNI 12345678Z, NIE X1234567L")).toEqual(["12345678Z", "X1234567L"]);
    expect(values("DNI 12345678A")).toEqual([]);
  });

  it("finds Dutch BSNs that pass the 11-test", () => {
    expect(values("BSN 111222333")).toEqual(["111222333"]);
    expect(values("BSN 111222334")).toEqual([]);
  });

  it("finds passport, driving licence and ID card numbers by shape only, at 0.7", () => {
    expect(nationalIdDetector.find("Passport no. X1234567")).toEqual([{ start: 13, end: 21, score: 0.7 }]);
    expect(
      values("driving licence MORGA753116SM9IJ; Personalausweis T22000129; national ID AB1234567"),
    ).toEqual(["MORGA753116SM9IJ", "T22000129", "AB1234567"]);
  });

  it("skips filler words and needs document-like values (two digits in a row; 7 if all digits)", () => {
    expect(values("passport number is 533380006")).toEqual(["533380006"]);
    expect(values("passport photos 35x45 mm, passport fee 2024, passport control at 09:00")).toEqual([]);
  });

  it("does not look past the end of the line", () => {
    expect(values("Passport:\nX1234567")).toEqual([]);
  });

  it("ignores the values without their words", () => {
    expect(values("Order AB123456C, reference 130692544, ticket 491837265040")).toEqual([]);
  });
});
