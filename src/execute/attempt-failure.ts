import { ProviderError } from "../providers/provider-error.js";

/**
 * Turns whatever an attempt threw into one classified ProviderError. The caller's own
 * cancellation wins over anything the adapter reported: that failure is never retried.
 */
export function attemptFailure(
  error: unknown,
  attemptSignal: AbortSignal,
  callerSignal: AbortSignal,
): ProviderError {
  if (callerSignal.aborted)
    return new ProviderError("cancelled", "the caller cancelled or its deadline passed", {
      cause: error,
      retryable: false,
    });
  if (attemptSignal.aborted && attemptSignal.reason instanceof ProviderError) return attemptSignal.reason;
  if (error instanceof ProviderError) return error;
  // An adapter that throws something unclassified has a bug; do not guess that a retry is safe.
  return new ProviderError("protocol", "the provider adapter failed unexpectedly", {
    cause: error,
    retryable: false,
  });
}
