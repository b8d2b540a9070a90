import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  BudgetStep,
  type ClassifyResponseSchema,
  type RouteResponseSchema,
  type StreamResponseSchema,
} from "../../../gen/switchyard/v1/router_pb.js";
import {
  AttemptOutcome,
  type AttemptSchema,
  type DecisionSchema,
  ErrorClass,
  FinishReason,
  Role,
  type UsageSchema,
} from "../../../gen/switchyard/v1/types_pb.js";
import type * as domain from "../../core/types.js";

export function toRouteResponse(result: domain.RouteResult): MessageInitShape<typeof RouteResponseSchema> {
  return {
    message: {
      role: Role.ASSISTANT,
      content: result.message.content,
      toolCalls: result.message.toolCalls ?? [],
    },
    finishReason: toFinishReason(result.finishReason),
    usage: toUsage(result.usage, result.costUsd),
    decision: toDecision(result.decision),
  };
}

function toUsage(usage: domain.Usage, costUsd: number): MessageInitShape<typeof UsageSchema> {
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    costUsd,
    estimated: usage.estimated ?? false,
    cachedInputTokens: usage.cachedInputTokens ?? 0,
    cacheWriteInputTokens: usage.cacheWriteInputTokens ?? 0,
  };
}

export function toStreamResponse(event: domain.StreamEvent): MessageInitShape<typeof StreamResponseSchema> {
  switch (event.type) {
    case "decision":
      return { event: { case: "decision", value: toDecision(event.decision) } };
    case "delta":
      return { event: { case: "delta", value: { content: event.content, toolCalls: event.toolCalls } } };
    case "attempt":
      return { event: { case: "attempt", value: toAttempt(event.attempt) } };
    case "budget":
      return {
        event: {
          case: "budget",
          value: {
            step: toBudgetStep(event.step),
            elapsedMs: Math.round(event.elapsedMs * 1000) / 1000,
            limitMs: event.limitMs,
            exceeded: event.exceeded,
          },
        },
      };
    case "done":
      return {
        event: {
          case: "done",
          value: {
            finishReason: toFinishReason(event.finishReason),
            usage: toUsage(event.usage, event.costUsd),
            decision: toDecision(event.decision),
          },
        },
      };
    default:
      return event satisfies never;
  }
}

export function toClassifyResponse(
  result: domain.ClassifyResult,
): MessageInitShape<typeof ClassifyResponseSchema> {
  return {
    task: result.task,
    dataClass: result.dataClass,
    entities: result.entities.map((entity) => ({
      kind: entity.kind,
      group: entity.group,
      messageIndex: Math.max(0, entity.message),
      field: entity.field,
      start: entity.start,
      end: entity.end,
      score: entity.score,
    })),
    decision: toDecision(result.decision),
  };
}

export function toDecision(decision: domain.Decision): MessageInitShape<typeof DecisionSchema> {
  return {
    route: decision.route,
    rule: decision.rule,
    dataClass: decision.dataClass,
    task: decision.task,
    policyVersion: decision.policyVersion,
    traceId: decision.traceId,
    callId: decision.callId,
    target: decision.target,
    candidates: decision.candidates.map((candidate) => ({
      target: candidate.target,
      eligible: candidate.eligible,
      reason: candidate.reason ?? "",
      role: candidate.role,
    })),
    attempts: decision.attempts.map(toAttempt),
    degraded: decision.degraded,
    declaredDataClass: decision.declaredDataClass,
    tenant: decision.tenant,
    user: decision.user,
    costUsd: decision.costUsd,
    maxTokens: decision.maxTokens,
    dryRun: decision.dryRun,
    taskInferred: decision.taskInferred,
    dataClassReason: decision.dataClassReason,
    findings: decision.findings,
    outputFindings: decision.outputFindings,
    withheldTools: decision.withheldTools,
    escalations: decision.escalations,
    refusal: decision.refusal,
    degradeRung: decision.degradeRung,
    pool: decision.pool,
    estimatedInputTokens: decision.estimatedInputTokens,
    estimatedCostUsd: decision.estimatedCostUsd,
    quota: decision.quota,
    unpriced: decision.unpriced,
  };
}

function toAttempt(attempt: domain.Attempt): MessageInitShape<typeof AttemptSchema> {
  return {
    target: attempt.target,
    outcome: toOutcome(attempt.outcome),
    latencyMs: Math.round(attempt.latencyMs * 1000) / 1000,
    errorClass: attempt.errorClass ? toErrorClass(attempt.errorClass) : ErrorClass.UNSPECIFIED,
    message: attempt.message ?? "",
    retryable: attempt.retryable ?? false,
    ...(attempt.usage && { usage: toUsage(attempt.usage, attempt.costUsd ?? 0) }),
    redacted: attempt.redacted ?? 0,
    budgetMs: attempt.budgetMs ?? 0,
    retry: attempt.retry ?? 0,
    hedge: attempt.hedge ?? false,
    retryAfterMs: attempt.retryAfterMs ?? 0,
    continues: attempt.continues ?? false,
    startedMs: Math.round((attempt.startedMs ?? 0) * 1000) / 1000,
    firstTokenMs: Math.round((attempt.firstTokenMs ?? 0) * 1000) / 1000,
  };
}

function toFinishReason(reason: domain.FinishReason): FinishReason {
  switch (reason) {
    case "stop":
      return FinishReason.STOP;
    case "length":
      return FinishReason.LENGTH;
    case "tool_calls":
      return FinishReason.TOOL_CALLS;
    case "content_filter":
      return FinishReason.CONTENT_FILTER;
    case "degraded":
      return FinishReason.DEGRADED;
    default:
      return reason satisfies never;
  }
}

function toOutcome(outcome: domain.AttemptOutcome): AttemptOutcome {
  switch (outcome) {
    case "succeeded":
      return AttemptOutcome.SUCCEEDED;
    case "failed":
      return AttemptOutcome.FAILED;
    case "refused":
      return AttemptOutcome.REFUSED;
    case "cancelled":
      return AttemptOutcome.CANCELLED;
    case "skipped":
      return AttemptOutcome.SKIPPED;
    default:
      return outcome satisfies never;
  }
}

function toBudgetStep(step: domain.BudgetStep): BudgetStep {
  switch (step) {
    case "first_token":
      return BudgetStep.FIRST_TOKEN;
    case "token_gap":
      return BudgetStep.TOKEN_GAP;
    case "total":
      return BudgetStep.TOTAL;
    default:
      return step satisfies never;
  }
}

const ERROR_CLASSES: Record<domain.ErrorClass, ErrorClass> = {
  connect: ErrorClass.CONNECT,
  timeout: ErrorClass.TIMEOUT,
  rate_limited: ErrorClass.RATE_LIMITED,
  server: ErrorClass.SERVER,
  overloaded: ErrorClass.OVERLOADED,
  invalid_request: ErrorClass.INVALID_REQUEST,
  auth: ErrorClass.AUTH,
  context_length: ErrorClass.CONTEXT_LENGTH,
  content_refused: ErrorClass.CONTENT_REFUSED,
  policy: ErrorClass.POLICY,
  protocol: ErrorClass.PROTOCOL,
  cancelled: ErrorClass.CANCELLED,
};

function toErrorClass(errorClass: domain.ErrorClass): ErrorClass {
  return ERROR_CLASSES[errorClass];
}
