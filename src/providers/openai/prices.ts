import type { PriceList } from "../price-list.js";

/**
 * OpenAI's list prices (standard tier), for `openai-compatible` providers serving OpenAI's
 * models. Self-hosted servers (vLLM, Ollama's /v1) name other models and get no price from here.
 */
export const OPENAI_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://platform.openai.com/docs/pricing",
  models: {
    "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10, contextWindow: 400_000 },
    "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2, contextWindow: 400_000 },
    "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4, contextWindow: 400_000 },
    "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8, contextWindow: 1_047_576 },
    "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6, contextWindow: 1_047_576 },
    "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4, contextWindow: 1_047_576 },
    "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10, contextWindow: 128_000 },
    "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6, contextWindow: 128_000 },
    o3: { input: 2, cachedInput: 0.5, output: 8, contextWindow: 200_000 },
    "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4, contextWindow: 200_000 },
    "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4, contextWindow: 200_000 },
  },
};
