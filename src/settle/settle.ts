import type { Policy } from "../config/policy.js";
import type { TargetRef, Usage } from "../core/types.js";

/** Cost in US dollars of `usage` on `target` at the policy's prices (0 for an unpriced model). */
export function costOf(target: TargetRef, usage: Usage, policy: Policy): number {
  const price = policy.providers.get(target.provider)?.models?.get(target.model);
  if (!price) return 0;
  return (
    (usage.inputTokens * price.inputUsdPerMtok + usage.outputTokens * price.outputUsdPerMtok) / 1_000_000
  );
}
