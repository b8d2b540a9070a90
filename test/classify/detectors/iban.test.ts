import { describe, expect, it } from "vitest";
import { ibanDetector } from "../../../src/classify/detectors/iban.js";

const values = (text: string) => ibanDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("ibanDetector", () => {
  it("is the pii kind iban", () => {
    expect(ibanDetector.kind).toBe("iban");
    expect(ibanDetector.group).toBe("pii");
  });

  it("reports a grouped IBAN's offsets with score 1", () => {
    expect(ibanDetector.find("to GB82 WEST 1234 5698 7654 32.")).toEqual([{ start: 3, end: 30, score: 1 }]);
  });

  it("accepts unbroken IBANs and groups of four with a shorter last group", () => {
    expect(values("DE89370400440532013000 NL91 ABNA 0417 1643 00 NO93 8601 1117 947")).toEqual([
      "DE89370400440532013000",
      "NL91 ABNA 0417 1643 00",
      "NO93 8601 1117 947",
    ]);
  });

  it("checks mod 97", () => {
    expect(values("GB82 WEST 1234 5698 7654 33 DE89370400440532013001")).toEqual([]);
  });

  it("checks the country's length", () => {
    expect(values("GB82 WEST 1234 5698 7654 FR1420041010050500013M026 DE893704004405320130001")).toEqual([]);
  });

  it("ignores unknown country codes, lowercase and other groupings", () => {
    expect(values("US12 3456 7890 1234 5678 90 gb82west12345698765432 NO93 86011117 947")).toEqual([]);
  });

  it("ignores an IBAN glued to letters or digits", () => {
    expect(values("XGB82WEST12345698765432 GB82WEST123456987654321")).toEqual([]);
  });
});
