import type { Classification, IdentifiedRequest } from "../core/call.js";
import type { Policy } from "../core/policy.js";

/**
 * Says what the request is. For now the caller's declarations are taken as given (or the
 * policy's defaults, which ship fail-closed); content detectors plug in here and may only raise
 * the class (by the rank order of `policy.dataClasses`).
 */
export function classify(request: IdentifiedRequest, policy: Policy): Classification {
  const declared = request.dataClass;
  return {
    task: request.task || policy.defaults.task,
    dataClass: declared || policy.defaults.dataClass,
    declaredDataClass: declared,
    entities: [],
  };
}
