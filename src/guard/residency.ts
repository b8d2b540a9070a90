import type { DataClass, Policy, ProviderPolicy } from "../core/policy.js";
import type { TargetRef } from "../core/types.js";

/**
 * Why a request of `dataClass` may not be sent to `provider`, or undefined when it may.
 * The one residency rule: used at load (check), when a route is chosen, and before every attempt.
 */
export function residencyRefusal(dataClass: DataClass, provider: ProviderPolicy): string | undefined {
  if (!provider.hosted) return undefined;
  if (!dataClass.mayLeave)
    return `data class ${dataClass.name} may not leave the boundary; provider ${provider.name} is hosted`;
  if (dataClass.regions && !dataClass.regions.has(provider.region))
    return `data class ${dataClass.name} may only go to regions [${[...dataClass.regions].join(", ")}]; provider ${provider.name} is in "${provider.region}"`;
  return undefined;
}

/**
 * Why `target` may not serve a request of `dataClass` under `policy`, or undefined when it may:
 * residency, and providers left out of routing. Used when the route is chosen and again before
 * every attempt.
 */
export function targetRefusal(target: TargetRef, dataClass: string, policy: Policy): string | undefined {
  const provider = policy.providers.get(target.provider);
  if (!provider) return `provider ${target.provider} is not declared`;
  if (provider.disabledReason)
    return `provider ${target.provider} is left out of routing: ${provider.disabledReason}`;
  const klass = policy.dataClasses.get(dataClass);
  if (!klass) return `data class ${dataClass} is not declared`;
  return residencyRefusal(klass, provider);
}
