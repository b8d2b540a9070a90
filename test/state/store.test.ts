import { describe, expect, it } from "vitest";
import { fromUnits, stateKey, toUnits } from "../../src/state/store.js";

describe("stateKey", () => {
  it("puts the scope in braces first, so Redis Cluster keeps one tenant's counters on one slot", () => {
    expect(stateKey("acme", "usd", "day", "2026-11-30")).toBe("{acme}:usd:day:2026-11-30");
    expect(stateKey("acme")).toBe("{acme}");
  });

  it("escapes braces, colons and percent signs, so the hash tag is the whole scope and keys never collide", () => {
    expect(stateKey("a}b{", "x:y", "50%")).toBe("{a%7Db%7B}:x%3Ay:50%25");
    expect(stateKey("a:b", "c")).not.toBe(stateKey("a", "b:c"));
    expect(stateKey("a%3Ab")).not.toBe(stateKey("a:b"));
  });
});

describe("toUnits", () => {
  it("counts in whole millionths, rounding to the nearest", () => {
    expect(toUnits(0.1)).toBe(100_000);
    expect(toUnits(8.2)).toBe(8_200_000);
    expect(toUnits(0.0000014)).toBe(1);
    expect(toUnits(-0.0000004)).toBe(0);
    expect(Object.is(toUnits(-0.0000004), 0)).toBe(true);
    expect(fromUnits(toUnits(0.1) + toUnits(0.2))).toBe(0.3);
  });

  it("refuses what it cannot count exactly", () => {
    expect(() => toUnits(Number.NaN)).toThrow(RangeError);
    expect(() => toUnits(1e10)).toThrow(RangeError);
    expect(toUnits(9e9)).toBe(9e15);
  });
});
