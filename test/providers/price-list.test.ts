import { describe, expect, it } from "vitest";
import { ANTHROPIC_PRICES } from "../../src/providers/anthropic/prices.js";
import { BEDROCK_PRICES } from "../../src/providers/bedrock/prices.js";
import { OPENAI_PRICES } from "../../src/providers/openai/prices.js";
import { listedPrice } from "../../src/providers/price-list.js";
import { PROVIDER_KINDS } from "../../src/providers/registry.js";

describe("listedPrice", () => {
  it("finds a model by its name, or by the longest listed name its dated or versioned id extends", () => {
    expect(listedPrice(OPENAI_PRICES, "gpt-4o")).toMatchObject({ input: 2.5, output: 10 });
    expect(listedPrice(OPENAI_PRICES, "gpt-4o-mini-2024-07-18")).toMatchObject({ input: 0.15 });
    expect(listedPrice(OPENAI_PRICES, "gpt-4o-2024-08-06")).toMatchObject({ input: 2.5 });
    // Another model, not a snapshot of a listed one: unpriced, never priced as its neighbour.
    expect(listedPrice(OPENAI_PRICES, "gpt-4oo")).toBeUndefined();
    expect(listedPrice(OPENAI_PRICES, "gpt-5.3-codex")).toBeUndefined();
    expect(listedPrice(OPENAI_PRICES, "o3-pro")).toBeUndefined();
    expect(listedPrice(ANTHROPIC_PRICES, "claude-opus-4-9")).toBeUndefined();
    expect(listedPrice(ANTHROPIC_PRICES, "claude-sonnet-4-5-20250929")).toMatchObject({ input: 3 });
    expect(listedPrice(ANTHROPIC_PRICES, "claude-sonnet-4-latest")).toMatchObject({ input: 3 });
    expect(listedPrice(OPENAI_PRICES, "llama-3.1-8b")).toBeUndefined();
    expect(listedPrice(OPENAI_PRICES, "constructor")).toBeUndefined();
  });

  it("sets Bedrock's cross-region prefix and version suffix aside", () => {
    expect(listedPrice(BEDROCK_PRICES, "us.anthropic.claude-3-5-haiku-20241022-v1:0")).toMatchObject({
      input: 0.8,
      output: 4,
    });
    expect(listedPrice(BEDROCK_PRICES, "amazon.nova-lite-v1:0")).toMatchObject({ input: 0.06 });
  });

  it("every table says when it was checked and where, and lists sane prices", () => {
    for (const kind of PROVIDER_KINDS) {
      if (!kind.prices) continue;
      expect(kind.prices.checked, kind.kind).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(kind.prices.source, kind.kind).toMatch(/^https:\/\//);
      for (const [model, price] of Object.entries(kind.prices.models)) {
        expect(price.input, model).toBeGreaterThan(0);
        expect(price.output, model).toBeGreaterThanOrEqual(price.input);
        if (price.cachedInput !== undefined) expect(price.cachedInput, model).toBeLessThan(price.input);
        if (price.cacheWrite !== undefined) expect(price.cacheWrite, model).toBeGreaterThan(price.input);
      }
    }
  });
});
