import type { RouteTarget } from "../config/policy.js";
import type { PolicyLease } from "../config/policy-store.js";
import type { ProviderAdapter } from "../providers/types.js";
import { residencyRefusal } from "./residency.js";

export type GuardVerdict = { allowed: true; adapter: ProviderAdapter } | { allowed: false; reason: string };

/**
 * Checked at the moment of every attempt, not only when the route was chosen (DESIGN
 * invariant 1): whatever built the target list, a request whose class may not leave the
 * boundary is never handed to a hosted provider's adapter.
 */
export function guardAttempt(target: RouteTarget, dataClass: string, lease: PolicyLease): GuardVerdict {
  const provider = lease.policy.providers.get(target.provider);
  const klass = lease.policy.dataClasses.get(dataClass);
  if (!provider || !klass)
    return { allowed: false, reason: `unknown provider or data class for ${target.provider}` };
  const refusal = residencyRefusal(klass, provider.settings);
  if (refusal) return { allowed: false, reason: refusal };
  const adapter = lease.adapter(target.provider);
  if (!adapter) return { allowed: false, reason: `provider ${target.provider} is left out of routing` };
  return { allowed: true, adapter };
}
