import type { ErrorClass } from "../../core/types.js";
import { errorClassForStatus, httpStatusError, type ResponseHeaders } from "../http/http-errors.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { errorBodySchema } from "./openai-schemas.js";

/** What an upstream error body says about itself, reduced to the parts we classify on. */
export interface UpstreamErrorInfo {
  type?: string;
  code?: string;
  message?: string;
}

/**
 * Pulls `type`, `code` and `message` out of an OpenAI-style error body (already JSON-parsed).
 * Returns undefined when the value is not an error body.
 */
export function upstreamErrorInfo(body: unknown): UpstreamErrorInfo | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { message, type, code } = parsed.data.error;
  const info: UpstreamErrorInfo = {};
  if (typeof type === "string" && type !== "") info.type = type;
  if (code !== null && code !== undefined && code !== "") info.code = String(code);
  if (typeof message === "string") info.message = message;
  return info;
}

/**
 * Classifies a non-2xx response. `bodyText` is the (possibly truncated) upstream body; it goes
 * into `cause` only, the message carries the status and OpenAI's error type/code.
 * https://platform.openai.com/docs/guides/error-codes#api-errors
 */
export function classifyHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  let info: UpstreamErrorInfo | undefined;
  try {
    info = upstreamErrorInfo(JSON.parse(bodyText));
  } catch {
    info = undefined;
  }
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
 * the status there) is treated as the status. Returns a "protocol" error for a value that is not
 * an error body.
 */
export function classifyErrorPayload(payload: unknown): ProviderError {
  const info = upstreamErrorInfo(payload);
  if (info === undefined) return protocolError("upstream sent an unrecognised error", payload);
  const numeric = info.code !== undefined && /^[1-5]\d\d$/.test(info.code) ? Number(info.code) : undefined;
  const errorClass =
    numeric !== undefined && numeric >= 400 ? refine(errorClassForStatus(numeric), info) : classifyById(info);
  const detail = describe(info);
  return new ProviderError(errorClass, `upstream reported an error${detail === "" ? "" : ` (${detail})`}`, {
    cause: { body: payload },
  });
}

const CONTEXT_LENGTH_MESSAGE = /maximum context length|context length exceeded|context window/i;

/** Names a 4xx more precisely from OpenAI's error code and message; other classes stand as the status says. */
function refine(errorClass: ErrorClass, info: UpstreamErrorInfo | undefined): ErrorClass {
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

/** OpenAI says content_policy_violation, Azure OpenAI says content_filter. */
function isContentRefusal(info: UpstreamErrorInfo | undefined): boolean {
  return hasId(info, "content_policy_violation", "content_filter");
}

function hasId(info: UpstreamErrorInfo | undefined, ...names: string[]): boolean {
  return [info?.code, info?.type].some((id) => id !== undefined && names.includes(id.toLowerCase()));
}

function describe(info: UpstreamErrorInfo | undefined): string {
  return [safeIdentifier(info?.type), safeIdentifier(info?.code)].filter((p) => p !== undefined).join("/");
}

/** Keeps upstream-supplied identifiers out of messages unless they look like identifiers. */
function safeIdentifier(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined;
}
