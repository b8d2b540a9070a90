import type { Policy } from "../core/policy.js";
import type { Entity } from "../core/types.js";
import type { IdentifiedRequest } from "../identify/identify.js";

export interface Classification {
  /** The task the route is matched on: the declared one, or the policy default. */
  task: string;
  /** The effective data class: never lower than the declared one (DESIGN invariant 2). */
  dataClass: string;
  /** What the caller declared; empty when nothing (the policy default then applies). */
  declaredDataClass: string;
  entities: Entity[];
}

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
