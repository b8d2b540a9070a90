import { describe, expect, it } from "vitest";
import { MAX_PLAUSIBLE_TOKENS, trustedTokenCount, trustedUsage } from "../../src/providers/usage.js";

describe("trustedTokenCount", () => {
  it.each([0, 1, 128_000, MAX_PLAUSIBLE_TOKENS])("trusts %d", (count) => {
    expect(trustedTokenCount(count)).toBe(count);
  });

  it.each([
    -1,
    2.5,
    MAX_PLAUSIBLE_TOKENS + 1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "12",
    null,
    undefined,
    true,
    {},
  ])("does not trust %s", (value) => {
    expect(trustedTokenCount(value)).toBeUndefined();
  });
});

describe("trustedUsage", () => {
  it("is the two counts when both can be trusted", () => {
    expect(trustedUsage(10, 0)).toEqual({ inputTokens: 10, outputTokens: 0 });
  });

  it("is undefined, not half a report, when either cannot", () => {
    expect(trustedUsage(10, -1)).toBeUndefined();
    expect(trustedUsage(undefined, 5)).toBeUndefined();
  });
});
