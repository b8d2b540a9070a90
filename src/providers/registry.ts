import { createMockAdapter } from "./mock/adapter.js";
import { createOpenAiAdapter } from "./openai/adapter.js";
import type { ProviderAdapter, ProviderSettings } from "./types.js";

/** Builds the adapter for a provider's wire kind. Quirks of each kind stay in its folder. */
export function createAdapter(settings: ProviderSettings): ProviderAdapter {
  switch (settings.kind) {
    case "mock":
      return createMockAdapter(settings);
    case "openai-compatible":
      return createOpenAiAdapter(settings);
    default:
      return settings.kind satisfies never;
  }
}
