import type { DataClass } from "../config/policy.js";
import type { ProviderSettings } from "../providers/types.js";

/**
 * Why a request of `dataClass` may not be sent to `provider`, or undefined when it may.
 * The one residency rule: used at load (check), when a route is chosen, and before every attempt.
 */
export function residencyRefusal(dataClass: DataClass, provider: ProviderSettings): string | undefined {
  if (!provider.hosted) return undefined;
  if (!dataClass.mayLeave)
    return `data class ${dataClass.name} may not leave the boundary; provider ${provider.name} is hosted`;
  if (dataClass.regions && !dataClass.regions.has(provider.region))
    return `data class ${dataClass.name} may only go to regions [${[...dataClass.regions].join(", ")}]; provider ${provider.name} is in "${provider.region}"`;
  return undefined;
}
