import type { ErrorClass } from "../../core/types.js";
import {
  errorBodyJson,
  errorClassForStatus,
  httpStatusError,
  type ResponseHeaders,
} from "../http/http-errors.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { errorBodySchema } from "./openai-schemas.js";

/** What an upstream error body says about itself, reduced to the parts we classify on. */
export interface UpstreamErrorInfo {
  type?: string;
  code?: string;
  message?: string;
  /** Azure's `innererror.code`. */
  innerCode?: string;
  /** OpenRouter's `metadata.reasons` is there: its moderation flagged the input. */
  moderated?: boolean;
}

/**
 * Pulls `type`, `code` and `message` out of an OpenAI-style error body (already JSON-parsed).
 * Returns undefined when the value is not an error body.
 */
export function upstreamErrorInfo(body: unknown): UpstreamErrorInfo | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { message, type, code, innererror, metadata } = parsed.data.error;
  const info: UpstreamErrorInfo = {};
  if (typeof type === "string" && type !== "") info.type = type;
  if (code !== null && code !== undefined && code !== "") info.code = String(code);
  if (typeof message === "string") info.message = message;
  if (typeof innererror?.code === "string" && innererror.code !== "") info.innerCode = innererror.code;
  if (metadata?.reasons !== undefined && metadata.reasons !== null) info.moderated = true;
  return info;
}

/**
 * Classifies a non-2xx response. `bodyText` is the (possibly truncated) upstream body; it goes
 * into `cause` only. The message carries the status and the error type/code when they are in the
 * known vocabulary ({@link KNOWN_ERROR_IDS}), "unrecognised error type/code" otherwise.
 * https://platform.openai.com/docs/guides/error-codes#api-errors
 */
export function classifyHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const info = upstreamErrorInfo(errorBodyJson(bodyText));
  return httpStatusError(status, headers, {
    errorClass: refine(errorClassForStatus(status), info),
    detail: describe(info),
    cause: { status, body: bodyText },
    nowMs,
  });
}

/**
 * Classifies an error object that arrived where an answer was expected: a `data: {"error":…}`
 * frame in the middle of a stream, or a 200 whose body is an error envelope (OpenRouter does
 * both). With no HTTP status to go on, OpenAI's `code`/`type` decide; a numeric `code` (vLLM puts
 * the status there) is treated as the status. The message names known types/codes only, as
 * {@link classifyHttpError}'s does. Returns a "protocol" error for a value that is not an error body.
 */
export function classifyErrorPayload(payload: unknown): ProviderError {
  const info = upstreamErrorInfo(payload);
  if (info === undefined) return protocolError("upstream sent an unrecognised error", payload);
  const numeric = info.code !== undefined && STATUS_CODE.test(info.code) ? Number(info.code) : undefined;
  const errorClass =
    numeric !== undefined && numeric >= 400 ? refine(errorClassForStatus(numeric), info) : classifyById(info);
  const detail = describe(info);
  return new ProviderError(errorClass, `upstream reported an error${detail === "" ? "" : ` (${detail})`}`, {
    cause: { body: payload },
  });
}

const CONTEXT_LENGTH_MESSAGE = /maximum context length|context length exceeded|context window/i;

/**
 * Names a 4xx more precisely from OpenAI's error code and message; other classes stand as is,
 * except OpenRouter's 403 for input its moderation flagged, which is a refusal of the content, not
 * of the credentials.
 */
function refine(errorClass: ErrorClass, info: UpstreamErrorInfo | undefined): ErrorClass {
  if (errorClass === "auth" && info?.moderated === true) return "content_refused";
  if (errorClass !== "invalid_request") return errorClass;
  if (isContextLength(info)) return "context_length";
  if (isContentRefusal(info)) return "content_refused";
  return errorClass;
}

/** With no HTTP status to go on (an error inside a 200), OpenAI's code/type decide. */
function classifyById(info: UpstreamErrorInfo): ErrorClass {
  if (isContextLength(info)) return "context_length";
  if (isContentRefusal(info)) return "content_refused";
  if (hasId(info, "rate_limit_exceeded", "rate_limit_error", "insufficient_quota", "requests", "tokens"))
    return "rate_limited";
  if (hasId(info, "overloaded", "overloaded_error", "server_overloaded", "engine_overloaded"))
    return "overloaded";
  if (hasId(info, "invalid_api_key", "authentication_error", "permission_error", "permission_denied"))
    return "auth";
  if (hasId(info, "invalid_request_error", "invalid_value", "model_not_found")) return "invalid_request";
  return "server";
}

function isContextLength(info: UpstreamErrorInfo | undefined): boolean {
  return hasId(info, "context_length_exceeded") || CONTEXT_LENGTH_MESSAGE.test(info?.message ?? "");
}

/**
 * OpenAI says content_policy_violation, Azure OpenAI says content_filter (and
 * ResponsibleAIPolicyViolation in `innererror.code`), OpenRouter's moderation sends `reasons`.
 */
function isContentRefusal(info: UpstreamErrorInfo | undefined): boolean {
  return (
    hasId(info, "content_policy_violation", "content_filter") ||
    info?.innerCode?.toLowerCase() === "responsibleaipolicyviolation" ||
    info?.moderated === true
  );
}

function hasId(info: UpstreamErrorInfo | undefined, ...names: string[]): boolean {
  return [info?.code, info?.type].some((id) => id !== undefined && names.includes(id.toLowerCase()));
}

/**
 * The error types and codes OpenAI-compatible servers are known to send: the only upstream words
 * a message may carry. Anything else, however much it looks like an identifier, may be the
 * caller's prompt echoed back (DESIGN invariant 10), so it is named "unrecognised".
 *
 * OpenAI's types and codes: https://platform.openai.com/docs/guides/error-codes
 * Azure's content_filter: https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter
 * vLLM's ErrorResponse types: https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/openai/protocol.py
 * OpenRouter's numeric codes and the Anthropic types it passes through:
 * https://openrouter.ai/docs/api-reference/errors
 */
const KNOWN_ERROR_IDS: ReadonlySet<string> = new Set([
  // Types.
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "rate_limit_error",
  "requests",
  "tokens",
  "insufficient_quota",
  "server_error",
  "api_error",
  "overloaded_error",
  "request_forbidden",
  "access_terminated",
  "billing_error",
  "BadRequestError",
  "NotFoundError",
  "InternalServerError",
  // Codes.
  "invalid_api_key",
  "invalid_organization",
  "permission_denied",
  "unsupported_country_region_territory",
  "rate_limit_exceeded",
  "billing_hard_limit_reached",
  "context_length_exceeded",
  "string_above_max_length",
  "model_not_found",
  "invalid_value",
  "invalid_type",
  "unsupported_value",
  "unsupported_parameter",
  "missing_required_parameter",
  "invalid_prompt",
  "content_policy_violation",
  "content_filter",
  "overloaded",
  "server_overloaded",
  "engine_overloaded",
  "DeploymentNotFound",
  // Azure OpenAI. https://learn.microsoft.com/azure/ai-services/openai/reference
  "ResponsibleAIPolicyViolation",
  "OperationNotSupported",
  "invalid_api_version",
  "unauthorized",
  // Mistral. https://docs.mistral.ai/api/
  "invalid_request_message_error",
  "internal_error_proxy",
]);

/** An HTTP status in `code` (vLLM, OpenRouter, Azure): a number, not text. */
const STATUS_CODE = /^[1-5]\d\d$/;

/** "type/code" from the known vocabulary; an unknown value is named as such, a missing one left out. */
function describe(info: UpstreamErrorInfo | undefined): string {
  const parts: string[] = [];
  if (info?.type !== undefined)
    parts.push(KNOWN_ERROR_IDS.has(info.type) ? info.type : "unrecognised error type");
  if (info?.code !== undefined)
    parts.push(
      KNOWN_ERROR_IDS.has(info.code) || STATUS_CODE.test(info.code) ? info.code : "unrecognised error code",
    );
  if (info?.innerCode !== undefined && KNOWN_ERROR_IDS.has(info.innerCode)) parts.push(info.innerCode);
  // Our word: OpenRouter's reasons and flagged input are the caller's text.
  if (info?.moderated === true) parts.push("moderation");
  return parts.join("/");
}
