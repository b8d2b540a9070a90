import { describe, expect, it } from "vitest";
import { usSsnDetector } from "../../../src/classify/detectors/us-ssn.js";

const values = (text: string) => usSsnDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("usSsnDetector", () => {
  it("is the pii kind ssn", () => {
    expect(usSsnDetector.kind).toBe("ssn");
    expect(usSsnDetector.group).toBe("pii");
  });

  it("finds AAA-GG-SSSS on its own at 0.85, and at 0.95 next to an SSN word", () => {
    expect(usSsnDetector.find("id 123-45-6789")).toEqual([{ start: 3, end: 14, score: 0.85 }]);
    expect(usSsnDetector.find("SSN: 123-45-6789")).toEqual([{ start: 5, end: 16, score: 0.95 }]);
  });

  it("finds the spaced form (0.6, or 0.9 with context)", () => {
    expect(usSsnDetector.find("123 45 6789")[0]?.score).toBe(0.6);
    expect(usSsnDetector.find("social security 123 45 6789")[0]?.score).toBe(0.9);
  });

  it("finds nine bare digits only next to an SSN word", () => {
    expect(values("order 123456789")).toEqual([]);
    expect(usSsnDetector.find("ssn=123456789")).toEqual([{ start: 4, end: 13, score: 0.85 }]);
  });

  it("excludes numbers never issued: area 000, 666, 9xx; group 00; serial 0000", () => {
    expect(values("SSN 000-12-3456 666-12-3456 912-70-1234 123-00-4567 123-45-0000")).toEqual([]);
  });

  it("rejects mixed separators and parts of longer numbers or ids", () => {
    expect(values("123-45 6789 1123-45-6789 123-45-67890 v123-45-6789 123-45-6789-00 1.123-45-6789")).toEqual(
      [],
    );
  });

  it("does not take phone numbers, dates or EINs for SSNs", () => {
    expect(values("555-123-4567 2024-05-01 12-3456789")).toEqual([]);
  });
});
