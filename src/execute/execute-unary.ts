import { targetId } from "../core/types.js";
import { guardAttempt } from "../guard/guard.js";
import type { ProviderError } from "../providers/provider-error.js";
import { attemptFailure } from "./attempt-failure.js";
import {
  degradeOrThrow,
  type ExecuteInput,
  type FinalOutcome,
  failedAttempt,
  refusedAttempt,
  startRequestBudget,
} from "./attempts.js";
import { providerCall } from "./provider-call.js";

/**
 * Tries the eligible targets in order until one answers. Moves on only after a retryable
 * failure (DESIGN invariant 5) while the caller is still waiting and the route's total budget
 * lasts; records every attempt in `plan.decision`. Throws NoEligibleTargetError or
 * AllTargetsFailedError (both carrying the decision) when nothing answers and the route has
 * no degraded answer.
 */
export async function executeUnary(input: ExecuteInput): Promise<FinalOutcome> {
  const { plan, now } = input;
  const decision = plan.decision;
  const budget = startRequestBudget(input);
  let lastFailure: ProviderError | undefined;
  try {
    for (const target of plan.eligible) {
      if (budget.signal.aborted) break;
      const verdict = guardAttempt(target, decision.dataClass, input.lease);
      if (!verdict.allowed) {
        decision.attempts.push(refusedAttempt(targetId(target), verdict.reason));
        continue;
      }
      const started = now();
      try {
        const completion = await verdict.adapter.complete(
          providerCall(input.request, input.admission, target.model, budget.signal),
        );
        decision.attempts.push({
          target: targetId(target),
          outcome: "succeeded",
          latencyMs: now() - started,
        });
        return { completion, target };
      } catch (error) {
        lastFailure = attemptFailure(error, budget.signal, input.signal, input.logger);
        decision.attempts.push(failedAttempt(targetId(target), lastFailure, now() - started));
        if (!lastFailure.retryable) break;
      }
    }
  } finally {
    budget.total.stop();
  }
  return degradeOrThrow(input, budget, lastFailure);
}
