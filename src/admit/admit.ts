import type { Admission, IdentifiedRequest } from "../core/call.js";
import type { Policy, RoutePolicy } from "../core/policy.js";

/**
 * Applies the route's per-request budgets before anything is sent. Budgets over time and rate
 * limits (tenants, users) plug in here.
 */
export function admit(request: IdentifiedRequest, route: RoutePolicy, policy: Policy): Admission {
  const requested = request.params.maxTokens;
  const cap = route.budgets.maxTokens;
  if (cap === "unbounded") return requested === undefined ? {} : { maxTokens: requested };
  const limit = cap === "bounded" ? policy.defaults.maxTokens : cap;
  return { maxTokens: requested === undefined ? limit : Math.min(requested, limit) };
}
