import type { Logger } from "pino";
import type { Decision } from "../core/types.js";
import type { DecisionLog } from "./decision-log.js";

/**
 * Writes the decision to the decision log and one structured log line. The line carries the
 * decision and usage only: no prompt or output text reaches a log line (the logging policy,
 * once it lands, decides what of those may be stored and where). A dry run records nothing.
 */
export function recordDecision(
  decisionLog: DecisionLog,
  logger: Logger,
  decision: Decision,
  outcome: string,
): void {
  if (decision.dryRun) return;
  decisionLog.add(decision, outcome);
  // The line is built only when it will be written (LOG_LEVEL=warn skips it on every call).
  if (!logger.isLevelEnabled("info")) return;
  logger.info(
    {
      traceId: decision.traceId,
      callId: decision.callId,
      route: decision.route,
      target: decision.target,
      task: decision.task,
      dataClass: decision.dataClass,
      tenant: decision.tenant,
      policyVersion: decision.policyVersion,
      degraded: decision.degraded,
      costUsd: decision.costUsd,
      attempts: decision.attempts.map((attempt) => ({
        target: attempt.target,
        outcome: attempt.outcome,
        latencyMs: Math.round(attempt.latencyMs * 100) / 100,
        errorClass: attempt.errorClass,
        inputTokens: attempt.usage?.inputTokens,
        outputTokens: attempt.usage?.outputTokens,
        estimated: attempt.usage?.estimated,
      })),
      outcome,
    },
    "decision",
  );
}
