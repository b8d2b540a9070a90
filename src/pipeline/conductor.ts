import type { StreamEvent } from "../core/types.js";
import type { CallScope, CallState, Step } from "./call-state.js";

/**
 * Runs `steps` in order over one call: the one place where "before and after each step"
 * happens (the scope's observer is told of each). Events a step produces are passed through to
 * the caller as they come. In a dry run, steps with effects are skipped.
 *
 * When a step throws, or the caller stops iterating (a stream abandoned mid-answer), the
 * remaining steps marked `always` (settle, record) still run, so every call is accounted for;
 * then the error is rethrown. A failure inside those steps at that point is logged, never raised
 * over the call's own outcome; in the ordinary path it fails the call like any step's.
 */
export async function* conduct(
  steps: readonly Step[],
  state: CallState,
  scope: CallScope,
): AsyncGenerator<StreamEvent, void> {
  let next = 0;
  let completed = false;
  try {
    while (next < steps.length) {
      const step = steps[next++] as Step;
      if (scope.dryRun && step.effects) continue;
      const end = observe(step, state, scope);
      let error: unknown;
      try {
        const result = step.run(state, scope);
        if (result !== undefined) {
          if (Symbol.asyncIterator in result) yield* result;
          else await result;
        }
      } catch (thrown) {
        error = thrown;
        throw thrown;
      } finally {
        // Also when the caller stopped iterating midway: a step's span always ends.
        end(error);
      }
    }
    completed = true;
  } catch (error) {
    state.failure = error;
    throw error;
  } finally {
    if (!completed) await account(steps.slice(next), state, scope);
  }
}

/** The `always` steps after a failure or an abandoned stream; they send nothing to the caller. */
async function account(rest: readonly Step[], state: CallState, scope: CallScope): Promise<void> {
  if (state.failure === undefined) state.abandoned = true;
  for (const step of rest) {
    if (!step.always || (scope.dryRun && step.effects)) continue;
    const end = observe(step, state, scope);
    try {
      const result = step.run(state, scope);
      if (result !== undefined) {
        if (Symbol.asyncIterator in result) for await (const _ of result);
        else await result;
      }
      end();
    } catch (error) {
      end(error);
      scope.logger.error({ err: error, step: step.name, traceId: scope.call.traceId }, "step failed");
    }
  }
}

/** Tells the observer a step starts; the returned function tells it the step ended (with what it threw). */
function observe(step: Step, state: CallState, scope: CallScope): (error?: unknown) => void {
  const started = scope.clock.now();
  scope.observer.stepStarted(step.name, scope);
  return (error) =>
    scope.observer.stepEnded(
      step.name,
      scope,
      { durationMs: scope.clock.now() - started, ...(error !== undefined && { error }) },
      state,
    );
}
