import type { Logger } from "pino";
import type { Admission } from "../admit/admit.js";
import type { PolicyLease } from "../config/policy-store.js";
import { AllTargetsFailedError, NoEligibleTargetError } from "../core/errors.js";
import type { RouteTarget } from "../core/policy.js";
import type { Attempt } from "../core/types.js";
import type { RoutingPlan } from "../decide/decide.js";
import type { IdentifiedRequest } from "../identify/identify.js";
import type { ProviderError } from "../providers/provider-error.js";
import type { Completion } from "../providers/types.js";
import { attemptFailure } from "./attempt-failure.js";
import { type BudgetTimer, startBudgetTimer } from "./budget-timer.js";

/** What both executors (unary and stream) work from. */
export interface ExecuteInput {
  request: IdentifiedRequest;
  plan: RoutingPlan;
  admission: Admission;
  lease: PolicyLease;
  /** The caller's signal: cancellation or deadline. */
  signal: AbortSignal;
  /** Monotonic milliseconds. */
  now: () => number;
  logger: Logger;
}

/** The request-wide clock: the caller's signal joined with the route's total budget. */
export interface RequestBudget {
  signal: AbortSignal;
  total: BudgetTimer;
}

export function startRequestBudget(input: ExecuteInput): RequestBudget {
  const { maxLatencyMs } = input.plan.route.budgets;
  const controller = new AbortController();
  const total = startBudgetTimer(
    controller,
    maxLatencyMs,
    () => `route budget max_latency_ms=${maxLatencyMs} exhausted`,
  );
  return { signal: AbortSignal.any([input.signal, controller.signal]), total };
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

export interface FinalOutcome {
  completion: Completion;
  /** The target that answered; undefined when the answer is the route's degraded one. */
  target?: RouteTarget;
}

/**
 * After the attempts ran out: the route's fixed answer when the last failure was of the kind a
 * retry could have fixed (never for the caller's cancellation or a bad request), else the error.
 * When the attempts stopped because the caller went away or the total budget ran out, that is
 * the failure reported, whatever came before it.
 */
export function degradeOrThrow(
  input: ExecuteInput,
  budget: RequestBudget,
  lastFailure: ProviderError | undefined,
): FinalOutcome {
  const { plan } = input;
  const decision = plan.decision;
  let failure = lastFailure;
  if (budget.signal.aborted && (failure === undefined || failure.retryable))
    failure = attemptFailure(budget.signal.reason, budget.signal, input.signal, input.logger);

  const answer = plan.route.degradeAnswer;
  if (answer !== undefined && failure?.retryable === true) {
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
  if (!failure) {
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
    `no target of route "${decision.route}" answered; last failure: ${failure.message}`,
    decision,
    failure.errorClass,
    failure.retryAfterMs,
    { cause: failure },
  );
}
