import type { PriceList } from "../price-list.js";

/**
 * Anthropic's list prices (the Claude API, standard tier). A cache read is a tenth of the input
 * price and a cache write (5-minute cache) a quarter more, except where a model says otherwise
 * (Opus 5.5 and Sonnet 5.5 read the cache at a twentieth). Claude 4.6 and later bill their whole
 * 1M window at these rates; Sonnet 4.5 and 4 charge more past 200k input tokens, and Haiku 5.5
 * five times these rates past 100k, which this table leaves out. Every version is listed on its
 * own: an unlisted `claude-opus-4-8` would otherwise take the `claude-opus-4` price.
 */
export const ANTHROPIC_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://platform.claude.com/docs/en/about-claude/pricing",
  models: {
    "claude-opus-5-5": { input: 4, cachedInput: 0.2, cacheWrite: 5, output: 20, contextWindow: 1_000_000 },
    "claude-opus-5": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 1_000_000 },
    "claude-opus-4-8": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 1_000_000 },
    "claude-opus-4-7": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 1_000_000 },
    "claude-opus-4-6": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 1_000_000 },
    "claude-opus-4-5": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25, contextWindow: 200_000 },
    // Opus 4.1 and 4 are retired on the Claude API (still served on Bedrock and Google Cloud).
    "claude-opus-4-1": { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75, contextWindow: 200_000 },
    "claude-opus-4": { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75, contextWindow: 200_000 },
    // Sonnet 5.5's cache reads were cut from $0.20 to $0.10 on 2026-10-07.
    "claude-sonnet-5-5": {
      input: 2,
      cachedInput: 0.1,
      cacheWrite: 2.5,
      output: 10,
      contextWindow: 1_000_000,
    },
    "claude-sonnet-5": { input: 2, cachedInput: 0.2, cacheWrite: 2.5, output: 10, contextWindow: 1_000_000 },
    "claude-sonnet-4-6": {
      input: 3,
      cachedInput: 0.3,
      cacheWrite: 3.75,
      output: 15,
      contextWindow: 1_000_000,
    },
    "claude-sonnet-4-5": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-sonnet-4": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15, contextWindow: 200_000 },
    "claude-haiku-5-5": {
      input: 0.1,
      cachedInput: 0.01,
      cacheWrite: 0.125,
      output: 0.5,
      contextWindow: 1_000_000,
    },
    "claude-haiku-4-5": { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5, contextWindow: 200_000 },
  },
};
