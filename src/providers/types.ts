import type { ChatMessage, FinishReason, ToolCall, ToolSpec, Usage } from "../core/types.js";

/** Wire kinds an adapter exists for. A provider's `kind` in the policy names one. */
export type ProviderKind = "openai-compatible" | "mock";

/** Behaviour of the built-in offline mock provider. Times are milliseconds. */
export interface MockSettings {
  /** Delay before the first token (and before a unary answer). */
  latencyMs: number;
  /** Delay between streamed tokens. */
  tokenIntervalMs: number;
  /** Fraction of calls that fail, 0..1; failures are spread deterministically (every 1/rate-th call). */
  failureRate: number;
  /** How a failing call fails. */
  failure: "unavailable" | "rate_limited" | "server_error" | "timeout" | "invalid_request";
  /** Fixed reply text; when absent the reply is derived deterministically from the request. */
  reply?: string;
}

/** One provider as the policy declares it, after validation and `${ENV}` interpolation. */
export interface ProviderSettings {
  name: string;
  kind: ProviderKind;
  /** Base URL including the API version path, e.g. "https://api.openai.com/v1". */
  baseUrl?: string;
  /** Absent when the provider needs none (mock, a local vLLM). */
  apiKey?: string;
  /** True when data sent to it leaves our boundary. */
  hosted: boolean;
  region: string;
  /** Serving runtime (vllm, ollama, ...) when declared. */
  runtime?: string;
  /** Extra request headers (e.g. OpenRouter's HTTP-Referer, Azure's api-key). */
  headers: Record<string, string>;
  /** Upper bound on open keep-alive connections to this provider. */
  maxConnections: number;
  /** Time to establish a TCP/TLS connection before the attempt fails as `connect`. */
  connectTimeoutMs: number;
  mock?: MockSettings;
  openai?: OpenAiSettings;
}

/** Quirks of OpenAI-compatible servers that differ by deployment. */
export interface OpenAiSettings {
  /**
   * Where the output cap goes: `max_tokens` (vLLM, Ollama, Mistral, OpenAI's non-reasoning models)
   * or `max_completion_tokens` (OpenAI's reasoning models refuse `max_tokens`).
   */
  maxTokensField: "max_tokens" | "max_completion_tokens";
}

/** What an adapter is asked to do: one model call, already decided and guarded. */
export interface ProviderCall {
  model: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop: string[];
  /** Aborting it aborts the upstream request (the connection is closed so billing stops). */
  signal: AbortSignal;
}

export interface Completion {
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: Usage;
}

/**
 * One adapter stream, vendor-neutral. Every well-formed stream ends with exactly one
 * `response-end`; a stream that stops without it is an error the adapter throws.
 */
export type StreamPart =
  | { type: "text-delta"; delta: string }
  | { type: "tool-call-delta"; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: "usage"; usage: Usage }
  | { type: "response-end"; finishReason: FinishReason; usage?: Usage };

/**
 * A provider's wire protocol. Methods throw `ProviderError` (classified once, in the adapter)
 * for every upstream failure, and honour `call.signal`.
 */
export interface ProviderAdapter {
  complete(call: ProviderCall): Promise<Completion>;
  stream(call: ProviderCall): AsyncIterable<StreamPart>;
  /** Closes pooled connections. Calls in flight are aborted. */
  close(): Promise<void>;
}
