import { randomUUID } from "node:crypto";
import {
  type Attributes,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  ATTR_ERROR_TYPE,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
} from "@opentelemetry/semantic-conventions/incubating";
import type { Policy } from "../core/policy.js";
import type { Attempt, Decision, Usage } from "../core/types.js";
import type { CallScope, CallState, StepName, StepObserver } from "../pipeline/call-state.js";
import { providerKind } from "../providers/registry.js";

/** The instrumentation scope of every span and log record Switchyard writes. */
export const INSTRUMENTATION_SCOPE = "switchyard";

/**
 * Spans for every call: one per call (opened by the front door, continuing the caller's W3C
 * `traceparent`), a child per pipeline step, and under `execute` a child per attempt (retries
 * and hedges included; tool calls the answer asked for are events on the attempt that wrote
 * them). Attributes follow the OpenTelemetry GenAI conventions, plus the decision's route, data
 * class, detected kinds (never values), cost and tenant. Prompt and output text appear only as
 * the logging policy allows, built by the record step through telemetry/logging-policy.ts;
 * error descriptions are error names and codes, never text a caller or provider wrote.
 *
 * Spans go to `tracer`: the global one exports them when the OTEL_* variables configure an
 * exporter (telemetry/otel-export.ts); without one they are not recorded and cost next to
 * nothing, though the trace id is still continued.
 */
export interface Tracing {
  /** Opens the span of one call; its trace id is the call's (the caller's, or a new one). */
  startCall(name: string, header: (name: string) => string | undefined, attributes: Attributes): CallSpan;
  /** Hangs step and attempt spans under the call's span and fills in the call span's attributes. */
  readonly steps: StepObserver;
}

export interface CallSpan {
  span: Span;
  /** W3C trace id (32 lowercase hex). */
  traceId: string;
}

/** How a call ended, as its door tells it. */
export interface CallEnding {
  /** What the door answered, as span attributes (`rpc.grpc.status_code`, `http.response.status_code`). */
  attributes?: Attributes;
  /** Set when the call failed: the error's class name and whether it is the server's fault. */
  error?: { type: string; description: string; serverFault: boolean };
}

export function endCallSpan(span: Span, ending: CallEnding): void {
  if (ending.attributes) span.setAttributes(ending.attributes);
  if (ending.error) {
    span.setAttribute(ATTR_ERROR_TYPE, ending.error.type);
    // The conventions: a server span is an error only for the server's own faults.
    if (ending.error.serverFault)
      span.setStatus({ code: SpanStatusCode.ERROR, message: ending.error.description });
  }
  span.end();
}

const propagator = new W3CTraceContextPropagator();

export function createTracing(tracer: Tracer = trace.getTracer(INSTRUMENTATION_SCOPE)): Tracing {
  /** The spans of a call's steps (and when each began), for the attempts to hang under `execute`. */
  const stepSpans = new WeakMap<CallScope, Map<StepName, StepSpan>>();

  return {
    startCall(name, header, attributes) {
      const getter: TextMapGetter<undefined> = { keys: () => [], get: (_, key) => header(key) };
      const parent = propagator.extract(ROOT_CONTEXT, undefined, getter);
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      const { traceId } = span.spanContext();
      // Unrecorded and without a valid caller's trace, the span has the all-zero id.
      const valid = /^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId);
      // randomUUID draws from a batched entropy pool; its 122 random bits are plenty.
      return { span, traceId: valid ? traceId : randomUUID().replaceAll("-", "") };
    },

    steps: {
      stepStarted(step, scope) {
        const parent = scope.call.span;
        if (!parent?.isRecording()) return;
        const startedAt = performance.now();
        const span = tracer.startSpan(
          `switchyard.${step}`,
          { kind: SpanKind.INTERNAL },
          trace.setSpan(ROOT_CONTEXT, parent),
        );
        const spans = stepSpans.get(scope) ?? new Map<StepName, StepSpan>();
        stepSpans.set(scope, spans);
        spans.set(step, { span, startedAt });
      },

      stepEnded(step, scope, outcome, state) {
        const span = stepSpans.get(scope)?.get(step)?.span;
        if (!span) return;
        if (outcome.error !== undefined) {
          const type = errorName(outcome.error);
          span.setAttribute(ATTR_ERROR_TYPE, type);
          span.setStatus({ code: SpanStatusCode.ERROR, message: type });
        }
        span.end();
        const call = scope.call.span;
        if (!call) return;
        const decision = state.plan?.decision;
        if (step === "decide" && decision) call.setAttributes(decisionAttributes(decision, state));
        if (step === "record" && decision) {
          call.setAttributes(decisionAttributes(decision, state));
          call.setAttributes(outcomeAttributes(decision, state, scope.lease.policy));
          const executed = stepSpans.get(scope)?.get("execute");
          if (executed) traceAttempts(tracer, executed, decision, state, scope.lease.policy);
        }
      },
    },
  };
}

/** What the call is and where it was routed: known once decide has run. */
function decisionAttributes(decision: Decision, state: Readonly<CallState>): Attributes {
  return {
    [ATTR_GEN_AI_OPERATION_NAME]: "chat",
    ...(state.request.model !== undefined && { [ATTR_GEN_AI_REQUEST_MODEL]: state.request.model }),
    "switchyard.call_id": decision.callId,
    "switchyard.route": decision.route,
    "switchyard.rule": decision.rule,
    "switchyard.task": decision.task,
    "switchyard.data_class": decision.dataClass,
    "switchyard.data_class.declared": decision.declaredDataClass,
    "switchyard.detected_kinds": decision.findings.map((finding) => finding.kind),
    "switchyard.tenant": decision.tenant,
    "switchyard.policy_version": decision.policyVersion,
    ...(decision.maxTokens > 0 && { [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: decision.maxTokens }),
    ...(decision.refusal !== "" && { "switchyard.refusal": decision.refusal }),
  };
}

/** What came of it: known once record has run. */
function outcomeAttributes(decision: Decision, state: Readonly<CallState>, policy: Policy): Attributes {
  const usage = state.settlement?.usage;
  const text = state.loggableText?.();
  return {
    ...(decision.target !== "" && {
      "switchyard.target": decision.target,
      ...providerAttributes(decision.target, policy),
      [ATTR_GEN_AI_RESPONSE_MODEL]: modelOf(decision.target),
    }),
    "switchyard.cost_usd": decision.costUsd,
    "switchyard.attempts": decision.attempts.length,
    "switchyard.degraded": decision.degraded,
    ...(decision.degradeRung !== "" && { "switchyard.degrade_rung": decision.degradeRung }),
    ...(decision.outputFindings.length > 0 && {
      "switchyard.output_detected_kinds": decision.outputFindings.map((finding) => finding.kind),
    }),
    ...(state.outcome !== undefined && { "switchyard.outcome": outcomeWord(state.outcome) }),
    ...(usage && usageAttributes(usage)),
    ...(state.execution && { [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: [state.execution.finishReason] }),
    ...(text?.prompt && { [ATTR_GEN_AI_INPUT_MESSAGES]: JSON.stringify(text.prompt) }),
    ...(text?.output && { [ATTR_GEN_AI_OUTPUT_MESSAGES]: JSON.stringify([text.output]) }),
  };
}

interface StepSpan {
  span: Span;
  /**
   * When the step began, on performance.now(): the SDK turns such times into its own (Date-
   * anchored) ones, so the attempts' spans line up with the spans it timed itself.
   */
  startedAt: number;
}

/**
 * A span per attempt that was sent, under `execute`, at the times the decision records (so
 * concurrent hedges overlap as they did); attempts never sent are events on `execute`.
 */
function traceAttempts(
  tracer: Tracer,
  executed: StepSpan,
  decision: Decision,
  state: Readonly<CallState>,
  policy: Policy,
): void {
  const parent = trace.setSpan(ROOT_CONTEXT, executed.span);
  const answeredBy = state.execution?.answeredBy;
  decision.attempts.forEach((attempt, index) => {
    if (attempt.startedMs === undefined) {
      executed.span.addEvent("switchyard.attempt.not_sent", {
        "switchyard.target": attempt.target,
        "switchyard.attempt.outcome": attempt.outcome,
        ...(attempt.message !== undefined && { "switchyard.attempt.reason": attempt.message }),
      });
      return;
    }
    const startTime = executed.startedAt + attempt.startedMs;
    const span = tracer.startSpan(
      `chat ${modelOf(attempt.target)}`,
      { kind: SpanKind.CLIENT, startTime, attributes: attemptAttributes(attempt, policy) },
      parent,
    );
    if (index === answeredBy && state.execution) {
      span.setAttribute(ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [state.execution.finishReason]);
      toolCallEvents(span, state, startTime + attempt.latencyMs);
    }
    if (attempt.outcome !== "succeeded") {
      const type = attempt.errorClass ?? attempt.outcome;
      span.setAttribute(ATTR_ERROR_TYPE, type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
    }
    span.end(startTime + attempt.latencyMs);
  });
}

function attemptAttributes(attempt: Attempt, policy: Policy): Attributes {
  return {
    [ATTR_GEN_AI_OPERATION_NAME]: "chat",
    ...providerAttributes(attempt.target, policy),
    [ATTR_GEN_AI_REQUEST_MODEL]: modelOf(attempt.target),
    ...(attempt.outcome === "succeeded" && { [ATTR_GEN_AI_RESPONSE_MODEL]: modelOf(attempt.target) }),
    "switchyard.target": attempt.target,
    "switchyard.attempt.outcome": attempt.outcome,
    ...(attempt.usage && usageAttributes(attempt.usage)),
    ...(attempt.costUsd !== undefined && { "switchyard.cost_usd": attempt.costUsd }),
    ...(attempt.retry !== undefined && { "switchyard.attempt.retry": attempt.retry }),
    ...(attempt.hedge && { "switchyard.attempt.hedge": true }),
    ...(attempt.continues && { "switchyard.attempt.continues": true }),
    ...(attempt.budgetMs !== undefined && { "switchyard.attempt.first_token_budget_ms": attempt.budgetMs }),
    ...(attempt.firstTokenMs !== undefined && { "switchyard.attempt.first_token_ms": attempt.firstTokenMs }),
    ...(attempt.retryAfterMs !== undefined && { "switchyard.attempt.retry_after_ms": attempt.retryAfterMs }),
    ...(attempt.redacted !== undefined && { "switchyard.attempt.redacted": attempt.redacted }),
  };
}

/** The answer's tool calls, as the conventions' events; arguments only as the logging policy keeps them. */
function toolCallEvents(span: Span, state: Readonly<CallState>, at: number): void {
  const calls = state.execution?.message.toolCalls ?? [];
  if (calls.length === 0) return;
  const logged = state.loggableText?.().output?.toolCalls;
  calls.forEach((call, index) => {
    const arguments_ = logged?.[index]?.arguments;
    span.addEvent(
      "gen_ai.tool.call",
      {
        [ATTR_GEN_AI_TOOL_CALL_ID]: call.id,
        ...(logged?.[index] && { [ATTR_GEN_AI_TOOL_NAME]: logged[index].name }),
        ...(arguments_ !== undefined && { [ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: arguments_ }),
      },
      at,
    );
  });
}

function usageAttributes(usage: Usage): Attributes {
  return {
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage.inputTokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage.outputTokens,
    ...(usage.cachedInputTokens !== undefined && {
      [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: usage.cachedInputTokens,
    }),
    ...(usage.cacheWriteInputTokens !== undefined && {
      [ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS]: usage.cacheWriteInputTokens,
    }),
    ...(usage.estimated && { "switchyard.usage.estimated": true }),
  };
}

/** `gen_ai.provider.name` from the provider's wire, and the policy's name for the provider. */
function providerAttributes(target: string, policy: Policy): Attributes {
  const provider = target.slice(0, target.indexOf("/"));
  const kind = policy.providers.get(provider)?.kind;
  const name = kind === undefined ? undefined : providerKind(kind)?.genAiProviderName;
  return {
    ...(name !== undefined && { [ATTR_GEN_AI_PROVIDER_NAME]: name }),
    "switchyard.provider": provider,
  };
}

function modelOf(target: string): string {
  return target.slice(target.indexOf("/") + 1);
}

/** `ok`, `abandoned`, or the error's name: the record's outcome without its sentence. */
function outcomeWord(outcome: string): string {
  return outcome.split(/[\s:(]/, 1)[0] ?? outcome;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
