import type { Logger } from "pino";
import { admit } from "../admit/admit.js";
import { classify } from "../classify/classify.js";
import type { PolicyStore } from "../config/policy-store.js";
import { decide, type RoutingPlan } from "../decide/decide.js";
import { executeStream } from "../execute/execute-stream.js";
import { executeUnary } from "../execute/execute-unary.js";
import { identify } from "../identify/identify.js";
import type { DecisionLog } from "../record/decision-log.js";
import { recordDecision } from "../record/record.js";
import { costOf } from "../settle/settle.js";
import { DecidedError } from "./errors.js";
import { usdFromPico } from "./money.js";
import {
  type CallContext,
  type ClassifyResult,
  type LlmRequest,
  type RouteResult,
  type StreamEvent,
  targetId,
} from "./types.js";

export interface PipelineDeps {
  policies: PolicyStore;
  decisions: DecisionLog;
  logger: Logger;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

/** identify → classify → decide → guard → admit → execute → settle → record, over domain types. */
export interface Pipeline {
  /** Answers one request. Throws the typed errors of core/errors.ts (after-decision ones carry the decision). */
  route(request: LlmRequest, call: CallContext): Promise<RouteResult>;
  /** The decision first, then deltas, attempt and budget events, then done; errors are thrown. */
  stream(request: LlmRequest, call: CallContext): AsyncGenerator<StreamEvent, void>;
  /** What the request is and the decision Route would take. Nothing is sent anywhere. */
  classify(request: LlmRequest, call: Pick<CallContext, "traceId">): ClassifyResult;
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  const now = deps.now ?? (() => performance.now());
  const log = deps.logger.child({ component: "pipeline" });

  function plan(request: LlmRequest, traceId: string, policy: ReturnType<PolicyStore["current"]>) {
    const identified = identify(request, policy);
    const classification = classify(identified, policy);
    const routing = decide(identified, classification, policy, traceId);
    const admission = admit(identified, routing.route, policy);
    routing.decision.maxTokens = admission.maxTokens ?? 0;
    return { identified, classification, routing, admission };
  }

  function settle(
    routing: RoutingPlan,
    target: RoutingPlan["eligible"][number] | undefined,
    usage: RouteResult["usage"],
    policy: ReturnType<PolicyStore["current"]>,
  ): number {
    const cost = target ? usdFromPico(costOf(target, usage, policy)) : 0;
    routing.decision.target = target ? targetId(target) : "";
    routing.decision.costUsd = cost;
    return cost;
  }

  function recordFailure(error: unknown): void {
    if (error instanceof DecidedError)
      recordDecision(deps.decisions, log, error.decision, { status: "error", errorName: error.name });
  }

  return {
    async route(request, call) {
      const lease = deps.policies.acquire();
      try {
        const { identified, routing, admission } = plan(request, call.traceId, lease.policy);
        const outcome = await executeUnary({
          request: identified,
          plan: routing,
          admission,
          lease,
          signal: call.signal,
          now,
          logger: log,
        });
        const { completion } = outcome;
        const costUsd = settle(routing, outcome.target, completion.usage, lease.policy);
        recordDecision(deps.decisions, log, routing.decision, { status: "ok", ...completion.usage });
        return {
          message: {
            role: "assistant",
            content: completion.content,
            ...(completion.toolCalls.length > 0 && { toolCalls: completion.toolCalls }),
          },
          finishReason: completion.finishReason,
          usage: completion.usage,
          costUsd,
          decision: routing.decision,
        };
      } catch (error) {
        recordFailure(error);
        throw error;
      } finally {
        lease.release();
      }
    },

    async *stream(request, call) {
      const lease = deps.policies.acquire();
      let routing: RoutingPlan | undefined;
      let progress: ReturnType<typeof executeStream> | undefined;
      let recorded = false;
      try {
        const planned = plan(request, call.traceId, lease.policy);
        routing = planned.routing;
        yield { type: "decision", decision: structuredClone(routing.decision) };
        progress = executeStream({
          request: planned.identified,
          plan: routing,
          admission: planned.admission,
          lease,
          signal: call.signal,
          now,
          logger: log,
        });
        let step = await progress.next();
        while (!step.done) {
          yield step.value;
          step = await progress.next();
        }
        const outcome = step.value;
        const costUsd = settle(routing, outcome.target, outcome.usage, lease.policy);
        recordDecision(deps.decisions, log, routing.decision, { status: "ok", ...outcome.usage });
        recorded = true;
        yield {
          type: "done",
          finishReason: outcome.finishReason,
          usage: outcome.usage,
          costUsd,
          decision: structuredClone(routing.decision),
        };
      } catch (error) {
        recorded = true;
        recordFailure(error);
        throw error;
      } finally {
        // The caller left while a delta waited for it: the generator is being returned, not thrown into.
        if (!recorded && routing)
          recordDecision(deps.decisions, log, routing.decision, { status: "error", errorName: "Cancelled" });
        await progress?.return(undefined as never);
        lease.release();
      }
    },

    classify(request, call) {
      const policy = deps.policies.current();
      const { classification, routing } = plan(request, call.traceId, policy);
      routing.decision.dryRun = true;
      // Route would try this one first; whether it answers is only known by sending.
      const first = routing.eligible[0];
      routing.decision.target = first ? targetId(first) : "";
      return {
        task: classification.task,
        dataClass: classification.dataClass,
        entities: classification.entities,
        decision: routing.decision,
      };
    },
  };
}
