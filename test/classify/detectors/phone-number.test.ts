import { describe, expect, it } from "vitest";
import { phoneNumberDetector } from "../../../src/classify/detectors/phone-number.js";

const values = (text: string) => phoneNumberDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("phoneNumberDetector", () => {
  it("is the pii kind phone", () => {
    expect(phoneNumberDetector.kind).toBe("phone");
    expect(phoneNumberDetector.group).toBe("pii");
  });

  it("spans an international number from its + through its last digit, at score 0.95", () => {
    expect(phoneNumberDetector.find("Call +1 (415) 555-2671 now")).toEqual([
      { start: 5, end: 22, score: 0.95 },
    ]);
  });

  it("finds international numbers of many countries, also with a 00 prefix", () => {
    expect(
      values("+44 20 7946 0958, +49 30 901820, +33 6 12 34 56 78, +91 98765 43210, 0044 20 7946 0958"),
    ).toEqual([
      "+44 20 7946 0958",
      "+49 30 901820",
      "+33 6 12 34 56 78",
      "+91 98765 43210",
      "0044 20 7946 0958",
    ]);
  });

  it("finds North American numbers in their usual groupings, parentheses included", () => {
    expect(values("(212) 555-0199 / 415.555.0123 / 310 555 0123 / 1-800-555-0199")).toEqual([
      "(212) 555-0199",
      "415.555.0123",
      "310 555 0123",
      "1-800-555-0199",
    ]);
  });

  it("finds British and French numbers in their usual groupings", () => {
    expect(values("020 7946 0958 or 01 23 45 67 89")).toEqual(["020 7946 0958", "01 23 45 67 89"]);
  });

  it("scores a usual grouping 0.85, or 0.9 with a phone word nearby", () => {
    expect(phoneNumberDetector.find("ref (212) 555-0199")[0]?.score).toBe(0.85);
    expect(phoneNumberDetector.find("phone (212) 555-0199")[0]?.score).toBe(0.9);
  });

  it("needs a phone word for unseparated or unusually grouped national numbers (score 0.8)", () => {
    expect(values("ref 4155552671")).toEqual([]);
    expect(phoneNumberDetector.find("mobile 4155552671")).toEqual([{ start: 7, end: 17, score: 0.8 }]);
  });

  it("reads German national numbers only with a phone word or the 030/… slash", () => {
    expect(values("Kontonummer 030 901820")).toEqual([]);
    expect(values("Telefon 030 901820 oder 030/901820")).toEqual(["030 901820", "030/901820"]);
  });

  it("lets libphonenumber-js reject unallocated numbers", () => {
    expect(values("555-123-4567 and +1 555 555 5555")).toEqual([]);
  });

  it("sheds a trailing count after a space, but not a longer group", () => {
    expect(values("call 415 555 2671 2 times")).toEqual(["415 555 2671"]);
    expect(values("fax 0800 123 4567 8901")).toEqual([]);
  });

  it("does not flag dates, times, IPv4 addresses, versions, decimals or prices", () => {
    expect(
      values(
        "2024-05-01 31/01/1984 31.01.1984 12:30:45 192.168.100.200 10.0.19041.1 1234567.89 $1,234,567.89",
      ),
    ).toEqual([]);
  });

  it("does not flag a log line's timestamp next to a phone word", () => {
    expect(values("[2024-05-01 09:12:03] sms sent")).toEqual([]);
  });

  it("does not flag digits glued to letters, ids or longer numbers", () => {
    expect(
      values("x415-555-2671 #415-555-2671 415-555-2671x ISBN 978-3-16-148410-0 4111 1111 1111 1111"),
    ).toEqual([]);
  });

  it("does not take 3+4 as an international prefix", () => {
    expect(values("3+14155552671")).toEqual([]);
  });

  it("in a text of thousands of numbers, validates the first ones and takes the rest by shape at 0.6", () => {
    const line = (i: number) => `+1 415 ${200 + (i % 700)} ${1000 + i}, `;
    const text = Array.from({ length: 6000 }, (_, i) => line(i)).join("");
    const scores = phoneNumberDetector.find(text).map((m) => m.score);
    expect(scores.length).toBeGreaterThan(5000);
    expect(scores[0]).toBe(0.95);
    expect(scores.at(-1)).toBe(0.6);
    expect(phoneNumberDetector.find("+1 415 555 2671")[0]?.score).toBe(0.95);
  });
});
