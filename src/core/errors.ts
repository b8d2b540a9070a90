import type { Decision, ErrorClass } from "./types.js";

/**
 * Typed domain errors the core throws. src/server/rpc/connect-errors.ts is the one place that maps
 * them to gRPC codes. Messages are safe to send to callers; anything sensitive goes in `cause`.
 */

/** The request itself is wrong; `field` is its path in the request (e.g. "messages[2].role"). */
export class InvalidRequestError extends Error {
  override readonly name: string = "InvalidRequestError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * The caller named a model (the OpenAI door's `model`) that is neither `auto`, a route's name, nor
 * a model any route matches; `available` lists what it could have named.
 */
export class UnknownModelError extends InvalidRequestError {
  override readonly name = "UnknownModelError";
  constructor(
    readonly model: string,
    readonly available: readonly string[],
  ) {
    super("model", `unknown model "${model}" (this router serves: ${available.join(", ")})`);
  }
}

/**
 * The policy asks callers to authenticate (`auth.mode` keys or identity_header) and this one
 * did not: no credential, or one that proves nothing. `scheme` is the challenge to send back
 * (`Bearer` for keys). The message never echoes what was presented.
 */
export class UnauthenticatedError extends Error {
  override readonly name = "UnauthenticatedError";
  constructor(
    message: string,
    readonly scheme?: "Bearer",
  ) {
    super(message);
  }
}

/**
 * An authenticated caller asked to act as another tenant (the request's `tenant`): a key spends
 * only its own tenant's budget. `field` is the request field that named it.
 */
export class TenantDeniedError extends Error {
  override readonly name = "TenantDeniedError";
  readonly field = "tenant";
  readonly reason: string;
  constructor(readonly tenant: string) {
    const reason = `this caller is authenticated as tenant "${tenant}" and may not act as another tenant`;
    super(`tenant: ${reason}`);
    this.reason = reason;
  }
}

/** No route of the policy matches the request. */
export class NoRouteError extends Error {
  override readonly name = "NoRouteError";
}

/** Errors that happened after a decision was taken carry it, so every error can report it. */
export abstract class DecidedError extends Error {
  constructor(
    message: string,
    readonly decision: Decision,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The matched route names no target this request may be sent to. */
export class NoEligibleTargetError extends DecidedError {
  override readonly name = "NoEligibleTargetError";
}

/** Every target was tried (or refused) and none answered; `lastErrorClass` says how the last one failed. */
export class AllTargetsFailedError extends DecidedError {
  override readonly name = "AllTargetsFailedError";
  constructor(
    message: string,
    decision: Decision,
    readonly lastErrorClass: ErrorClass,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, decision, options);
  }
}

/**
 * The policy refuses the request: a detected kind its `detect:` rules block, or a content rule.
 * `rule` names the rule (`detect.secret`, `content_rules.weapons`); the message names the kinds
 * found, never the text.
 */
export class PolicyDeniedError extends DecidedError {
  override readonly name = "PolicyDeniedError";
  constructor(
    message: string,
    decision: Decision,
    readonly rule: string,
  ) {
    super(message, decision);
  }
}

/**
 * A tenant's (or one of its users') budget or rate limit is reached and its policy says refuse.
 * `limit` names it as the policy does (`tenants.acme.budgets.usd_per_day`,
 * `tenants.acme.per_user.requests_per_minute`); `retryAfterMs` is when its window ends.
 */
export class QuotaExceededError extends DecidedError {
  override readonly name = "QuotaExceededError";
  constructor(
    message: string,
    decision: Decision,
    readonly quota: {
      limit: string;
      /** `budget` (spend) or `rate` (requests, tokens, calls in flight). */
      kind: "budget" | "rate";
      tenant: string;
      user?: string;
      /** The limit, and what is used of it (with this call's estimate it would pass it). */
      max: number;
      used: number;
      retryAfterMs: number;
    },
  ) {
    super(message, decision);
  }
}

/** A stream failed after tokens had reached the caller; it is not restarted on another model. */
export class StreamInterruptedError extends DecidedError {
  override readonly name = "StreamInterruptedError";
  constructor(
    message: string,
    decision: Decision,
    readonly errorClass: ErrorClass,
    options?: { cause?: unknown },
  ) {
    super(message, decision, options);
  }
}

/**
 * Why a call ended from outside the pipeline, set by the front door as the abort reason of the
 * call's signal, so attempts and the decision record say why rather than "cancelled". Its message
 * is safe to record.
 */
export class CallEndedError extends Error {
  override readonly name: string = "CallEndedError";
  constructor(
    readonly why: "cancelled" | "deadline" | "shutdown" | "stalled",
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller stopped reading its stream (flow control closed) for longer than the write-stall
 * limit: the server cut the call.
 */
export class CallerStalledError extends CallEndedError {
  override readonly name = "CallerStalledError";
  constructor(readonly stalledMs: number) {
    super("stalled", `the caller stopped reading the stream for ${stalledMs} ms`);
  }
}

/**
 * The shared state store (Redis: budgets, rate limits) cannot be reached and the policy refuses
 * calls rather than admit them on local counters (`state.on_unavailable: closed`). Says nothing
 * about where the store is; the connection error is the `cause`.
 */
export class StateUnavailableError extends Error {
  override readonly name = "StateUnavailableError";
  constructor(options?: { cause?: unknown }) {
    super("shared state (budgets and rate limits) is unavailable; try again shortly", options);
  }
}
