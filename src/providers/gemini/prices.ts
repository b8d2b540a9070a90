import type { PriceList } from "../price-list.js";

/**
 * Google's Gemini API list prices (paid tier, prompts up to 200k tokens; text input). Gemini 3.8
 * Flash is at its launch price through 2026-12-31 and doubles ($1.50 / $7.50) on 2027-01-01.
 */
export const GEMINI_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://ai.google.dev/gemini-api/docs/pricing",
  models: {
    "gemini-3.8-flash": { input: 0.75, cachedInput: 0.075, output: 3.75, contextWindow: 1_048_576 },
    "gemini-3.5-flash": { input: 1.5, output: 9 },
    "gemini-3.5-flash-lite": { input: 0.3, output: 2.5 },
    "gemini-3.1-pro-preview": { input: 2, output: 12 },
    // Gemini 2.5 is deprecated (shutdown dates passed in 2026) but still on the pricing page.
    "gemini-2.5-pro": { input: 1.25, cachedInput: 0.125, output: 10, contextWindow: 1_048_576 },
    "gemini-2.5-flash": { input: 0.3, cachedInput: 0.03, output: 2.5, contextWindow: 1_048_576 },
    "gemini-2.5-flash-lite": { input: 0.1, cachedInput: 0.01, output: 0.4, contextWindow: 1_048_576 },
  },
};
