import { describe, expect, it } from "vitest";
import { didYouMean, nearest } from "../../src/core/suggest.js";

describe("nearest", () => {
  const keys = ["max_latency_ms", "first_token_ms", "max_token_gap_ms", "max_tokens"];

  it("finds the key a typo meant: a dropped letter, a swap, a wrong letter", () => {
    expect(nearest("max_latncy_ms", keys)).toBe("max_latency_ms");
    expect(nearest("frist_token_ms", keys)).toBe("first_token_ms");
    expect(nearest("max_tokenz", keys)).toBe("max_tokens");
  });

  it("ignores case", () => {
    expect(nearest("dataClas", ["dataClass", "task"])).toBe("dataClass");
    expect(nearest("DATACLASS", ["dataClass", "task"])).toBe("dataClass");
  });

  it("suggests nothing for a word that is not close to any candidate", () => {
    expect(nearest("budget", keys)).toBeUndefined();
    expect(nearest("x", ["ab"])).toBeUndefined();
    expect(nearest("anything", [])).toBeUndefined();
  });
});

describe("didYouMean", () => {
  it("phrases the hint, or says nothing", () => {
    expect(didYouMean("modle", ["model", "provider"])).toBe(' (did you mean "model"?)');
    expect(didYouMean("zzz", ["model", "provider"])).toBe("");
  });
});
