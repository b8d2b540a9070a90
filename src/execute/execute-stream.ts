import { StreamInterruptedError } from "../core/errors.js";
import type { RouteBudgets, RouteTarget } from "../core/policy.js";
import { type BudgetStep, type FinishReason, type StreamEvent, targetId, type Usage } from "../core/types.js";
import { guardAttempt } from "../guard/guard.js";
import { ProviderError } from "../providers/provider-error.js";
import type { StreamPart } from "../providers/types.js";
import { attemptFailure } from "./attempt-failure.js";
import {
  degradeOrThrow,
  type ExecuteInput,
  failedAttempt,
  refusedAttempt,
  startRequestBudget,
} from "./attempts.js";
import { type BudgetTimer, startBudgetTimer } from "./budget-timer.js";
import { providerCall } from "./provider-call.js";

export interface StreamOutcome {
  finishReason: FinishReason;
  usage: Usage;
  target?: RouteTarget;
}

type ProgressEvent = Exclude<StreamEvent, { type: "decision" } | { type: "done" }>;
type BudgetEvent = Extract<StreamEvent, { type: "budget" }>;

/**
 * Streams from the eligible targets in order. Before the first token, a retryable failure (or
 * the route's first-token budget running out) moves on to the next target and is reported as
 * an `attempt` event; once a token has reached the caller the stream is never restarted on
 * another model (DESIGN invariant 5): a later failure throws StreamInterruptedError. Budget
 * events report the first token, any budget exceeded, and at the end the largest gap between
 * tokens and the total.
 *
 * The gap budget measures the provider, not the caller: it does not run while a delta waits for
 * the caller to take it. The provider's end marker ends the attempt: whatever happens to the
 * connection afterwards does not undo a complete answer.
 */
export async function* executeStream(input: ExecuteInput): AsyncGenerator<ProgressEvent, StreamOutcome> {
  const { plan, now } = input;
  const decision = plan.decision;
  const budgets = plan.route.budgets;
  const requestStarted = now();
  const budget = startRequestBudget(input);
  let lastFailure: ProviderError | undefined;
  try {
    for (const target of plan.eligible) {
      if (budget.signal.aborted) break;
      const id = targetId(target);
      const verdict = guardAttempt(target, decision.dataClass, input.lease);
      if (!verdict.allowed) {
        const attempt = refusedAttempt(id, verdict.reason);
        decision.attempts.push(attempt);
        yield { type: "attempt", attempt };
        continue;
      }

      const attemptStarted = now();
      const attemptBudget = new AbortController();
      const attemptSignal = AbortSignal.any([budget.signal, attemptBudget.signal]);
      const firstToken = startBudgetTimer(
        attemptBudget,
        budgets.firstTokenMs,
        () => `no first token within first_token_ms=${budgets.firstTokenMs}`,
      );
      let started = false;
      let gap: BudgetTimer | undefined;
      let lastTokenAt = attemptStarted;
      let largestGap = 0;
      let usage: Usage | undefined;
      let finishReason: FinishReason | undefined;
      let failure: ProviderError | undefined;
      try {
        const parts = verdict.adapter.stream(
          providerCall(input.request, input.admission, target.model, attemptSignal),
        );
        for await (const part of parts) {
          if (part.type === "usage") usage = part.usage;
          else if (part.type === "response-end") {
            finishReason = part.finishReason;
            usage = part.usage ?? usage;
            // The answer is whole: nothing after the end marker may turn it into a failure.
            break;
          } else {
            const at = now();
            if (!started) {
              started = true;
              firstToken.stop();
              decision.target = id;
              yield budgetEvent("first_token", at - attemptStarted, budgets, false);
            } else {
              largestGap = Math.max(largestGap, at - lastTokenAt);
              // The caller's pace is not the provider's: no gap is counted while a delta waits.
              gap?.stop();
            }
            yield toDelta(part);
            lastTokenAt = now();
            // The gap budget only starts counting once the answer has begun.
            if (gap) gap.restart();
            else
              gap = startBudgetTimer(
                attemptBudget,
                budgets.maxTokenGapMs,
                () => `no token within max_token_gap_ms=${budgets.maxTokenGapMs}`,
              );
          }
        }
      } catch (error) {
        failure = attemptFailure(error, attemptSignal, input.signal, input.logger);
      } finally {
        firstToken.stop();
        gap?.stop();
      }
      if (failure === undefined && finishReason !== undefined) {
        decision.attempts.push({ target: id, outcome: "succeeded", latencyMs: now() - attemptStarted });
        yield budgetEvent("token_gap", largestGap, budgets, false);
        yield budgetEvent("total", now() - requestStarted, budgets, false);
        return { finishReason, usage: usage ?? { inputTokens: 0, outputTokens: 0 }, target };
      }
      failure ??= new ProviderError("protocol", "the provider's stream ended without its end marker");
      lastFailure = failure;
      const attempt = failedAttempt(id, failure, now() - attemptStarted);
      decision.attempts.push(attempt);
      const at = now();
      if (firstToken.expired) yield budgetEvent("first_token", at - attemptStarted, budgets, true);
      else if (gap?.expired) yield budgetEvent("token_gap", at - lastTokenAt, budgets, true);
      else if (budget.total.expired) yield budgetEvent("total", at - requestStarted, budgets, true);
      if (started)
        throw new StreamInterruptedError(
          `the stream from ${id} failed after it had started (${failure.message}); it is not restarted on another model`,
          decision,
          failure.errorClass,
          { cause: failure },
        );
      yield { type: "attempt", attempt };
      if (!failure.retryable) break;
    }
  } finally {
    budget.total.stop();
  }
  const degraded = degradeOrThrow(input, budget, lastFailure);
  yield { type: "delta", content: degraded.completion.content, toolCalls: [] };
  return { finishReason: degraded.completion.finishReason, usage: degraded.completion.usage };
}

function budgetEvent(
  step: BudgetStep,
  elapsedMs: number,
  budgets: RouteBudgets,
  exceeded: boolean,
): BudgetEvent {
  const limit =
    step === "first_token"
      ? budgets.firstTokenMs
      : step === "token_gap"
        ? budgets.maxTokenGapMs
        : budgets.maxLatencyMs;
  return { type: "budget", step, elapsedMs, limitMs: limit ?? 0, exceeded };
}

function toDelta(part: Exclude<StreamPart, { type: "usage" } | { type: "response-end" }>): ProgressEvent {
  if (part.type === "text-delta") return { type: "delta", content: part.delta, toolCalls: [] };
  return {
    type: "delta",
    content: "",
    toolCalls: [
      {
        index: part.index,
        argumentsDelta: part.argumentsDelta,
        ...(part.id !== undefined && { id: part.id }),
        ...(part.name !== undefined && { name: part.name }),
      },
    ],
  };
}
