import type { PriceList } from "../price-list.js";

/**
 * OpenAI's list prices (standard tier; the GPT-5.4 and later rates hold up to 272k input tokens,
 * past which they rise), for `openai-compatible` providers serving OpenAI's models. Self-hosted
 * servers (vLLM, Ollama's /v1) name other models and get no price from here. Each GPT-5.x and
 * -pro model is listed on its own: an unlisted `gpt-5.4` would otherwise take the `gpt-5` price.
 * The GPT-6 models also price cache writes, which OpenAI's usage block does not count, so they are
 * left out here.
 */
export const OPENAI_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://developers.openai.com/api/docs/pricing",
  models: {
    "gpt-6-astra": { input: 10, cachedInput: 1, output: 50, contextWindow: 1_050_000 },
    "gpt-6.2-sol": { input: 2, cachedInput: 0.1, output: 10, contextWindow: 1_050_000 },
    "gpt-6.1-sol": { input: 2, cachedInput: 0.1, output: 10, contextWindow: 1_050_000 },
    "gpt-6-sol": { input: 2, cachedInput: 0.2, output: 10, contextWindow: 1_050_000 },
    "gpt-6-luna": { input: 0.1, cachedInput: 0.01, output: 0.5, contextWindow: 1_050_000 },
    "gpt-5.6-sol": { input: 4, cachedInput: 0.4, output: 20 },
    "gpt-5.6-terra": { input: 2, cachedInput: 0.2, output: 12 },
    "gpt-5.6-luna": { input: 0.2, cachedInput: 0.02, output: 1.2 },
    "gpt-5.5": { input: 5, cachedInput: 0.5, output: 30 },
    "gpt-5.5-pro": { input: 30, output: 180 },
    "gpt-5.4": { input: 2.5, cachedInput: 0.25, output: 15 },
    "gpt-5.4-pro": { input: 30, output: 180 },
    "gpt-5.4-mini": { input: 0.75, cachedInput: 0.075, output: 4.5 },
    "gpt-5.4-nano": { input: 0.2, cachedInput: 0.02, output: 1.25 },
    "gpt-5.2": { input: 1.75, cachedInput: 0.175, output: 14, contextWindow: 400_000 },
    "gpt-5.2-pro": { input: 21, output: 168, contextWindow: 400_000 },
    "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10, contextWindow: 400_000 },
    "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10, contextWindow: 400_000 },
    "gpt-5-pro": { input: 15, output: 120, contextWindow: 400_000 },
    "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2, contextWindow: 400_000 },
    "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4, contextWindow: 400_000 },
    "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8, contextWindow: 1_047_576 },
    "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6, contextWindow: 1_047_576 },
    "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4, contextWindow: 1_047_576 },
    // The first gpt-4o snapshot kept its launch price.
    "gpt-4o-2024-05-13": { input: 5, output: 15, contextWindow: 128_000 },
    "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10, contextWindow: 128_000 },
    "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6, contextWindow: 128_000 },
    o3: { input: 2, cachedInput: 0.5, output: 8, contextWindow: 200_000 },
    "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4, contextWindow: 200_000 },
    "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4, contextWindow: 200_000 },
  },
};
