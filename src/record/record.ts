import type { Logger } from "pino";
import type { Decision } from "../core/types.js";
import type { LoggableText } from "../telemetry/logging-policy.js";
import type { DecisionLog } from "./decision-log.js";
import type { RoutingRecord } from "./routing-record.js";

/**
 * Writes the decision to the decision log and one structured log line to `logger` (the service
 * log, or the eval sink for evaluation traffic; none when that sink discards). The line carries
 * the decision summary, usage and cost, and whatever text the logging policy allows (`text` is
 * built by telemetry/logging-policy.ts, the one module that decides it; called only when the
 * line will be written). `routing` (what replay needs to decide the call again, no text) is
 * recorded with the decision when given. A dry run records nothing.
 */
export function recordDecision(
  decisionLog: DecisionLog,
  logger: Logger | undefined,
  decision: Decision,
  outcome: string,
  text: () => LoggableText,
  routing?: () => RoutingRecord | undefined,
): void {
  if (decision.dryRun) return;
  decisionLog.add(decision, outcome, new Date(), routing?.());
  // The line is built only when it will be written (LOG_LEVEL=warn skips it on every call).
  if (!logger?.isLevelEnabled("info")) return;
  logger.info(
    {
      traceId: decision.traceId,
      callId: decision.callId,
      route: decision.route,
      target: decision.target,
      task: decision.task,
      taskInferred: decision.taskInferred,
      dataClass: decision.dataClass,
      dataClassReason: decision.dataClassReason,
      tenant: decision.tenant,
      ...(decision.user !== "" && { user: decision.user }),
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
        redacted: attempt.redacted,
      })),
      ...(decision.findings.length > 0 && { findings: decision.findings }),
      ...(decision.outputFindings.length > 0 && { outputFindings: decision.outputFindings }),
      ...(decision.withheldTools.length > 0 && { withheldTools: decision.withheldTools }),
      ...(decision.escalations.length > 0 && { escalations: decision.escalations }),
      ...(decision.refusal !== "" && { refusal: decision.refusal }),
      ...text(),
      outcome,
    },
    "decision",
  );
}
