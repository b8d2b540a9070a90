import type { z } from "zod";
import type { ProviderPolicy } from "../core/policy.js";
import type { ChatMessage, FinishReason, ResponseFormat, ToolCall, ToolSpec, Usage } from "../core/types.js";
import type { PriceList } from "./price-list.js";

/** What an adapter is asked to do: one model call, already decided and guarded. */
export interface ProviderCall {
  model: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop: string[];
  /** JSON mode or a JSON schema the answer must fit; absent: free text. */
  responseFormat?: ResponseFormat;
  /** Aborting it aborts the upstream request (the connection is closed so billing stops). */
  signal: AbortSignal;
  /**
   * The answer so far, another model's, cut off mid-way: the provider continues it rather than
   * start again. Only set for providers whose kind says it can (ProviderKind.continuesAnswers).
   */
  assistantPrefix?: string;
}

/**
 * A whole answer: what a server that ignores `stream: true` sends (an adapter replays it as stream
 * parts), and what the unary RPC assembles from a stream.
 */
export interface Completion {
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** Undefined when the upstream reported no usage we can trust; the pipeline estimates it then. */
  usage?: Usage;
}

/**
 * One adapter stream, vendor-neutral. Every well-formed stream ends with exactly one
 * `response-end`; a stream that stops without it is an error the adapter throws. `usage` (a part,
 * and on `response-end`) is there only when the upstream reported token counts we can trust: an
 * adapter never makes up zeros.
 */
export type StreamPart =
  | { type: "text-delta"; delta: string }
  | { type: "tool-call-delta"; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: "usage"; usage: Usage }
  | { type: "response-end"; finishReason: FinishReason; usage?: Usage };

/**
 * A provider's wire protocol. Every call streams (the unary RPC assembles the answer from the
 * stream), so time budgets such as time-to-first-token mean the same for both RPCs.
 */
export interface ProviderAdapter {
  /**
   * Starts one upstream call and yields its parts as they arrive. Throws `ProviderError`
   * (classified once, in the adapter) for every upstream failure, before the first part or
   * mid-stream. Aborting `call.signal` aborts the upstream request and fails the stream with the
   * abort's class; stopping iteration early closes the upstream request too.
   */
  stream(call: ProviderCall): AsyncIterable<StreamPart>;
  /** Closes pooled connections. Calls in flight are aborted. */
  close(): Promise<void>;
}

/**
 * A wire protocol as the policy names it (`kind:`). Each provider folder defines one; the
 * registry (registry.ts) is the one list of them. The policy schema is composed from their
 * `settingsSchema`s, so a kind's keys are checked (strictly, with paths) where the file is loaded.
 */
export interface ProviderKind {
  /** The policy's `kind:` value. */
  readonly kind: string;
  /**
   * `gen_ai.provider.name` on its attempts' spans: the OpenTelemetry GenAI conventions'
   * well-known value for the service this wire speaks to (`openai`, `anthropic`, …).
   */
  readonly genAiProviderName: string;
  /**
   * The keys this kind adds to a provider block, beside the common ones (`kind`, `hosted`,
   * `region`, `runtime`, `models`). What it parses to is stored in ProviderPolicy.settings.
   */
  readonly settingsSchema: z.ZodObject;
  /**
   * Keys of the block whose `${VARIABLE}`, when unset, leaves the provider out of routing (and is
   * reported) instead of making the policy invalid: credentials a laptop does not have.
   */
  readonly credentialKeys: readonly string[];
  /** Builds the adapter (and its connection pool) for an enabled provider of this kind. */
  createAdapter(provider: ProviderPolicy): ProviderAdapter;
  /** Whether a provider with these settings continues a partial answer (ProviderCall.assistantPrefix). */
  continuesAnswers(settings: unknown): boolean;
  /** Its built-in price table (src/providers/<kind>/prices.ts), for models the policy gives no price. */
  readonly prices?: PriceList;
  /** Whether its wire takes an image by https URL; every kind that takes images takes them inline. */
  readonly takesImageUrls: boolean;
  /** Why a provider block's common `region` will not do for this kind, if it will not (Bedrock signs with it). */
  regionProblem?(region: string): string | undefined;
}

/**
 * Defines a kind whose adapter receives its settings as its own schema parsed them; the one
 * place where the opaque ProviderPolicy.settings regains its type (the schema made it).
 */
export function defineProviderKind<Schema extends z.ZodObject>(definition: {
  kind: string;
  genAiProviderName: string;
  settingsSchema: Schema;
  credentialKeys?: readonly string[];
  createAdapter(provider: ProviderPolicy, settings: z.output<Schema>): ProviderAdapter;
  continuesAnswers?(settings: z.output<Schema>): boolean;
  prices?: PriceList;
  takesImageUrls?: boolean;
  regionProblem?(region: string): string | undefined;
}): ProviderKind {
  return {
    ...(definition.regionProblem && { regionProblem: definition.regionProblem }),
    ...(definition.prices && { prices: definition.prices }),
    takesImageUrls: definition.takesImageUrls ?? false,
    kind: definition.kind,
    genAiProviderName: definition.genAiProviderName,
    settingsSchema: definition.settingsSchema,
    credentialKeys: definition.credentialKeys ?? [],
    createAdapter: (provider) => definition.createAdapter(provider, provider.settings as z.output<Schema>),
    continuesAnswers: (settings) => definition.continuesAnswers?.(settings as z.output<Schema>) ?? false,
  };
}
