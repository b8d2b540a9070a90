import type { PriceList } from "../price-list.js";

/**
 * Anthropic's list prices (prompts up to 200k tokens). A cache read is a tenth of the input price,
 * a cache write (5-minute cache) a quarter more.
 */
export const ANTHROPIC_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://docs.anthropic.com/en/docs/about-claude/pricing",
  models: {
    "claude-opus-4-5": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 200_000 },
    "claude-opus-4-1": { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75, contextWindow: 200_000 },
    "claude-opus-4": { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75, contextWindow: 200_000 },
    "claude-sonnet-4-5": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-sonnet-4": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-3-7-sonnet": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-3-5-sonnet": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-haiku-4-5": { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5, contextWindow: 200_000 },
    "claude-3-5-haiku": { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4, contextWindow: 200_000 },
    "claude-3-haiku": {
      input: 0.25,
      cachedInput: 0.03,
      cacheWrite: 0.3,
      output: 1.25,
      contextWindow: 200_000,
    },
  },
};
