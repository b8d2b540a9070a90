import { type AnyValue, type Logger, ROOT_CONTEXT, SeverityNumber, trace } from "@opentelemetry/api";
import type { StepObserver } from "../pipeline/call-state.js";

/** The event name of the log record each recorded decision is exported as. */
export const DECISION_EVENT = "switchyard.decision";

/**
 * Exports every decision the record step wrote as an OpenTelemetry log record (event
 * `switchyard.decision`, the decision as its body in the shape the ledger keeps, tied to the
 * call's trace and span), so a central backend can hold the decisions of every replica while
 * each keeps its own ledger. A decision holds no prompt or output text (DESIGN invariant 10), so
 * the record holds none either. Dry runs record nothing and export nothing.
 */
export function exportDecisions(logger: Logger): StepObserver {
  return {
    stepStarted() {},
    stepEnded(step, scope, outcome, state) {
      const decision = state.plan?.decision;
      if (step !== "record" || outcome.error !== undefined || !decision || decision.dryRun) return;
      const span = scope.call.span;
      logger.emit({
        eventName: DECISION_EVENT,
        severityNumber: SeverityNumber.INFO,
        severityText: "INFO",
        body: JSON.parse(JSON.stringify(decision)) as AnyValue,
        attributes: {
          "switchyard.call_id": decision.callId,
          "switchyard.route": decision.route,
          "switchyard.tenant": decision.tenant,
          "switchyard.outcome": state.outcome ?? "",
        },
        ...(span && { context: trace.setSpan(ROOT_CONTEXT, span) }),
      });
    },
  };
}
