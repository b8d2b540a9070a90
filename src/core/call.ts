import type { RoutePolicy, RouteTarget } from "./policy.js";
import type { ChatMessage, Decision, Entity, FinishReason, LlmRequest, Usage } from "./types.js";

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
  /** The task the route is matched on: the declared one, or the policy default. */
  task: string;
  /** The effective data class: never lower than the declared one (DESIGN invariant 2). */
  dataClass: string;
  /** What the caller declared; empty when nothing (the policy default then applies). */
  declaredDataClass: string;
  entities: Entity[];
}

/** decide: where the request may and should go. */
export interface RoutingPlan {
  route: RoutePolicy;
  /** Targets this request may be sent to, in the order they are to be tried. */
  eligible: RouteTarget[];
  /** The decision so far: route, candidates with reasons; later steps add attempts and cost. */
  decision: Decision;
}

/** admit: what the route's per-request budgets allow. */
export interface Admission {
  /** Output-token cap to send upstream; undefined lets the provider decide. */
  maxTokens?: number;
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
