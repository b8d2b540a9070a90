import type { ErrorClass } from "../../core/types.js";
import {
  errorBodyJson,
  errorClassForStatus,
  httpStatusError,
  type ResponseHeaders,
} from "../http/http-errors.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { errorBodySchema } from "./anthropic-schemas.js";

/** What an Anthropic error says about itself, reduced to the parts we classify on. */
export interface AnthropicErrorInfo {
  /** `error.type`: invalid_request_error, overloaded_error… */
  type?: string;
  /** `error.details.error_code`, when there is one (enforced_spend_limit_reached). */
  code?: string;
  /** `error.message`: free text, read for "prompt is too long", never shown. */
  message?: string;
}

/**
 * Pulls `error.type`, `error.details.error_code` and `error.message` out of an Anthropic error body
 * or `error` event (already JSON-parsed); undefined when the value is not one.
 * https://docs.anthropic.com/en/api/errors#error-shapes
 */
export function anthropicErrorInfo(body: unknown): AnthropicErrorInfo | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;
  const { type, message, details } = parsed.data.error;
  const info: AnthropicErrorInfo = {};
  if (typeof type === "string" && type !== "") info.type = type;
  if (typeof details?.error_code === "string" && details.error_code !== "") info.code = details.error_code;
  if (typeof message === "string") info.message = message;
  return info;
}

/**
 * Classifies a non-2xx answer. `bodyText` (possibly truncated) goes into `cause` only; the message
 * carries the status and the error type (and code) when they are in Anthropic's published
 * vocabulary, "unrecognised error type" otherwise.
 *
 * The status decides where it names a class, as errorClassForStatus reads it (529 overloaded, 429
 * rate_limited with retry-after and the `anthropic-ratelimit-*-reset` headers, 401/403 auth, 413
 * context_length); a generic 4xx or 5xx is named by the error type (an `overloaded_error` behind a
 * proxy's 500, a 402 `billing_error`), and a 400 whose message says the prompt is too long is
 * context_length.
 * https://docs.anthropic.com/en/api/errors#http-errors
 */
export function classifyHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const info = anthropicErrorInfo(errorBodyJson(bodyText));
  // A 413 comes from Cloudflare in front of the API, possibly without a JSON body.
  const statusClass: ErrorClass = status === 413 ? "context_length" : errorClassForStatus(status);
  // A status that names its class (401/403, 408, 429, 503/529) stands; a generic 4xx or 5xx is
  // named more precisely by the error type.
  const generic = statusClass === "invalid_request" || statusClass === "server";
  const errorClass = refine((generic ? classForType(info?.type) : undefined) ?? statusClass, info);
  return httpStatusError(status, headers, {
    errorClass,
    detail: describe(info),
    cause: { status, body: bodyText },
    nowMs,
  });
}

/**
 * Classifies an `error` event that arrived mid-stream, after the 200 (typically
 * `overloaded_error`): by its error type, "server" for a type we do not know. The message names
 * known types only, as {@link classifyHttpError}'s does. A value that is not an Anthropic error is a
 * "protocol" error.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events
 */
export function classifyErrorEvent(payload: unknown): ProviderError {
  const info = anthropicErrorInfo(payload);
  if (info === undefined) return protocolError("upstream sent an unrecognised error event", payload);
  const errorClass = refine(classForType(info.type) ?? "server", info);
  const detail = describe(info);
  return new ProviderError(errorClass, `upstream reported an error${detail === "" ? "" : ` (${detail})`}`, {
    cause: { body: payload },
  });
}

/**
 * Anthropic's error types, as the errors reference lists them with their statuses. billing_error
 * (402) is the account's, like a key without permission: "auth", not something to retry.
 */
const CLASS_BY_TYPE: Readonly<Record<string, ErrorClass>> = {
  invalid_request_error: "invalid_request",
  authentication_error: "auth",
  permission_error: "auth",
  billing_error: "auth",
  not_found_error: "invalid_request",
  request_too_large: "context_length",
  rate_limit_error: "rate_limited",
  api_error: "server",
  timeout_error: "timeout",
  overloaded_error: "overloaded",
};

function classForType(type: string | undefined): ErrorClass | undefined {
  return type === undefined ? undefined : CLASS_BY_TYPE[type];
}

/**
 * What the API says when the conversation does not fit: "prompt is too long: 210000 tokens >
 * 200000 maximum", or "input length and `max_tokens` exceed context limit: …".
 */
const CONTEXT_LENGTH_MESSAGE = /prompt is too long|exceed(s)? (the )?context (limit|window)/i;

function refine(errorClass: ErrorClass, info: AnthropicErrorInfo | undefined): ErrorClass {
  if (errorClass === "invalid_request" && CONTEXT_LENGTH_MESSAGE.test(info?.message ?? ""))
    return "context_length";
  return errorClass;
}

/**
 * The error types and codes Anthropic documents: the only upstream words a message may carry.
 * Anything else may be the caller's prompt echoed back (DESIGN invariant 10), so it is named
 * "unrecognised".
 * https://docs.anthropic.com/en/api/errors
 */
const KNOWN_ERROR_TYPES: ReadonlySet<string> = new Set([...Object.keys(CLASS_BY_TYPE), "conflict_error"]);
const KNOWN_ERROR_CODES: ReadonlySet<string> = new Set(["enforced_spend_limit_reached"]);

function describe(info: AnthropicErrorInfo | undefined): string {
  const parts: string[] = [];
  if (info?.type !== undefined)
    parts.push(KNOWN_ERROR_TYPES.has(info.type) ? info.type : "unrecognised error type");
  if (info?.code !== undefined)
    parts.push(KNOWN_ERROR_CODES.has(info.code) ? info.code : "unrecognised error code");
  return parts.join("/");
}
