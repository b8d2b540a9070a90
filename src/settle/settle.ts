import type { Consumption, Execution, IdentifiedRequest, RoutingPlan, Settlement } from "../core/call.js";
import { type PicoUsd, usdFromPico } from "../core/money.js";
import type { Policy } from "../core/policy.js";
import { estimateUsage } from "../core/token-estimate.js";
import type { TargetRef, Usage } from "../core/types.js";

/**
 * Prices what every attempt consumed and writes it into the decision: each attempt's usage and
 * cost, and the call's total. A provider's own counts are used when it reported them; otherwise
 * (a stream cut short, abandoned, or a server that reports none) they are estimated from what
 * was received and marked as estimated, so a paid answer is never recorded as free.
 */
export function settle(
  request: IdentifiedRequest,
  plan: RoutingPlan,
  consumed: readonly Consumption[],
  execution: Execution | undefined,
  policy: Policy,
): Settlement {
  const { decision } = plan;
  let total: PicoUsd = 0;
  let answer: Usage = { inputTokens: 0, outputTokens: 0 };
  for (const consumption of consumed) {
    const usage =
      consumption.reported ?? estimateUsage(request.messages, request.tools, consumption.receivedCharacters);
    const cost = costOf(consumption.target, usage, policy);
    const attempt = decision.attempts[consumption.attempt];
    if (attempt) {
      attempt.usage = usage;
      attempt.costUsd = usdFromPico(cost);
    }
    total += cost;
    if (execution?.answeredBy === consumption.attempt) answer = usage;
  }
  decision.costUsd = usdFromPico(total);
  return { usage: answer, costUsd: decision.costUsd };
}

/** Cost of `usage` on `target` at the policy's prices, in picodollars (0 for an unpriced model). */
export function costOf(target: TargetRef, usage: Usage, policy: Policy): PicoUsd {
  const price = policy.providers.get(target.provider)?.models?.get(target.model);
  if (!price) return 0;
  return usage.inputTokens * price.inputPicoUsdPerToken + usage.outputTokens * price.outputPicoUsdPerToken;
}
