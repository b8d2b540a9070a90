import type { Logger } from "pino";
import { CallEndedError } from "../core/errors.js";
import type { Attempt } from "../core/types.js";
import { ProviderError } from "../providers/provider-error.js";

/**
 * Turns whatever an attempt threw into one classified ProviderError. The caller's own
 * cancellation wins over anything else: that failure is never retried. An adapter's own
 * classification wins over a budget that fired while it was unwinding, unless the adapter only
 * reports the abort itself.
 */
export function attemptFailure(
  error: unknown,
  attemptSignal: AbortSignal,
  callerSignal: AbortSignal,
  logger: Logger,
): ProviderError {
  if (callerSignal.aborted)
    return new ProviderError("cancelled", callEnded(callerSignal), { cause: error, retryable: false });
  const budget =
    attemptSignal.aborted && attemptSignal.reason instanceof ProviderError ? attemptSignal.reason : undefined;
  // An adapter that only reports the abort ("cancelled") while a budget fired failed by that budget.
  if (error instanceof ProviderError && !(budget && error.errorClass === "cancelled")) return error;
  if (budget) return budget;
  // An adapter that throws something unclassified has a bug: log it once (name and stack only,
  // since messages of parse errors can quote upstream text) and do not guess a retry is safe.
  logger.error(
    {
      err:
        error instanceof Error
          ? { name: error.name, stack: error.stack?.split("\n").slice(1).join("\n") }
          : { type: typeof error },
    },
    "provider adapter threw an unclassified error",
  );
  return new ProviderError("protocol", "the provider adapter failed unexpectedly", {
    cause: error,
    retryable: false,
  });
}

/** Why the caller's side ended the call, as the front door said it (CallEndedError), for records. */
export function callEnded(callerSignal: AbortSignal): string {
  const reason: unknown = callerSignal.reason;
  return reason instanceof CallEndedError ? reason.message : "the caller cancelled or its deadline passed";
}

/** The decision's record of an attempt that failed (or was cancelled) with `failure`. */
export function failedAttempt(target: string, failure: ProviderError, latencyMs: number): Attempt {
  const cancelled = failure.errorClass === "cancelled";
  return {
    target,
    outcome: cancelled ? "cancelled" : "failed",
    latencyMs,
    errorClass: failure.errorClass,
    // Said the same way whether the abort reached the attempt while it read or while it waited.
    message: cancelled ? `${failure.message}; the upstream request was aborted` : failure.message,
    retryable: failure.retryable,
    ...(failure.retryAfterMs !== undefined && { retryAfterMs: failure.retryAfterMs }),
  };
}

/** The decision's record of a target skipped by its health (breaker open, cooling, out of service). */
export function skippedAttempt(target: string, reason: string, retry = 0): Attempt {
  return {
    target,
    outcome: "skipped",
    latencyMs: 0,
    message: `skipped: ${reason}`,
    retryable: true,
    ...(retry > 0 && { retry }),
  };
}

/** Why the caller stopped taking the stream, for the decision record. */
export function abandonment(signal: AbortSignal): string {
  const why = signal.aborted ? callEnded(signal) : "the caller stopped receiving the stream";
  return `${why}; the upstream request was aborted`;
}
