import type { ProviderPolicy } from "../core/policy.js";
import { anthropicKind } from "./anthropic/adapter.js";
import { bedrockKind } from "./bedrock/adapter.js";
import { geminiKind } from "./gemini/adapter.js";
import { mockKind } from "./mock/adapter.js";
import { ollamaKind } from "./ollama/adapter.js";
import { openAiCompatibleKind } from "./openai/adapter.js";
import type { ProviderAdapter, ProviderKind } from "./types.js";

/**
 * The one list of wire protocols. Adding one is a folder under providers/ and a line here: the
 * policy schema, `check` and adapter creation all read this list.
 */
export const PROVIDER_KINDS: readonly ProviderKind[] = [
  openAiCompatibleKind,
  anthropicKind,
  geminiKind,
  bedrockKind,
  ollamaKind,
  mockKind,
];

const byKind = new Map(PROVIDER_KINDS.map((definition) => [definition.kind, definition]));

export function providerKind(kind: string): ProviderKind | undefined {
  return byKind.get(kind);
}

/** Builds the adapter for an enabled provider. Throws for a kind the registry does not know (a policy bug). */
export function createAdapter(provider: ProviderPolicy): ProviderAdapter {
  const definition = byKind.get(provider.kind);
  if (!definition) throw new Error(`provider "${provider.name}": unknown kind "${provider.kind}"`);
  return definition.createAdapter(provider);
}
