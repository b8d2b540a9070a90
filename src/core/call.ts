import type { ModelPrice, RoutePolicy, RouteTarget } from "./policy.js";
import type {
  ChatMessage,
  Decision,
  Entity,
  FindingSummary,
  FinishReason,
  LlmRequest,
  ToolSpec,
  Usage,
} from "./types.js";

/**
 * What the pipeline's steps produce, in order. Each step reads the outputs of the steps before
 * it and adds its own to the call's CallState (src/pipeline/call-state.ts).
 */

/** identify: the request checked against the policy's vocabulary; the tenant defaults to "default". */
export interface IdentifiedRequest extends LlmRequest {
  tenant: string;
}

/** classify: what the request is. */
export interface Classification {
  /** The task the route is matched on: the declared one, else the inferred one, else the policy default. */
  task: string;
  /** True when the task was inferred from the prompt (the caller declared none). */
  taskInferred: boolean;
  /** The effective data class: never lower than the declared one (DESIGN invariant 2). */
  dataClass: string;
  /** What the caller declared; empty when nothing (the policy default then applies). */
  declaredDataClass: string;
  /** Why the class is what it is: declared, the default, or which detect rule raised it. */
  dataClassReason: string;
  /** Every sensitive value found, by position (never the value). */
  entities: Entity[];
  /** The same, one line per kind, with what the policy does about it. */
  findings: FindingSummary[];
}

/**
 * guard (the request as a whole): what may be sent. Blocking rules have already thrown (or, in a
 * dry run, are recorded in the decision's refusal).
 */
export interface Safeguards {
  /** What hosted attempts are sent instead of the request's messages, when something is redacted. */
  redaction?: Redaction;
  /** The tools offered to the model: the request's, less writing tools it did not approve. */
  tools: ToolSpec[];
}

/** The request as hosted providers see it, and how to put the values back in the answer. */
export interface Redaction {
  messages: ChatMessage[];
  /** The request's tools (all of them, in order), redacted. */
  tools: ToolSpec[];
  stop: string[];
  /** Values replaced, counted once per occurrence. */
  count: number;
  /** Token (`<EMAIL_1>`, a hash form) → the value it replaced, for tokens that are restored. */
  vault: ReadonlyMap<string, RedactedValue>;
}

export interface RedactedValue {
  value: string;
  kind: string;
  group: Entity["group"];
}

/** decide: where the request may and should go. */
export interface RoutingPlan {
  route: RoutePolicy;
  /** Targets this request may be sent to, in the order they are to be tried. */
  eligible: RouteTarget[];
  /** The degrade ladder's target, when the route has one and this request may be sent to it. */
  degradeTo?: RouteTarget;
  /** The decision so far: route, candidates with reasons; later steps add attempts and cost. */
  decision: Decision;
}

/** admit: what the route's per-request budgets allow, and what the request may cost at its worst. */
export interface Admission {
  /** Output-token cap to send upstream; undefined lets the provider decide. */
  maxTokens?: number;
  /** Input tokens, counted for the target that counts most of them. */
  inputTokens: number;
  /** The most output tokens it may get (the cap, or the policy's default where the route sets none). */
  outputTokens: number;
  /** The worst case over the targets it may be sent to, in US dollars: what a budget reserves. */
  worstCaseUsd: number;
  /** The tenant's price for unpriced models, which settle charges such a model at. */
  unpricedPrice?: ModelPrice;
}

/**
 * What one attempt consumed, for settle to price: the provider's own counts when it reported
 * them, else what was received (settle estimates tokens from it). Only attempts that received
 * something or reported usage appear.
 */
export interface Consumption {
  /** Index into the decision's attempts. */
  attempt: number;
  target: RouteTarget;
  reported?: Usage;
  /** Characters of answer text and tool-call arguments received from the provider. */
  receivedCharacters: number;
}

/** execute: the answer. */
export interface Execution {
  /** The assistant message: the whole answer (unary), or what was delivered (stream). */
  message: ChatMessage;
  finishReason: FinishReason;
  /** Index of the attempt that answered in the decision's attempts; undefined for a degraded answer. */
  answeredBy?: number;
}

/** settle: the answer's usage, and what the whole call cost. */
export interface Settlement {
  /** The answering attempt's tokens (zero for a degraded answer). */
  usage: Usage;
  costUsd: number;
}
