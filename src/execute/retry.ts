import type { RetryPolicy } from "../core/policy.js";
import type { ErrorClass } from "../core/types.js";
import type { AttemptHealth } from "../health/target-health.js";
import type { ProviderError } from "../providers/provider-error.js";

/**
 * Failures worth trying the same target again for: it could not be reached, or it failed in a
 * way that passes (a 5xx, overload). Not a timeout (a target that stayed silent for its whole
 * budget would spend the next one the same way), not a malformed answer (the same server answers
 * the same way), never what the request or the caller caused. A 429 waits for its cooling
 * instead (see execute).
 */
const RETRIED_ON_SAME_TARGET: ReadonlySet<ErrorClass> = new Set(["connect", "server", "overloaded"]);

export function retriesOnSameTarget(failure: ProviderError): boolean {
  return failure.retryable && RETRIED_ON_SAME_TARGET.has(failure.errorClass);
}

/**
 * Exponential backoff with full jitter before retry number `retry` (1 for the first): a random
 * wait in [0, min(max, base × 2^(retry−1))], so callers that failed together do not come back
 * together. https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (retry - 1));
  return Math.round(random() * ceiling);
}

/**
 * What a failure says about its target's health: failures of the target itself count against
 * its breaker; a 429 is the provider's pacing (it cools the target instead); what the caller,
 * the request or our policy caused says nothing about the target; nor does a timeout that was the
 * call's time running out (`callTime`: a share of a short caller deadline, the call's total).
 */
export function attemptHealth(failure: ProviderError, latencyMs: number, callTime: boolean): AttemptHealth {
  switch (failure.errorClass) {
    case "timeout":
      return callTime ? { kind: "neutral" } : { kind: "failed", latencyMs };
    case "connect":
    case "server":
    case "overloaded":
    case "protocol":
      return { kind: "failed", latencyMs };
    default:
      return { kind: "neutral" };
  }
}
