import type { ErrorClass } from "../core/types.js";

/**
 * Classes a fallback is allowed for (DESIGN invariant 5): the target failed, not the request.
 * A malformed answer (protocol) is the upstream misbehaving like a 5xx: the next target may
 * serve, though the same one is not retried (src/execute/retry.ts).
 */
const RETRYABLE: ReadonlySet<ErrorClass> = new Set([
  "connect",
  "timeout",
  "rate_limited",
  "server",
  "overloaded",
  "protocol",
]);

function isRetryableClass(errorClass: ErrorClass): boolean {
  return RETRYABLE.has(errorClass);
}

/**
 * A failure of one upstream call, classified once where it happened (in the adapter).
 * `message` is safe to show callers and logs: it never holds prompt, output or key material;
 * upstream bodies go in `cause` only.
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly errorClass: ErrorClass;
  readonly retryable: boolean;
  /** Upstream HTTP status, when there was one. */
  readonly status?: number;
  /** From `retry-after` / `retry-after-ms`, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(
    errorClass: ErrorClass,
    message: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.errorClass = errorClass;
    this.retryable = options.retryable ?? isRetryableClass(errorClass);
    if (options.status !== undefined) this.status = options.status;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The error for a call whose signal was aborted: a ProviderError reason passes through as is
 * (a budget timeout stays a timeout), AbortSignal.timeout's TimeoutError is a timeout, and
 * anything else is the caller cancelling.
 */
export function abortError(signal: AbortSignal): ProviderError {
  const reason: unknown = signal.reason;
  if (reason instanceof ProviderError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ProviderError("timeout", "upstream call timed out", { cause: reason });
  }
  return new ProviderError("cancelled", "upstream call cancelled", { cause: reason });
}

/**
 * An answer that is not what the provider's wire format promises: the next target may serve, the
 * same server would answer the same way. `cause` may hold the offending body; `message` is fixed
 * text.
 */
export function protocolError(message: string, cause?: unknown): ProviderError {
  return new ProviderError("protocol", message, { cause });
}
