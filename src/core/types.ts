import type { Span } from "@opentelemetry/api";

/**
 * Plain domain types the pipeline steps meet through. Generated protobuf types stop at the
 * front doors (src/server); providers and core modules only see these.
 */

export type Role = "system" | "user" | "assistant" | "tool";

export interface ToolCall {
  id: string;
  name: string;
  /** JSON document as text, exactly as the model produced it. */
  arguments: string;
}

export interface ChatMessage {
  role: Role;
  content: string;
  name?: string;
  toolCallId?: string;
  toolCalls?: ToolCall[];
  /** User messages only: images after the text. */
  images?: ImageRef[];
}

/**
 * An image by URL: `https://…` of a public host (the provider fetches it; only some take URLs) or
 * a `data:image/<png|jpeg|gif|webp>;base64,…` URL carrying it inline (see providers/images.ts).
 */
export interface ImageRef {
  url: string;
  detail?: "low" | "high";
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export interface GenerationParams {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop: string[];
  /** Absent: free text. JSON mode asks for one JSON object; a schema asks for one that fits it. */
  responseFormat?: ResponseFormat;
}

export type ResponseFormat =
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict: boolean };

/** A request as the caller sent it, after front-door validation. */
export interface LlmRequest {
  messages: ChatMessage[];
  /** Empty when the caller declared none. */
  task: string;
  /** Empty when the caller declared none. */
  dataClass: string;
  tenant: string;
  user: string;
  labels: Record<string, string>;
  params: GenerationParams;
  tools: ToolSpec[];
  /** Writing tools the caller approved for this request, by name (see the policy's `tools:`). */
  approvedTools: string[];
  eval: boolean;
  /**
   * The model the caller named (the OpenAI door's `model`): a route's name (that route serves it),
   * a model some route matches with `match.model`, or `auto` / absent (the policy decides).
   */
  model?: string;
}

/** What the caller's connection tells us about the call. */
export interface CallContext {
  /**
   * Aborted when the caller cancels, its deadline passes, or it stops reading a stream; the reason
   * says which (a CallerStalledError for the last).
   */
  signal: AbortSignal;
  /** W3C trace id (32 lowercase hex): the caller's, from `traceparent`, or a new one. */
  traceId: string;
  /** When the caller's deadline passes, on the pipeline's clock; undefined when it set none. */
  deadline?: number;
  /** This call's own id (16 lowercase hex), made by the server: decisions are stored under it. */
  callId: string;
  /** The call's span, opened by the front door: each step's and attempt's span is its child. */
  span?: Span;
  /**
   * What the caller presented to say who it is, read by the identify step alone (so keys
   * reloaded with the policy apply to the next call). Absent: a remote caller that presented
   * nothing.
   */
  caller?: Caller;
}

/**
 * Who a call comes from, as far as its transport tells. `remote`: a front door's caller; its
 * headers (lowercase names) hold its credentials (`authorization`, a proxy's identity header),
 * which the identify step checks against the policy's `auth`. `in-process`: code of this
 * process that already knows the tenant (explain, replay of recorded calls): the request's
 * `tenant` is taken as written.
 */
export type Caller = { kind: "remote"; header(name: string): string | undefined } | { kind: "in-process" };

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "degraded";

export interface Usage {
  /** Every input token, those read from or written to a prompt cache included. */
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, those read from the provider's prompt cache (priced lower), when it said. */
  cachedInputTokens?: number;
  /** Of inputTokens, those written to the provider's prompt cache (Anthropic prices them higher), when it said. */
  cacheWriteInputTokens?: number;
  /** True when the provider did not report these counts and they were estimated from the text. */
  estimated?: boolean;
}

/** "provider/model". */
export type TargetId = string;

export interface TargetRef {
  provider: string;
  model: string;
}

export function targetId(target: TargetRef): TargetId {
  return `${target.provider}/${target.model}`;
}

/** Classified once, where a failure happens (see src/providers/provider-error.ts). */
export type ErrorClass =
  | "connect"
  | "timeout"
  | "rate_limited"
  | "server"
  | "overloaded"
  | "invalid_request"
  | "auth"
  | "context_length"
  | "content_refused"
  | "policy"
  | "protocol"
  | "cancelled";

/** `skipped`: never sent, because the target's breaker is open, it is cooling down or out of service. */
export type AttemptOutcome = "succeeded" | "failed" | "refused" | "cancelled" | "skipped";

export interface Attempt {
  target: TargetId;
  outcome: AttemptOutcome;
  latencyMs: number;
  errorClass?: ErrorClass;
  /** Never contains prompt or output text. */
  message?: string;
  retryable?: boolean;
  /** Tokens this attempt consumed (reported, or estimated for what was received), when it consumed any. */
  usage?: Usage;
  /** What they cost at the policy's prices, in US dollars. */
  costUsd?: number;
  /** Values replaced in what this attempt sent (a hosted provider given the redacted request). */
  redacted?: number;
  /**
   * Time it was given to its first token: the tighter of the route's `first_token_ms` and its
   * share of what was left of the call's deadline.
   */
  budgetMs?: number;
  /** 1 for the first retry on the same target, 2 for the second… */
  retry?: number;
  /** Started as a hedge beside a slow attempt. */
  hedge?: boolean;
  /** What the provider asked us to wait (retry-after and its kin), in milliseconds. */
  retryAfterMs?: number;
  /** It continued the partial answer of a stream cut before it (route `resume_on_fallback`). */
  continues?: boolean;
  /** When it was sent, in milliseconds after execution of the call began; absent when never sent. */
  startedMs?: number;
  /** From sending to its first token, in milliseconds, when one came. */
  firstTokenMs?: number;
}

export interface Candidate {
  target: TargetId;
  role: string;
  eligible: boolean;
  reason?: string;
}

export interface Decision {
  route: string;
  rule: string;
  task: string;
  dataClass: string;
  declaredDataClass: string;
  tenant: string;
  /** The user the caller named within its tenant, as given; empty when none. */
  user: string;
  policyVersion: string;
  traceId: string;
  callId: string;
  target: TargetId;
  candidates: Candidate[];
  attempts: Attempt[];
  degraded: boolean;
  /** Which rung of the route's degrade ladder answered: `target <provider/model>` or `answer`; empty when none. */
  degradeRung: string;
  /** For a route with a pool: how this call's order of its members was chosen (ids and numbers). */
  pool: string;
  /** Every attempt's cost added up, in US dollars. */
  costUsd: number;
  maxTokens: number;
  dryRun: boolean;
  /** True when the task was inferred from the prompt rather than declared. */
  taskInferred: boolean;
  /** Why the data class is what it is (declared, default, or the detect rule that raised it). */
  dataClassReason: string;
  /** What detection found in the request, per kind, with the action taken. */
  findings: FindingSummary[];
  /** Secrets found in the answer (masked before the caller, the logs or this record saw them). */
  outputFindings: FindingSummary[];
  withheldTools: WithheldTool[];
  /** Content rules and detectors that raised an escalation event (names only). */
  escalations: string[];
  /** Set when policy refused the request (a blocked kind, a content rule): which rule, never the text. */
  refusal: string;
  /** Input tokens counted before the call (a tokenizer for OpenAI models, an approximation otherwise). */
  estimatedInputTokens: number;
  /** Worst case of the first target it would be sent to (its input and max_tokens of output), in US dollars. */
  estimatedCostUsd: number;
  /** What the tenant's budgets and limits did: reserved, warned, downgraded; empty when it has none. */
  quota: string;
  /** A target it was sent to had no price: admitted at the tenant's stated price, or (no budget) counted as free. */
  unpriced: boolean;
}

export interface RouteResult {
  message: ChatMessage;
  finishReason: FinishReason;
  /** The answer's tokens (zero for a degraded answer). */
  usage: Usage;
  /** What the call cost, every attempt included (the decision's costUsd). */
  costUsd: number;
  decision: Decision;
}

export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

export type BudgetStep = "first_token" | "token_gap" | "total";

/** Events of a Stream call as the pipeline produces them; the front door maps each to one message. */
export type StreamEvent =
  | { type: "decision"; decision: Decision }
  /**
   * `target` wrote it (absent for the degrade ladder's fixed answer); `degradeRung` is set when the
   * ladder's rung wrote it (`target <provider/model>` or `answer`, as Decision.degradeRung).
   */
  | { type: "delta"; content: string; toolCalls: ToolCallDelta[]; target?: TargetId; degradeRung?: string }
  | { type: "attempt"; attempt: Attempt }
  | { type: "budget"; step: BudgetStep; elapsedMs: number; limitMs: number; exceeded: boolean }
  | { type: "done"; finishReason: FinishReason; usage: Usage; costUsd: number; decision: Decision };

/** The finding kind of an image: detection cannot read one, so the policy's detect rules decide. */
export const IMAGE_KIND = "image";

/** Personal data (raised or redacted as the policy says) or a secret (never leaves in clear text). */
export type EntityGroup = "pii" | "secret";

/** Something sensitive found in a request. Never carries the value itself. */
export interface Entity {
  /** The detector's kind: `email`, `card`, `aws_access_key_id`, … */
  kind: string;
  group: EntityGroup;
  /** Index into the request's messages; -1 for a field outside them (a tool's schema, a stop sequence). */
  message: number;
  /**
   * Where: in that message `content`, `name`, `tool_call_id`, `tool_calls[N].arguments`,
   * `tool_calls[N].id` or `tool_calls[N].name`; outside the messages
   * `tools[N].description`, `tools[N].parameters` (the schema as JSON) or `params.stop[N]`.
   */
  field: string;
  /** UTF-16 code units into that field's text, as the caller sent it. */
  start: number;
  end: number;
  /** Confidence in [0, 1]. */
  score: number;
}

/** What was found of one kind in a request or an answer, and what the policy did: never the values. */
export interface FindingSummary {
  kind: string;
  group: EntityGroup;
  count: number;
  /** `block`, `raise to <class>`, `redact`, `allow`, or for answers `mask`. */
  action: string;
  /** Where the rule came from: `detect.email`, `detect.pii`, `built-in`. */
  rule: string;
}

/** A tool the request offered that the model was not given, and why. */
export interface WithheldTool {
  name: string;
  reason: string;
}

export interface ClassifyResult {
  task: string;
  dataClass: string;
  entities: Entity[];
  decision: Decision;
}
