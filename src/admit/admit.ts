import type { Admission, IdentifiedRequest, RoutingPlan } from "../core/call.js";
import { usdFromPico } from "../core/money.js";
import {
  type ModelPrice,
  type Policy,
  priceOf,
  type RoutePolicy,
  type RouteTarget,
  type TenantPolicy,
} from "../core/policy.js";
import { estimateInputTokens } from "../core/token-estimate.js";
import { targetId } from "../core/types.js";
import { countInputTokens } from "./token-count.js";

/**
 * Applies the route's per-request budgets before anything is sent: the output-token cap, then
 * what the request may cost at its worst on each target (its input tokens, counted with the
 * model's tokenizer when a cost cap or a tenant's budget needs it, and the most output it may
 * get, at the target's price). A target whose worst case passes the route's `max_cost_usd` is
 * skipped (`over_max_cost: downgrade`, so a cheaper one serves) or the request is refused
 * (`refuse`); a target with no price is kept from a tenant whose spend is budgeted unless the
 * tenant states a price for such models. Skipped targets say why in the decision's candidates.
 * The tenant's budgets and limits themselves are reserved after this (quota.ts).
 */
export async function admit(
  request: IdentifiedRequest,
  plan: RoutingPlan,
  policy: Policy,
  tenant: TenantPolicy | undefined,
): Promise<Admission> {
  const { route, decision } = plan;
  const maxTokens = outputCap(request, route, policy);
  const outputTokens = maxTokens ?? policy.defaults.maxTokens;
  const exact = route.budgets.maxCostUsd !== undefined || tenant !== undefined;
  const budgeted =
    tenant !== undefined &&
    (tenant.spend.usdPerDay !== undefined ||
      tenant.spend.usdPerMonth !== undefined ||
      tenant.perUser.usdPerDay !== undefined ||
      tenant.perUser.usdPerMonth !== undefined);

  const counted = new Map<string, number>();
  const inputTokensFor = async (target: RouteTarget) => {
    let tokens = counted.get(target.model);
    if (tokens === undefined) {
      tokens = exact
        ? (await countInputTokens(target.model, request.messages, request.tools)).tokens
        : estimateInputTokens(request.messages, request.tools);
      counted.set(target.model, tokens);
    }
    return tokens;
  };
  const costs = new Map<RouteTarget, TargetCost>();
  for (const target of [...plan.eligible, ...(plan.degradeTo ? [plan.degradeTo] : [])]) {
    const listed = priceOf(policy, target);
    const price = listed ?? (tenant && tenant.unpriced !== "refuse" ? tenant.unpriced : undefined);
    const inputTokens = await inputTokensFor(target);
    costs.set(target, {
      inputTokens,
      worstCaseUsd: price
        ? usdFromPico(inputTokens * price.inputPicoUsdPerToken + outputTokens * price.outputPicoUsdPerToken)
        : 0,
      priced: listed !== undefined,
      ...(price && { price }),
    });
  }

  const skip = (target: RouteTarget, reason: string) => {
    plan.eligible = plan.eligible.filter((eligible) => eligible !== target);
    if (plan.degradeTo === target) delete plan.degradeTo;
    for (const candidate of decision.candidates)
      if (candidate.target === targetId(target) && candidate.eligible) {
        candidate.eligible = false;
        candidate.reason = reason;
      }
  };
  if (budgeted && tenant.unpriced === "refuse")
    for (const [target, cost] of costs)
      if (!cost.priced)
        skip(
          target,
          `no price, and tenant "${tenant.name}" has a budget it cannot be counted against (tenants.${tenant.name}.unpriced)`,
        );

  const cap = route.budgets.maxCostUsd;
  if (cap !== undefined) {
    const over = (target: RouteTarget) => (costs.get(target)?.worstCaseUsd ?? 0) > cap;
    const worst = (target: RouteTarget) => `$${round(costs.get(target)?.worstCaseUsd ?? 0)}`;
    const first = plan.eligible[0];
    if (route.budgets.overMaxCost === "refuse" && first && over(first)) {
      const reason = `route "${route.name}" refuses requests whose worst case passes max_cost_usd $${cap}: ${worst(first)} on ${targetId(first)} (${costs.get(first)?.inputTokens} input tokens, up to ${outputTokens} output)`;
      for (const target of [...plan.eligible, ...(plan.degradeTo ? [plan.degradeTo] : [])])
        skip(target, reason);
    } else
      for (const target of [...plan.eligible, ...(plan.degradeTo ? [plan.degradeTo] : [])])
        if (over(target))
          skip(
            target,
            `worst case ${worst(target)} passes max_cost_usd $${cap} (${costs.get(target)?.inputTokens} input tokens, up to ${outputTokens} output)`,
          );
  }

  const first = plan.eligible[0] ?? plan.degradeTo;
  const firstCost = first ? costs.get(first) : undefined;
  decision.estimatedInputTokens =
    firstCost?.inputTokens ?? estimateInputTokens(request.messages, request.tools);
  decision.estimatedCostUsd = firstCost ? round(firstCost.worstCaseUsd) : 0;
  // A budget reserves the worst any target it may be sent to could cost.
  const reachable = [...plan.eligible, ...(plan.degradeTo ? [plan.degradeTo] : [])].map((target) =>
    costs.get(target),
  );
  return {
    ...(maxTokens !== undefined && { maxTokens }),
    inputTokens: Math.max(0, ...reachable.map((cost) => cost?.inputTokens ?? 0)),
    outputTokens,
    worstCaseUsd: Math.max(0, ...reachable.map((cost) => cost?.worstCaseUsd ?? 0)),
    ...(tenant && tenant.unpriced !== "refuse" && { unpricedPrice: tenant.unpriced }),
  };
}

interface TargetCost {
  inputTokens: number;
  worstCaseUsd: number;
  /** The policy or a built-in table prices it. */
  priced: boolean;
  price?: ModelPrice;
}

/** The output-token cap to send: the caller's, within the route's. */
export function outputCap(
  request: IdentifiedRequest,
  route: RoutePolicy,
  policy: Policy,
): number | undefined {
  const requested = request.params.maxTokens;
  const cap = route.budgets.maxTokens;
  if (cap === "unbounded") return requested;
  const limit = cap === "bounded" ? policy.defaults.maxTokens : cap;
  return requested === undefined ? limit : Math.min(requested, limit);
}

/** Dollars to the micro-dollar, for decisions and messages. */
function round(usd: number): number {
  return Math.ceil(usd * 1e6) / 1e6;
}
