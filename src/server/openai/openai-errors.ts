import type { Logger } from "pino";
import {
  AllTargetsFailedError,
  CallEndedError,
  DecidedError,
  InvalidRequestError,
  NoEligibleTargetError,
  NoRouteError,
  PolicyDeniedError,
  QuotaExceededError,
  StateUnavailableError,
  StreamInterruptedError,
  TenantDeniedError,
  UnauthenticatedError,
  UnknownModelError,
} from "../../core/errors.js";
import type { Decision, ErrorClass } from "../../core/types.js";

/**
 * An error as OpenAI's API sends it, so its SDKs raise their usual classes (they pick them by
 * status: 400 BadRequestError, 401 AuthenticationError, 403 PermissionDeniedError, 404
 * NotFoundError, 429 RateLimitError, 5xx InternalServerError).
 * https://platform.openai.com/docs/guides/error-codes
 */
export interface OpenAiError {
  status: number;
  body: {
    error: { message: string; type: string; param: string | null; code: string | null };
  };
  /** `retry-after` (seconds) and `retry-after-ms`, when the router knows when to come back. */
  headers: Record<string, string>;
  /** The decision, for errors taken after one (its summary goes in the response headers). */
  decision?: Decision;
}

/** How the last upstream failure surfaces: status, OpenAI error type and code. */
const FOR_UPSTREAM_FAILURE: Record<ErrorClass, { status: number; type: string; code: string }> = {
  connect: { status: 503, type: "server_error", code: "upstream_unavailable" },
  server: { status: 503, type: "server_error", code: "upstream_unavailable" },
  overloaded: { status: 503, type: "server_error", code: "upstream_overloaded" },
  protocol: { status: 502, type: "server_error", code: "upstream_malformed" },
  timeout: { status: 504, type: "server_error", code: "upstream_timeout" },
  rate_limited: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  // The provider found the request itself unusable: the caller must change it.
  invalid_request: { status: 400, type: "invalid_request_error", code: "invalid_request" },
  context_length: { status: 400, type: "invalid_request_error", code: "context_length_exceeded" },
  content_refused: { status: 400, type: "invalid_request_error", code: "content_filter" },
  policy: { status: 403, type: "permission_error", code: "policy_refused" },
  // Our credentials, not the caller's: nothing the caller can fix.
  auth: { status: 500, type: "server_error", code: "upstream_auth" },
  cancelled: { status: 499, type: "server_error", code: "cancelled" },
};

/** How a call that ended from outside (its deadline, a shutdown) is told, when anyone is still there. */
const FOR_CALL_ENDED: Record<CallEndedError["why"], { status: number; code: string }> = {
  deadline: { status: 504, code: "deadline_exceeded" },
  shutdown: { status: 503, code: "shutting_down" },
  cancelled: { status: 499, code: "cancelled" },
  stalled: { status: 499, code: "cancelled" },
};

/**
 * The one place the OpenAI door turns domain errors into OpenAI's error shape (the gRPC door's
 * table is rpc/connect-errors.ts). `params` renames the domain's field paths to the request's
 * own (`params.maxTokens` is `max_tokens` here). `callEnded` is the call's abort reason, when its
 * signal fired: a failure classed `cancelled` because of it reports that instead. Anything
 * unexpected is a 500 with a generic message, logged once here.
 */
export function toOpenAiError(
  error: unknown,
  context: { logger: Logger; traceId: string; params: (field: string) => string; callEnded?: unknown },
): OpenAiError {
  // OpenAI's own 401 for a missing or wrong key: `invalid_request_error` / `invalid_api_key`.
  if (error instanceof UnauthenticatedError)
    return openAiError(401, "invalid_request_error", error.message, {
      code: error.scheme ? "invalid_api_key" : "unauthenticated",
      ...(error.scheme && { headers: { "www-authenticate": `${error.scheme} realm="switchyard"` } }),
    });
  if (error instanceof TenantDeniedError) {
    const param = context.params(error.field);
    return openAiError(403, "permission_error", `${param}: ${error.reason}`, {
      param,
      code: "tenant_not_permitted",
    });
  }
  if (error instanceof UnknownModelError)
    return openAiError(404, "invalid_request_error", error.message, {
      param: "model",
      code: "model_not_found",
    });
  if (error instanceof InvalidRequestError) {
    const param = context.params(error.field);
    return openAiError(400, "invalid_request_error", `${param}: ${inOpenAiTerms(error.reason)}`, { param });
  }
  if (error instanceof NoRouteError)
    return openAiError(400, "invalid_request_error", error.message, { code: "no_route" });
  if (error instanceof StateUnavailableError)
    return openAiError(503, "server_error", error.message, { code: "state_unavailable" });
  if (error instanceof DecidedError) {
    const decided = (status: number, type: string, code: string, headers: Record<string, string> = {}) => ({
      ...openAiError(status, type, error.message, { code }),
      headers,
      decision: error.decision,
    });
    if (error instanceof NoEligibleTargetError) return decided(403, "permission_error", "no_eligible_target");
    if (error instanceof PolicyDeniedError) return decided(403, "permission_error", "policy_refused");
    if (error instanceof QuotaExceededError) {
      // OpenAI's own words: a spent budget is `insufficient_quota`, a rate `rate_limit_exceeded`.
      const retryAfterMs = Math.ceil(error.quota.retryAfterMs);
      const [type, code] =
        error.quota.kind === "budget"
          ? ["insufficient_quota", "insufficient_quota"]
          : ["requests", "rate_limit_exceeded"];
      return decided(429, type, code, {
        "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
        "retry-after-ms": String(retryAfterMs),
        // A day's budget comes back tomorrow: an SDK retrying now only adds calls.
        ...(error.quota.kind === "budget" && { "x-should-retry": "false" }),
      });
    }
    if (error instanceof AllTargetsFailedError || error instanceof StreamInterruptedError) {
      const errorClass = error instanceof AllTargetsFailedError ? error.lastErrorClass : error.errorClass;
      const ended =
        errorClass === "cancelled" && context.callEnded instanceof CallEndedError
          ? context.callEnded
          : undefined;
      if (ended) {
        const { status, code } = FOR_CALL_ENDED[ended.why];
        return decided(status, "server_error", code);
      }
      const { status, type, code } = FOR_UPSTREAM_FAILURE[errorClass];
      const retryAfterMs = error instanceof AllTargetsFailedError ? error.retryAfterMs : undefined;
      return decided(
        status,
        type,
        error instanceof StreamInterruptedError ? "stream_interrupted" : code,
        retryAfterMs !== undefined
          ? {
              "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
              "retry-after-ms": String(Math.ceil(retryAfterMs)),
            }
          : // The router already retried and fell over: an SDK retrying at once only multiplies the load.
            status >= 500
            ? { "x-should-retry": "false" }
            : {},
      );
    }
  }
  if (error instanceof CallEndedError) {
    const { status, code } = FOR_CALL_ENDED[error.why];
    return openAiError(status, "server_error", error.message, { code });
  }
  context.logger.error({ err: error, traceId: context.traceId }, "unexpected error");
  return openAiError(500, "server_error", `internal error (trace id ${context.traceId})`);
}

export function openAiError(
  status: number,
  type: string,
  message: string,
  options: { param?: string; code?: string; headers?: Record<string, string> } = {},
): OpenAiError {
  return {
    status,
    body: { error: { message, type, param: options.param ?? null, code: options.code ?? null } },
    headers: options.headers ?? {},
  };
}

/** The gRPC door's words for roles (`ROLE_USER`) as this door's (`user`). */
function inOpenAiTerms(reason: string): string {
  return reason.replace(/ROLE_(SYSTEM|USER|ASSISTANT|TOOL)/g, (_, role: string) => `"${role.toLowerCase()}"`);
}
