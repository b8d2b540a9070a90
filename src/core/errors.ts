import type { Decision, ErrorClass } from "./types.js";

/**
 * Typed domain errors the core throws. src/server/connect-errors.ts is the one place that maps
 * them to gRPC codes. Messages are safe to send to callers; anything sensitive goes in `cause`.
 */

/** The request itself is wrong; `field` is its path in the request (e.g. "messages[2].role"). */
export class InvalidRequestError extends Error {
  override readonly name = "InvalidRequestError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
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
 * Why a stream was cut on the server's side: its caller stopped reading (flow control closed)
 * for longer than the write-stall limit. Used as the abort reason of the call, so the attempt in
 * flight and the decision record say why.
 */
export class CallerStalledError extends Error {
  override readonly name = "CallerStalledError";
  constructor(readonly stalledMs: number) {
    super(`the caller stopped reading the stream for ${stalledMs} ms`);
  }
}
