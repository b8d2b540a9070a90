import { describe, expect, it } from "vitest";
import { paymentCardDetector } from "../../../src/classify/detectors/payment-card.js";

const values = (text: string) => paymentCardDetector.find(text).map((m) => text.slice(m.start, m.end));

describe("paymentCardDetector", () => {
  it("is the pii kind card", () => {
    expect(paymentCardDetector.kind).toBe("card");
    expect(paymentCardDetector.group).toBe("pii");
  });

  it("reports the number's offsets with score 1", () => {
    expect(paymentCardDetector.find("pay 4111 1111 1111 1111.")).toEqual([{ start: 4, end: 23, score: 1 }]);
  });

  it("accepts unbroken numbers and groups of four joined by spaces or dashes", () => {
    expect(values("4111111111111111 / 4111 1111 1111 1111 / 4111-1111-1111-1111")).toEqual([
      "4111111111111111",
      "4111 1111 1111 1111",
      "4111-1111-1111-1111",
    ]);
  });

  it("accepts the Amex and Diners 4-6-5 and 4-6-4 groupings and a short last group", () => {
    expect(values("3782 822463 10005, 3056 930902 5904, 3056 9309 0259 04, 4222 2222 2222 2")).toEqual([
      "3782 822463 10005",
      "3056 930902 5904",
      "3056 9309 0259 04",
      "4222 2222 2222 2",
    ]);
  });

  it("knows the major schemes' prefixes", () => {
    const cards = [
      "5555555555554444", // Mastercard
      "2223003122003222", // Mastercard 2-series
      "6011111111111117", // Discover
      "3530111333300000", // JCB
      "6200000000000005", // UnionPay
      "6759649826438453", // Maestro
      "2200000000000004", // Mir
    ];
    expect(values(cards.join(" , "))).toEqual(cards);
  });

  it("rejects numbers failing Luhn, unknown prefixes and wrong lengths for the scheme", () => {
    // Luhn failure; prefix 1 and 9; a 16-digit Amex; an 18-digit Visa.
    expect(
      values("4111111111111112 1234567890123452 9876543210987654 3782822463100050 411111111111111113"),
    ).toEqual([]);
  });

  it("rejects mixed separators and groupings not printed on cards", () => {
    expect(values("4111 1111-1111 1111 41 11 11 11 11 11 11 11 411 111 111 111 1111")).toEqual([]);
  });

  it("rejects digits glued to letters, decimals or dashed ids", () => {
    expect(values("SN4111111111111111 4111111111111111x 0.4111111111111111 id-4111111111111111")).toEqual([]);
  });

  it("finds a card among other numbers in one run, and each of several cards", () => {
    expect(values("qty 2 4111 1111 1111 1111 2027")).toEqual(["4111 1111 1111 1111"]);
    expect(values("4111 1111 1111 1111 5555 5555 5555 4444 6011 1111 1111 1117")).toEqual([
      "4111 1111 1111 1111",
      "5555 5555 5555 4444",
      "6011 1111 1111 1117",
    ]);
  });
});
