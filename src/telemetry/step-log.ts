import type { Logger } from "pino";
import type { StepObserver } from "../pipeline/call-state.js";

/**
 * A debug line per pipeline step (name, duration, whether it threw), for finding where a call's
 * time went; tracing hangs spans on the same hooks. Never logs request or answer text.
 */
export function logStepTimings(logger: Logger): StepObserver {
  const log = logger.child({ component: "pipeline" });
  return {
    stepStarted() {},
    stepEnded(step, scope, outcome) {
      log.debug(
        {
          traceId: scope.call.traceId,
          callId: scope.call.callId,
          step,
          durationMs: Math.round(outcome.durationMs * 1000) / 1000,
          ...(outcome.error !== undefined && {
            error: outcome.error instanceof Error ? outcome.error.name : typeof outcome.error,
          }),
        },
        "step",
      );
    },
  };
}
