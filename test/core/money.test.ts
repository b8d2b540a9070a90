import { describe, expect, it } from "vitest";
import { picoUsdPerToken, usdFromPico } from "../../src/core/money.js";

describe("picoUsdPerToken", () => {
  it("turns a price in USD per million tokens into whole picodollars per token", () => {
    expect(picoUsdPerToken(1)).toBe(1_000_000);
    expect(picoUsdPerToken(0.4)).toBe(400_000);
    expect(picoUsdPerToken(1.6)).toBe(1_600_000);
    expect(picoUsdPerToken(0)).toBe(0);
  });

  it("absorbs the binary error of decimal prices (8.2 * 1e6 is not 8200000 in floating point)", () => {
    expect(8.2 * 1e6).not.toBe(8_200_000);
    expect(picoUsdPerToken(8.2)).toBe(8_200_000);
    expect(picoUsdPerToken(0.15)).toBe(150_000);
    expect(picoUsdPerToken(0.000001)).toBe(1);
    expect(picoUsdPerToken(75.123456)).toBe(75_123_456);
  });

  it("refuses a price with more than six decimals below one dollar", () => {
    expect(picoUsdPerToken(0.0000001)).toBeUndefined();
    expect(picoUsdPerToken(0.1234567)).toBeUndefined();
  });

  it("refuses a price too large to count exactly", () => {
    expect(picoUsdPerToken(Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });

  it("refuses a seventh decimal on a price of a dollar or more", () => {
    expect(picoUsdPerToken(1.0000004)).toBeUndefined();
    expect(picoUsdPerToken(2.5000001)).toBeUndefined();
  });
});

describe("usdFromPico", () => {
  it("shows picodollars as the nearest double to the exact dollar amount", () => {
    expect(usdFromPico(4_400_000)).toBe(0.0000044);
    expect(String(usdFromPico(4_400_000))).toBe("0.0000044");
    expect(usdFromPico(1_000_000_000_000)).toBe(1);
    expect(usdFromPico(0)).toBe(0);
  });

  it("adds costs exactly when they are summed in picodollars first", () => {
    // One token in at $0.40/Mtok and one out at $1.60/Mtok: in dollars the sum drifts.
    const inDollars = 0.4 / 1e6 + 1.6 / 1e6;
    expect(String(inDollars)).toBe("0.0000020000000000000003");
    const inPico = (picoUsdPerToken(0.4) ?? 0) + (picoUsdPerToken(1.6) ?? 0);
    expect(String(usdFromPico(inPico))).toBe("0.000002");
  });
});
