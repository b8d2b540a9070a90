import type { Classification, IdentifiedRequest, RoutingPlan } from "../core/call.js";
import { NoRouteError } from "../core/errors.js";
import type { Policy, RouteMatch, RouteTarget } from "../core/policy.js";
import { type CallContext, type Candidate, targetId } from "../core/types.js";
import { targetRefusal } from "../guard/residency.js";

/**
 * Picks the first route whose match holds and sorts its targets into eligible and not, with
 * the reason for each one left out. Throws NoRouteError when no route matches.
 */
export function decide(
  request: IdentifiedRequest,
  classification: Classification,
  policy: Policy,
  call: Pick<CallContext, "traceId" | "callId">,
): RoutingPlan {
  const route = policy.routes.find((candidate) => matches(candidate.match, request, classification));
  if (!route)
    throw new NoRouteError(
      `no route matches task "${classification.task}", data class "${classification.dataClass}", tenant "${request.tenant}"`,
    );

  const candidates: Candidate[] = [];
  const eligible: RouteTarget[] = [];
  const degradeTarget = route.degrade.target;
  let degradeTo: RouteTarget | undefined;
  for (const target of degradeTarget ? [...route.targets, degradeTarget] : route.targets) {
    const reason = targetRefusal(target, classification.dataClass, policy);
    candidates.push({
      target: targetId(target),
      role: target.role,
      eligible: reason === undefined,
      ...(reason && { reason }),
    });
    if (reason !== undefined) continue;
    if (target === degradeTarget) degradeTo = target;
    else eligible.push(target);
  }

  return {
    route,
    eligible,
    ...(degradeTo && { degradeTo }),
    decision: {
      route: route.name,
      rule: route.rule,
      task: classification.task,
      dataClass: classification.dataClass,
      declaredDataClass: classification.declaredDataClass,
      tenant: request.tenant,
      policyVersion: policy.version,
      traceId: call.traceId,
      callId: call.callId,
      target: "",
      candidates,
      attempts: [],
      degraded: false,
      degradeRung: "",
      pool: "",
      costUsd: 0,
      maxTokens: 0,
      dryRun: false,
      taskInferred: classification.taskInferred,
      dataClassReason: classification.dataClassReason,
      findings: classification.findings,
      outputFindings: [],
      withheldTools: [],
      escalations: [],
      refusal: "",
    },
  };
}

function matches(match: RouteMatch, request: IdentifiedRequest, classification: Classification): boolean {
  if (match.tasks && !match.tasks.has(classification.task)) return false;
  if (match.dataClasses && !match.dataClasses.has(classification.dataClass)) return false;
  if (match.tenants && !match.tenants.has(request.tenant)) return false;
  for (const [label, values] of match.labels ?? []) {
    const value = request.labels[label];
    if (value === undefined || !values.has(value)) return false;
  }
  return true;
}
