import type { PriceList } from "../price-list.js";

/**
 * Bedrock's on-demand list prices (us-east-1). Model ids carry a version suffix
 * (`anthropic.claude-3-5-haiku-20241022-v1:0`) and cross-region inference profiles a geography
 * prefix (`us.`, `eu.`, `apac.`, `global.`), which the lookup sets aside. For Claude 4.5 and later
 * these are the global endpoint's prices; in-region and geography endpoints cost 10% more.
 */
export const BEDROCK_PRICES: PriceList = {
  checked: "2026-11-30",
  source: "https://aws.amazon.com/bedrock/pricing/",
  normalize: (model) => model.replace(/^(?:us|us-gov|eu|apac|jp|au|global)\./, ""),
  models: {
    "anthropic.claude-opus-4-7": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
    "anthropic.claude-opus-4-6": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
    "anthropic.claude-opus-4-5": { input: 5, cachedInput: 0.5, cacheWrite: 6.25, output: 25 },
    "anthropic.claude-opus-4-1": { input: 15, cachedInput: 1.5, cacheWrite: 18.75, output: 75 },
    "anthropic.claude-sonnet-4-6": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
    "anthropic.claude-sonnet-4-5": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
    "anthropic.claude-sonnet-4": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
    "anthropic.claude-3-7-sonnet": { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 },
    // Claude 3.5 Sonnet is on Bedrock's extended-access pricing.
    "anthropic.claude-3-5-sonnet": { input: 6, output: 30 },
    "anthropic.claude-haiku-4-5": { input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5 },
    "anthropic.claude-3-5-haiku": { input: 0.8, cachedInput: 0.08, cacheWrite: 1, output: 4 },
    "anthropic.claude-3-haiku": { input: 0.25, output: 1.25 },
    "amazon.nova-pro": { input: 0.8, cachedInput: 0.2, output: 3.2 },
    "amazon.nova-lite": { input: 0.06, cachedInput: 0.015, output: 0.24 },
    "amazon.nova-micro": { input: 0.035, cachedInput: 0.00875, output: 0.14 },
  },
};
