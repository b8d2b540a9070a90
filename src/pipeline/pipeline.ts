import type { Logger } from "pino";
import type { PolicyStore } from "../config/policy-store.js";
import { type Clock, systemClock } from "../core/clock.js";
import type { CallContext, ClassifyResult, LlmRequest, RouteResult, StreamEvent } from "../core/types.js";
import { targetId } from "../core/types.js";
import { skippedAttempt } from "../execute/attempt-failure.js";
import { orderTargets } from "../execute/pool.js";
import { createTargetHealth, type TargetHealth } from "../health/target-health.js";
import type { DecisionLog } from "../record/decision-log.js";
import type { StateStore } from "../state/store.js";
import { createEscalations, type Escalations } from "../telemetry/escalation.js";
import { createEvalSinks, type EvalSinks } from "../telemetry/eval-sink.js";
import { type CallScope, type CallState, need, type StepObserver } from "./call-state.js";
import { conduct } from "./conductor.js";
import { createSteps } from "./steps.js";

export interface PipelineDeps {
  policies: PolicyStore;
  decisions: DecisionLog;
  store: StateStore;
  logger: Logger;
  clock?: Clock;
  /** Told before and after every step of every call (telemetry). */
  observers?: readonly StepObserver[];
  /** Escalation events (log line, webhook); made from the logger when not given. */
  escalations?: Escalations;
  /** Where evaluation traffic's log lines go; opened as the policy names them when not given. */
  evalSinks?: EvalSinks;
  /** Breakers, cooling and drills per target; a fresh one on `clock` when not given. */
  health?: TargetHealth;
  /** In [0, 1): backoff jitter; Math.random when not given. */
  random?: () => number;
}

/** The front doors' one way in: identify → classify → decide → guard → admit → execute → settle → record. */
export interface Pipeline {
  /** Answers one request. Throws the typed errors of core/errors.ts (after-decision ones carry the decision). */
  route(request: LlmRequest, call: CallContext): Promise<RouteResult>;
  /** The decision first, then deltas, attempt and budget events, then done; errors are thrown. */
  stream(request: LlmRequest, call: CallContext): AsyncGenerator<StreamEvent, void>;
  /**
   * What the request is and the decision Route would take now, targets it would skip included.
   * Runs no step with effects: nothing is sent or recorded.
   */
  classify(request: LlmRequest, call: CallContext): Promise<ClassifyResult>;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger.child({ component: "pipeline" });
  const health = deps.health ?? createTargetHealth(clock);
  const random = deps.random ?? Math.random;
  const steps = createSteps({
    decisions: deps.decisions,
    health,
    random,
    escalations: deps.escalations ?? createEscalations(logger),
    evalSinks: deps.evalSinks ?? createEvalSinks(logger),
  });
  const observer = combine(deps.observers ?? []);

  const start = (request: LlmRequest, call: CallContext, mode: { deliver: boolean; dryRun: boolean }) => {
    const lease = deps.policies.acquire();
    const state: CallState = { request, consumed: [], abandoned: false };
    const scope: CallScope = { call, clock, logger, lease, store: deps.store, observer, ...mode };
    return { lease, state, scope };
  };

  return {
    async route(request, call) {
      const { lease, state, scope } = start(request, call, { deliver: false, dryRun: false });
      try {
        // Route sends nothing while it runs: the answer is assembled.
        for await (const _ of conduct(steps, state, scope));
      } finally {
        lease.release();
      }
      const execution = need(state.execution, "the execution");
      const settlement = need(state.settlement, "the settlement");
      return {
        message: execution.message,
        finishReason: execution.finishReason,
        usage: settlement.usage,
        costUsd: settlement.costUsd,
        decision: need(state.plan, "the routing plan").decision,
      };
    },

    async *stream(request, call) {
      const { lease, state, scope } = start(request, call, { deliver: true, dryRun: false });
      try {
        yield* conduct(steps, state, scope);
        const execution = need(state.execution, "the execution");
        const settlement = need(state.settlement, "the settlement");
        yield {
          type: "done",
          finishReason: execution.finishReason,
          usage: settlement.usage,
          costUsd: settlement.costUsd,
          decision: need(state.plan, "the routing plan").decision,
        };
      } finally {
        lease.release();
      }
    },

    async classify(request, call) {
      const { lease, state, scope } = start(request, call, { deliver: false, dryRun: true });
      try {
        for await (const _ of conduct(steps, state, scope));
      } finally {
        lease.release();
      }
      const plan = need(state.plan, "the routing plan");
      const classification = need(state.classification, "the classification");
      plan.decision.dryRun = true;
      // Route would try the first target it may send to now; whether it answers is only known by
      // sending. The ones it would skip (breaker open, cooling, out of service) say why.
      // A pool is ordered as Route would order it now (its weighted pick is a draw like Route's).
      const ordered = orderTargets(
        plan,
        {
          request: need(state.identified, "the identified request"),
          admission: need(state.admission, "the admission"),
          policy: lease.policy,
        },
        (id) => health.stats(id),
        random,
      );
      plan.decision.target = "";
      for (const target of ordered) {
        const id = targetId(target);
        const why = health.unavailable(id, target.breaker);
        if (why === undefined) {
          plan.decision.target = id;
          break;
        }
        plan.decision.attempts.push(skippedAttempt(id, why));
      }
      // With every target skipped, the degrade ladder would answer.
      const degradeTo = plan.degradeTo;
      if (plan.decision.target === "" && ordered.length > 0) {
        if (degradeTo && health.unavailable(targetId(degradeTo), degradeTo.breaker) === undefined) {
          plan.decision.target = targetId(degradeTo);
          plan.decision.degradeRung = `target ${targetId(degradeTo)}`;
        } else if (plan.route.degrade.answer !== undefined) plan.decision.degradeRung = "answer";
        plan.decision.degraded = plan.decision.degradeRung !== "";
      }
      return {
        task: classification.task,
        dataClass: classification.dataClass,
        entities: classification.entities,
        decision: plan.decision,
      };
    },
  };
}

function combine(observers: readonly StepObserver[]): StepObserver {
  if (observers.length === 1 && observers[0]) return observers[0];
  return {
    stepStarted(step, scope) {
      for (const observer of observers) observer.stepStarted(step, scope);
    },
    stepEnded(step, scope, outcome, state) {
      for (const observer of observers) observer.stepEnded(step, scope, outcome, state);
    },
  };
}
