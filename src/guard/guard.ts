import type { PolicyLease } from "../config/policy-store.js";
import type { RouteTarget } from "../core/policy.js";
import type { ProviderAdapter } from "../providers/types.js";
import { targetRefusal } from "./residency.js";

export type GuardVerdict = { allowed: true; adapter: ProviderAdapter } | { allowed: false; reason: string };

/**
 * Checked at the moment of every attempt, not only when the route was chosen (DESIGN
 * invariants 1 and 8): whatever built the target list, a request whose class may not leave the
 * boundary is never handed to a hosted provider's adapter. Both the policy the call started
 * under and the one in force now must allow it: a reload that marks a provider hosted, or drops
 * it, stops calls already in flight from sending there.
 */
export function guardAttempt(target: RouteTarget, dataClass: string, lease: PolicyLease): GuardVerdict {
  const refusal = targetRefusal(target, dataClass, lease.policy);
  if (refusal) return { allowed: false, reason: refusal };
  const latest = lease.latest();
  if (latest !== lease.policy) {
    const now = targetRefusal(target, dataClass, latest);
    if (now) return { allowed: false, reason: `${now} (policy ${latest.version}, now in force)` };
  }
  const adapter = lease.adapter(target.provider);
  if (!adapter) return { allowed: false, reason: `provider ${target.provider} is left out of routing` };
  return { allowed: true, adapter };
}
