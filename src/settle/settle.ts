import type { Consumption, Execution, IdentifiedRequest, RoutingPlan, Settlement } from "../core/call.js";
import { type PicoUsd, usdFromPico } from "../core/money.js";
import { type ModelPrice, type Policy, priceOf } from "../core/policy.js";
import { estimateUsage } from "../core/token-estimate.js";
import type { TargetRef, Usage } from "../core/types.js";

/**
 * Prices what every attempt consumed and writes it into the decision: each attempt's usage and
 * cost, and the call's total. A model no price covers costs `unpricedPrice` (a budgeted
 * tenant's stated price) or nothing, and the decision says it was unpriced. A provider's own counts are used when it reported them; otherwise
 * (a stream cut short, abandoned, or a server that reports none) they are estimated from what
 * was received and marked as estimated, so a paid answer is never recorded as free.
 */
export function settle(
  request: IdentifiedRequest,
  plan: RoutingPlan,
  consumed: readonly Consumption[],
  execution: Execution | undefined,
  policy: Policy,
  unpricedPrice?: ModelPrice,
): Settlement {
  const { decision } = plan;
  let total: PicoUsd = 0;
  let answer: Usage = { inputTokens: 0, outputTokens: 0 };
  for (const consumption of consumed) {
    const usage =
      consumption.reported ?? estimateUsage(request.messages, request.tools, consumption.receivedCharacters);
    const listed = priceOf(policy, consumption.target);
    if (!listed) decision.unpriced = true;
    const cost = costAt(listed ?? unpricedPrice, usage);
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

/**
 * Cost of `usage` on `target` at the policy's prices (its own, or the built-in table's), in
 * picodollars; 0 for an unpriced model. Input read from or written to a prompt cache is priced as
 * such when the provider said how much was.
 */
export function costOf(target: TargetRef, usage: Usage, policy: Policy): PicoUsd {
  return costAt(priceOf(policy, target), usage);
}

function costAt(price: ModelPrice | undefined, usage: Usage): PicoUsd {
  if (!price) return 0;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const written = Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - cached);
  const plain = usage.inputTokens - cached - written;
  return (
    plain * price.inputPicoUsdPerToken +
    cached * (price.cachedInputPicoUsdPerToken ?? price.inputPicoUsdPerToken) +
    written * (price.cacheWritePicoUsdPerToken ?? price.inputPicoUsdPerToken) +
    usage.outputTokens * price.outputPicoUsdPerToken
  );
}
