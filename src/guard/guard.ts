import type { PolicyLease } from "../config/policy-store.js";
import type { RouteTarget } from "../core/policy.js";
import type { ProviderAdapter } from "../providers/types.js";
import { targetRefusal } from "./residency.js";

export type GuardVerdict = { allowed: true; adapter: ProviderAdapter } | { allowed: false; reason: string };

/**
 * Checked at the moment of every attempt, not only when the route was chosen (DESIGN
 * invariant 1): whatever built the target list, a request whose class may not leave the
 * boundary is never handed to a hosted provider's adapter.
 */
export function guardAttempt(target: RouteTarget, dataClass: string, lease: PolicyLease): GuardVerdict {
  const refusal = targetRefusal(target, dataClass, lease.policy);
  if (refusal) return { allowed: false, reason: refusal };
  const adapter = lease.adapter(target.provider);
  if (!adapter) return { allowed: false, reason: `provider ${target.provider} is left out of routing` };
  return { allowed: true, adapter };
}
