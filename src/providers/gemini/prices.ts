import type { PriceList } from "../price-list.js";

/** Google's Gemini API list prices (paid tier, prompts up to 200k tokens; text input). */
export const GEMINI_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://ai.google.dev/gemini-api/docs/pricing",
  models: {
    "gemini-2.5-pro": { input: 1.25, cachedInput: 0.125, output: 10, contextWindow: 1_048_576 },
    "gemini-2.5-flash": { input: 0.3, cachedInput: 0.03, output: 2.5, contextWindow: 1_048_576 },
    "gemini-2.5-flash-lite": { input: 0.1, cachedInput: 0.01, output: 0.4, contextWindow: 1_048_576 },
    "gemini-2.0-flash": { input: 0.1, cachedInput: 0.025, output: 0.4, contextWindow: 1_048_576 },
    "gemini-2.0-flash-lite": { input: 0.075, output: 0.3, contextWindow: 1_048_576 },
  },
};
