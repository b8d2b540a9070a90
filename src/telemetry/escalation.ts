import type { Logger } from "pino";
import type { EscalationPolicy } from "../core/policy.js";
import type { EscalationEvent } from "../guard/request-guard.js";

/** Who the event is about: ids and names, never text. */
export interface EscalationContext {
  traceId: string;
  callId: string;
  tenant: string;
  policyVersion: string;
  policy: EscalationPolicy;
}

export interface Escalations {
  /** Logs the event (warn) and, when the policy names a webhook, POSTs it there without waiting. */
  escalate(event: EscalationEvent, context: EscalationContext): void;
  /** Resolves when every webhook POST started so far has finished (shutdown, tests). */
  settled(): Promise<void>;
}

/**
 * Escalation events: a content rule tripped, a detector blocked a request, a model wrote a
 * secret. Each is one log line at warn and, optionally, a JSON POST to the policy's webhook
 * (with its timeout; a failed delivery is logged, never retried into the call's latency). The
 * event carries the trace and call ids, the rule and the kinds found, never the text.
 */
export function createEscalations(logger: Logger): Escalations {
  const log = logger.child({ component: "escalation" });
  const inFlight = new Set<Promise<void>>();
  return {
    escalate(event, context) {
      const body = {
        type: "switchyard.escalation",
        at: new Date().toISOString(),
        traceId: context.traceId,
        callId: context.callId,
        tenant: context.tenant,
        policyVersion: context.policyVersion,
        rule: event.rule,
        kinds: event.kinds,
        action: event.action,
      };
      log.warn(body, "escalation");
      const url = context.policy.webhookUrl;
      if (url === undefined) return;
      const delivery = post(url, body, context.policy.timeoutMs).then(
        (status) => {
          if (status < 200 || status >= 300)
            log.warn(
              { traceId: context.traceId, rule: event.rule, status },
              "escalation webhook refused the event",
            );
        },
        (error: unknown) => {
          log.warn(
            {
              traceId: context.traceId,
              rule: event.rule,
              error: error instanceof Error ? error.message : String(error),
            },
            "escalation webhook unreachable",
          );
        },
      );
      inFlight.add(delivery);
      void delivery.finally(() => inFlight.delete(delivery));
    },
    async settled() {
      await Promise.all([...inFlight]);
    },
  };
}

async function post(url: string, body: unknown, timeoutMs: number): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
    redirect: "error",
  });
  await response.body?.cancel();
  return response.status;
}
