import type { Admission } from "../admit/admit.js";
import type { PolicyLease } from "../config/policy-store.js";
import { AllTargetsFailedError, NoEligibleTargetError } from "../core/errors.js";
import { type Attempt, type Decision, targetId } from "../core/types.js";
import type { RoutingPlan } from "../decide/decide.js";
import { guardAttempt } from "../guard/guard.js";
import type { IdentifiedRequest } from "../identify/identify.js";
import type { ProviderError } from "../providers/provider-error.js";
import type { Completion } from "../providers/types.js";
import { attemptFailure } from "./attempt-failure.js";
import { startBudgetTimer } from "./budget-timer.js";
import { providerCall } from "./provider-call.js";

export interface ExecuteInput {
  request: IdentifiedRequest;
  plan: RoutingPlan;
  admission: Admission;
  lease: PolicyLease;
  /** The caller's signal: cancellation or deadline. */
  signal: AbortSignal;
  /** Monotonic milliseconds. */
  now: () => number;
}

export interface UnaryOutcome {
  completion: Completion;
  /** The target that answered; undefined when the answer is the route's degraded one. */
  target?: RoutingPlan["eligible"][number];
}

/**
 * Tries the eligible targets in order until one answers. Moves on only after a retryable
 * failure (DESIGN invariant 5) while the caller is still waiting and the route's total budget
 * lasts; records every attempt in `plan.decision`. Throws NoEligibleTargetError or
 * AllTargetsFailedError (both carrying the decision) when nothing answers and the route has
 * no degraded answer.
 */
export async function executeUnary(input: ExecuteInput): Promise<UnaryOutcome> {
  const { plan, now } = input;
  const decision = plan.decision;
  const totalBudget = new AbortController();
  const total = startBudgetTimer(
    totalBudget,
    plan.route.budgets.maxLatencyMs,
    () => `route budget max_latency_ms=${plan.route.budgets.maxLatencyMs} exhausted`,
  );
  const requestSignal = AbortSignal.any([input.signal, totalBudget.signal]);
  let lastFailure: ProviderError | undefined;
  try {
    for (const target of plan.eligible) {
      if (requestSignal.aborted) break;
      const verdict = guardAttempt(target, decision.dataClass, input.lease);
      if (!verdict.allowed) {
        decision.attempts.push(refusedAttempt(targetId(target), verdict.reason));
        continue;
      }
      const started = now();
      try {
        const completion = await verdict.adapter.complete(
          providerCall(input.request, input.admission, target.model, requestSignal),
        );
        decision.attempts.push({
          target: targetId(target),
          outcome: "succeeded",
          latencyMs: now() - started,
        });
        return { completion, target };
      } catch (error) {
        lastFailure = attemptFailure(error, requestSignal, input.signal);
        decision.attempts.push(failedAttempt(targetId(target), lastFailure, now() - started));
        if (!lastFailure.retryable) break;
      }
    }
  } finally {
    total.clear();
  }
  return degradeOrThrow(plan, lastFailure);
}

export function refusedAttempt(target: string, reason: string): Attempt {
  return {
    target,
    outcome: "refused",
    latencyMs: 0,
    errorClass: "policy",
    message: reason,
    retryable: false,
  };
}

export function failedAttempt(target: string, failure: ProviderError, latencyMs: number): Attempt {
  return {
    target,
    outcome: failure.errorClass === "cancelled" ? "cancelled" : "failed",
    latencyMs,
    errorClass: failure.errorClass,
    message: failure.message,
    retryable: failure.retryable,
  };
}

/**
 * After every target failed: the route's fixed answer when the failures were of the kind that
 * a retry could have fixed (never for the caller's cancellation or a bad request), else the error.
 */
export function degradeOrThrow(plan: RoutingPlan, lastFailure: ProviderError | undefined): UnaryOutcome {
  const decision: Decision = plan.decision;
  const answer = plan.route.degradeAnswer;
  if (answer !== undefined && lastFailure?.retryable === true) {
    decision.degraded = true;
    return {
      completion: {
        content: answer,
        toolCalls: [],
        finishReason: "degraded",
        usage: { inputTokens: 0, outputTokens: 0 },
      },
    };
  }
  if (!lastFailure) {
    const reasons = decision.candidates
      .filter((candidate) => !candidate.eligible)
      .map((candidate) => `${candidate.target}: ${candidate.reason}`);
    const refusals = decision.attempts.map((attempt) => `${attempt.target}: ${attempt.message}`);
    throw new NoEligibleTargetError(
      `route "${decision.route}" has no target this request may be sent to (${[...reasons, ...refusals].join("; ")})`,
      decision,
    );
  }
  throw new AllTargetsFailedError(
    `no target of route "${decision.route}" answered; last failure: ${lastFailure.message}`,
    decision,
    lastFailure.errorClass,
    lastFailure.retryAfterMs,
    { cause: lastFailure },
  );
}
