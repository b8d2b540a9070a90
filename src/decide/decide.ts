import type { Classification, IdentifiedRequest, RoutingPlan } from "../core/call.js";
import { NoRouteError } from "../core/errors.js";
import {
  AUTO_MODEL,
  type Policy,
  type ProviderPolicy,
  type RouteMatch,
  type RoutePolicy,
  type RouteTarget,
} from "../core/policy.js";
import { type CallContext, type Candidate, IMAGE_KIND, targetId } from "../core/types.js";
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
  const route = chooseRoute(request, classification, policy);

  const candidates: Candidate[] = [];
  const eligible: RouteTarget[] = [];
  const degradeTarget = route.degrade.target;
  let degradeTo: RouteTarget | undefined;
  const imageByUrl = hasImageByUrl(request.messages);
  // Images the policy redacts are left out of what a hosted target sees.
  const imagesRedacted = classification.findings.some(
    (finding) => finding.kind === IMAGE_KIND && finding.action === "redact",
  );
  for (const target of degradeTarget ? [...route.targets, degradeTarget] : route.targets) {
    const reason =
      targetRefusal(target, classification.dataClass, policy) ??
      (imageByUrl && takesNoImageUrls(policy.providers.get(target.provider), imagesRedacted)
        ? "takes images inline only (data: URLs), and this request has an image by URL"
        : undefined);
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
      user: request.user,
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
      estimatedInputTokens: 0,
      estimatedCostUsd: 0,
      quota: "",
      unpriced: false,
    },
  };
}

/**
 * The first route whose match holds; or, when the caller named a route as its `model`, that
 * route, provided what governs who may use it holds (data class, tenant, labels): naming a route
 * chooses it over the task, never around the policy.
 */
function chooseRoute(
  request: IdentifiedRequest,
  classification: Classification,
  policy: Policy,
): RoutePolicy {
  const named = request.model ? policy.routes.find((route) => route.name === request.model) : undefined;
  if (named) {
    const unmet = unmetCondition(named.match, request, classification, { named: true });
    if (unmet !== undefined)
      throw new NoRouteError(
        `route "${named.name}", named as the model, does not take this request: ${unmet}`,
      );
    return named;
  }
  const route = policy.routes.find(
    (candidate) => unmetCondition(candidate.match, request, classification, { named: false }) === undefined,
  );
  if (!route)
    throw new NoRouteError(
      `no route matches task "${classification.task}", data class "${classification.dataClass}", tenant "${request.tenant}"${request.model && request.model !== AUTO_MODEL ? `, model "${request.model}"` : ""}`,
    );
  return route;
}

/** The first condition of `match` the request does not meet, said in a few words; undefined when it matches. */
function unmetCondition(
  match: RouteMatch,
  request: IdentifiedRequest,
  classification: Classification,
  how: { named: boolean },
): string | undefined {
  if (!how.named && match.tasks && !match.tasks.has(classification.task)) return "task";
  if (match.dataClasses && !match.dataClasses.has(classification.dataClass))
    return `its data class "${classification.dataClass}" is not one the route takes`;
  if (match.tenants && !match.tenants.has(request.tenant))
    return `tenant "${request.tenant}" is not one the route takes`;
  for (const [label, values] of match.labels ?? []) {
    const value = request.labels[label];
    if (value === undefined || !values.has(value)) return `label "${label}" is not one the route takes`;
  }
  if (!how.named) {
    // A request naming a model matches only routes listing it: asking for gpt-4o never quietly
    // gets another model; one naming none (auto, gRPC) never matches a route that lists models.
    const asked = request.model && request.model !== AUTO_MODEL ? request.model : undefined;
    if (asked !== undefined ? !match.models?.has(asked) : match.models !== undefined) return "model";
  }
  return undefined;
}

/** Whether any message has an image by URL rather than inline (a `data:` URL). */
export function hasImageByUrl(messages: IdentifiedRequest["messages"]): boolean {
  return messages.some((message) => message.images?.some((image) => !image.url.startsWith("data:")));
}

/** Whether a target cannot take this request's images by URL (a hosted one sees none when the policy redacts them). */
function takesNoImageUrls(provider: ProviderPolicy | undefined, imagesRedacted: boolean): boolean {
  if (!provider || provider.takesImageUrls) return false;
  return !(provider.hosted && imagesRedacted);
}
