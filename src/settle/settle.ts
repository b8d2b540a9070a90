import type { PicoUsd } from "../core/money.js";
import type { Policy } from "../core/policy.js";
import type { TargetRef, Usage } from "../core/types.js";

/** Cost of `usage` on `target` at the policy's prices, in picodollars (0 for an unpriced model). */
export function costOf(target: TargetRef, usage: Usage, policy: Policy): PicoUsd {
  const price = policy.providers.get(target.provider)?.models?.get(target.model);
  if (!price) return 0;
  return usage.inputTokens * price.inputPicoUsdPerToken + usage.outputTokens * price.outputPicoUsdPerToken;
}
