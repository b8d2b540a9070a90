import type { Usage } from "../core/types.js";

/**
 * The largest token count believed. No model's context window comes near it; a larger count is a
 * broken upstream, and settling it would drain a tenant's budget in one call.
 */
export const MAX_PLAUSIBLE_TOKENS = 100_000_000;

/**
 * A token count as an upstream reported it, if it can be trusted: an integer from 0 to
 * {@link MAX_PLAUSIBLE_TOKENS}. Anything else (negative, fractional, a string, null, absurdly
 * large) is undefined, which the caller treats as "not reported", never as zero.
 */
export function trustedTokenCount(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_PLAUSIBLE_TOKENS
    ? value
    : undefined;
}

/**
 * Usage from an input and an output count as reported, or undefined unless both can be trusted:
 * half a report is not a report (the pipeline estimates both then).
 */
export function trustedUsage(inputTokens: unknown, outputTokens: unknown): Usage | undefined {
  const input = trustedTokenCount(inputTokens);
  const output = trustedTokenCount(outputTokens);
  return input === undefined || output === undefined
    ? undefined
    : { inputTokens: input, outputTokens: output };
}
