import { admit } from "../admit/admit.js";
import {
  countOnly,
  describeAdmitted,
  describeRefusal,
  isLimited,
  reserveQuota,
  settleQuota,
} from "../admit/quota.js";
import { classify } from "../classify/classify.js";
import type { RoutingPlan } from "../core/call.js";
import { CallEndedError, NoRouteError, QuotaExceededError, UnknownModelError } from "../core/errors.js";
import { decide } from "../decide/decide.js";
import { execute } from "../execute/execute.js";
import { type EscalationEvent, guardRequest } from "../guard/request-guard.js";
import type { TargetHealth } from "../health/target-health.js";
import { NOTHING_PRESENTED } from "../identify/authenticate.js";
import { identify } from "../identify/identify.js";
import type { DecisionLog } from "../record/decision-log.js";
import { recordDecision } from "../record/record.js";
import { routingRecordOf } from "../record/routing-record.js";
import { settle } from "../settle/settle.js";
import type { Escalations } from "../telemetry/escalation.js";
import type { EvalSinks } from "../telemetry/eval-sink.js";
import { type LoggableText, loggableText } from "../telemetry/logging-policy.js";
import { type CallScope, type CallState, need, type Step } from "./call-state.js";

export interface StepDeps {
  decisions: DecisionLog;
  /** What this process knows of each target's health (breakers, cooling, drills). */
  health: TargetHealth;
  /** In [0, 1): backoff jitter. */
  random: () => number;
  escalations: Escalations;
  evalSinks: EvalSinks;
}

/**
 * The pipeline, in order: identify → classify → decide → guard → admit → execute → settle →
 * record. Each entry adapts one step module (which knows nothing of the pipeline) to the call
 * state. A new step is a folder and a line here.
 */
export function createSteps(deps: StepDeps): readonly Step[] {
  /** Escalations of this call, with its ids and the policy's webhook. */
  const escalateFor =
    (state: CallState, scope: CallScope) =>
    (event: EscalationEvent): void => {
      deps.escalations.escalate(event, {
        traceId: scope.call.traceId,
        callId: scope.call.callId,
        tenant: state.identified?.tenant ?? "",
        policyVersion: scope.lease.policy.version,
        policy: scope.lease.policy.escalation,
      });
    };

  return [
    {
      name: "identify",
      effects: false,
      run(state, scope) {
        state.identified = identify(
          state.request,
          scope.lease.policy,
          scope.call.caller ?? NOTHING_PRESENTED,
        );
      },
    },
    {
      name: "classify",
      effects: false,
      run(state, scope) {
        state.classification = classify(need(state.identified, "the identified request"), scope.lease.policy);
      },
    },
    {
      name: "decide",
      effects: false,
      run(state, scope) {
        state.plan = decide(
          need(state.identified, "the identified request"),
          need(state.classification, "the classification"),
          scope.lease.policy,
          scope.call,
        );
      },
    },
    {
      name: "guard",
      effects: false,
      run(state, scope) {
        state.safeguards = guardRequest({
          request: need(state.identified, "the identified request"),
          classification: need(state.classification, "the classification"),
          plan: need(state.plan, "the routing plan"),
          policy: scope.lease.policy,
          dryRun: scope.dryRun,
          escalate: escalateFor(state, scope),
        });
      },
    },
    {
      name: "admit",
      // It runs in a dry run too (output caps, cost estimates): it reserves only outside one.
      effects: false,
      async run(state, scope) {
        await admitCall(state, scope, escalateFor(state, scope));
      },
    },
    {
      name: "execute",
      effects: true,
      async *run(state, scope) {
        const plan = need(state.plan, "the routing plan");
        // A stream opens with the decision as taken; later events and `done` complete it.
        if (scope.deliver) yield { type: "decision", decision: structuredClone(plan.decision) };
        state.execution = yield* execute({
          request: need(state.identified, "the identified request"),
          classification: need(state.classification, "the classification"),
          plan,
          admission: need(state.admission, "the admission"),
          safeguards: need(state.safeguards, "the safeguards"),
          lease: scope.lease,
          signal: scope.call.signal,
          ...(scope.call.deadline !== undefined && { deadline: scope.call.deadline }),
          clock: scope.clock,
          health: deps.health,
          random: deps.random,
          logger: scope.logger,
          deliver: scope.deliver,
          consumed: state.consumed,
          escalate: escalateFor(state, scope),
        });
      },
    },
    {
      name: "settle",
      effects: true,
      always: true,
      async run(state, scope) {
        if (!state.plan || !state.identified) return;
        const settlement = settle(
          state.identified,
          state.plan,
          state.consumed,
          state.execution,
          scope.lease.policy,
          state.admission?.unpricedPrice,
        );
        state.settlement = settlement;
        if (state.quota) {
          const tokens = state.plan.decision.attempts.reduce(
            (sum, attempt) =>
              sum + (attempt.usage ? attempt.usage.inputTokens + attempt.usage.outputTokens : 0),
            0,
          );
          await settleQuota(scope.store, state.quota, { usd: settlement.costUsd, tokens });
        }
      },
    },
    {
      name: "record",
      effects: true,
      always: true,
      run(state, scope) {
        if (!state.plan) return;
        const policy = scope.lease.policy;
        const request = state.identified ?? state.request;
        // Evaluation traffic never reaches the service log: its line goes to the eval sink.
        const logger = request.eval ? deps.evalSinks.logger(policy.logging.evalSink) : scope.logger;
        const { plan, identified, execution, settlement } = state;
        state.outcome = outcomeOf(state, scope.call.signal);
        let text: LoggableText | undefined;
        state.loggableText = () =>
          (text ??= loggableText(policy.logging, {
            messages: request.messages,
            entities: state.classification?.entities ?? [],
            ...(execution && { answer: execution.message }),
            restored: [...(state.safeguards?.redaction?.vault.values() ?? [])],
          }));
        recordDecision(
          deps.decisions,
          logger,
          plan.decision,
          state.outcome,
          state.loggableText,
          () =>
            identified &&
            routingRecordOf(
              identified,
              plan,
              policy,
              execution?.answeredBy !== undefined ? settlement?.usage : undefined,
            ),
        );
      },
    },
  ];
}

/** How the call ended, for the decision record: never free text from a caller or provider. */
function outcomeOf(state: CallState, signal: AbortSignal): string {
  // When the caller's side ended the call (it left, its deadline passed, it stopped reading, the
  // server shut down), that is what happened, whatever error it surfaced as.
  const ended = signal.aborted && signal.reason instanceof CallEndedError ? signal.reason : undefined;
  if (ended && (state.abandoned || state.failure !== undefined))
    return `abandoned (${ended.why}): ${ended.message}`;
  if (state.failure !== undefined)
    return state.failure instanceof Error ? state.failure.name : "unexpected failure";
  if (state.abandoned) return "abandoned: the caller stopped reading";
  return "ok";
}

/**
 * admit, with the tenant's budgets and limits: the route's per-request budgets first (admit.ts),
 * then the tenant's counters reserved for the worst case (quota.ts). At a limit the tenant's
 * `on_limit` refuses (RESOURCE_EXHAUSTED) or serves the call on its downgrade route, decided and
 * guarded anew (what it uses still counts). A dry run reserves nothing.
 */
async function admitCall(
  state: CallState,
  scope: CallScope,
  escalate: (event: EscalationEvent) => void,
): Promise<void> {
  const policy = scope.lease.policy;
  const identified = need(state.identified, "the identified request");
  const declared = policy.tenants.get(identified.tenant);
  const tenant = declared && isLimited(declared) ? declared : undefined;
  let plan = need(state.plan, "the routing plan");
  let admission = await admit(identified, plan, policy, tenant);
  if (tenant && scope.dryRun) plan.decision.quota = `${tenant.name}: nothing reserved (dry run)`;
  else if (tenant) {
    const outcome = await reserveQuota(scope.store, tenant, identified.user, {
      usd: admission.worstCaseUsd,
      tokens: admission.inputTokens + admission.outputTokens,
    });
    if (outcome.kind === "admitted") {
      state.quota = outcome.holds;
      plan.decision.quota = describeAdmitted(tenant.name, admission, outcome.warnings);
      for (const warning of outcome.warnings)
        escalate({ rule: warning.limit, kinds: ["budget"], action: "escalate" });
    } else {
      const reached = describeRefusal(tenant.name, outcome.refusal);
      const downgrade = tenant.onLimit.kind === "downgrade" ? tenant.onLimit.route : undefined;
      const downgraded = downgrade === undefined ? undefined : planOnRoute(state, scope, downgrade);
      if (!downgraded) {
        plan.decision.quota = reached;
        throw new QuotaExceededError(
          `${reached}; retry in ${Math.ceil(outcome.refusal.retryAfterMs / 1000)} s`,
          plan.decision,
          { ...outcome.refusal, tenant: tenant.name },
        );
      }
      plan = downgraded;
      plan.decision.quota = `${reached}; downgraded to route "${downgrade}"`;
      state.plan = plan;
      // The new route's targets are judged again (residency, redaction, tools); its escalations
      // were raised already for this request.
      state.safeguards = guardRequest({
        request: identified,
        classification: need(state.classification, "the classification"),
        plan,
        policy,
        dryRun: false,
        escalate: () => {},
      });
      admission = await admit(identified, plan, policy, tenant);
      state.quota = countOnly(tenant, identified.user);
    }
  }
  plan.decision.maxTokens = admission.maxTokens ?? 0;
  state.admission = admission;
}

/**
 * The plan for serving the call on `route`, or undefined when it may not be (naming a route never
 * gets around who may use it: its data class, tenant and label conditions must hold).
 */
function planOnRoute(state: CallState, scope: CallScope, route: string): RoutingPlan | undefined {
  const identified = need(state.identified, "the identified request");
  const classification = need(state.classification, "the classification");
  try {
    return decide({ ...identified, model: route }, classification, scope.lease.policy, scope.call);
  } catch (error) {
    if (error instanceof NoRouteError || error instanceof UnknownModelError) return undefined;
    throw error;
  }
}
