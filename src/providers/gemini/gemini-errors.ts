import type { ErrorClass } from "../../core/types.js";
import {
  errorBodyJson,
  errorClassForStatus,
  httpStatusError,
  type ResponseHeaders,
  WAITABLE,
} from "../http/http-errors.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { googleErrorSchema } from "./gemini-schemas.js";

/** What a Google error body says about itself, reduced to the parts we classify on. */
export interface GoogleErrorInfo {
  /** The HTTP status Google put in the body (`error.code`). */
  code?: number;
  /** The google.rpc.Code name (`error.status`), e.g. RESOURCE_EXHAUSTED. */
  status?: string;
  /** `reason` of a google.rpc.ErrorInfo detail, e.g. API_KEY_INVALID. */
  reason?: string;
  /** google.rpc.RetryInfo `retryDelay`, in milliseconds. */
  retryDelayMs?: number;
  message?: string;
}

/**
 * Reads a Google error body (already JSON-parsed): `{"error":{…}}`, or the same wrapped in an
 * array, as the streaming endpoint sends it without `alt=sse` and as some proxies pass it on
 * (`[{"error":{…}}]`). Undefined when the value is neither.
 * https://cloud.google.com/apis/design/errors#error_model
 */
export function googleErrorInfo(body: unknown): GoogleErrorInfo | undefined {
  const parsed = googleErrorSchema.safeParse(Array.isArray(body) && body.length === 1 ? body[0] : body);
  if (!parsed.success) return undefined;
  const { code, message, status, details } = parsed.data.error;
  const info: GoogleErrorInfo = {};
  if (typeof code === "number") info.code = code;
  if (typeof status === "string" && status !== "") info.status = status;
  if (typeof message === "string") info.message = message;
  for (const detail of details ?? []) {
    if (typeof detail !== "object" || detail === null) continue;
    const record = detail as Record<string, unknown>;
    const type = typeof record["@type"] === "string" ? record["@type"] : "";
    // https://github.com/googleapis/googleapis/blob/master/google/rpc/error_details.proto
    if (
      type.endsWith("google.rpc.ErrorInfo") &&
      typeof record.reason === "string" &&
      info.reason === undefined
    )
      info.reason = record.reason;
    if (type.endsWith("google.rpc.RetryInfo") && typeof record.retryDelay === "string") {
      const delay = parseProtobufDuration(record.retryDelay);
      if (delay !== undefined) info.retryDelayMs = delay;
    }
  }
  return info;
}

/**
 * Milliseconds in a protobuf Duration as JSON writes it ("7s", "0.5s", "1.000340012s"), rounded up;
 * undefined unless the text is one, or for more than a day.
 * https://protobuf.dev/programming-guides/json/ (Duration)
 */
export function parseProtobufDuration(text: string): number | undefined {
  const match = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(text.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * 1000 + Number(`0.${match[2] ?? "0"}`) * 1000;
  return ms <= 86_400_000 ? Math.ceil(Math.round(ms * 1000) / 1000) : undefined;
}

/**
 * Classifies a non-2xx response. `bodyText` is the (possibly truncated) upstream body; it goes
 * into `cause` only. The message carries the status and, in parentheses, the google.rpc.Code name
 * and ErrorInfo reason when they are in the known vocabulary, never Google's free text.
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 *
 * Beyond the status alone (errorClassForStatus): 400 whose ErrorInfo reason says the key is bad
 * (API_KEY_INVALID: what Google answers to a wrong key) → auth; 400 FAILED_PRECONDITION (the free
 * tier is not offered where the call came from, billing is off) → auth, as the account must
 * change; a 400 whose message speaks of the token limit → context_length; 504 DEADLINE_EXCEEDED →
 * timeout (Google gave up on the request before answering). `retryAfterMs` comes from the
 * headers and, failing them, from the body's RetryInfo `retryDelay` (what 429s carry).
 */
export function classifyHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const info = googleErrorInfo(errorBodyJson(bodyText));
  const error = httpStatusError(status, headers, {
    errorClass: refine(errorClassForStatus(status), info),
    detail: describe(info),
    cause: { status, body: bodyText },
    nowMs,
  });
  return withRetryDelay(error, info);
}

/**
 * Classifies an error object that arrived where an answer was expected: a `data: {"error":…}`
 * event in the middle of a stream, or a 200 whose JSON body is an error. With no HTTP status to go
 * on, the body's `code` (Google puts the HTTP status there) and `status` decide. Returns a
 * "protocol" error for a value that is not a Google error body.
 */
export function classifyErrorPayload(payload: unknown): ProviderError {
  const info = googleErrorInfo(payload);
  if (info === undefined) return protocolError("upstream sent an unrecognised error", payload);
  const code = info.code ?? statusCodeOf(info.status);
  const errorClass =
    code !== undefined && code >= 400 && code <= 599 ? refine(errorClassForStatus(code), info) : "server";
  const detail = describe(info);
  return withRetryDelay(
    new ProviderError(errorClass, `upstream reported an error${detail === "" ? "" : ` (${detail})`}`, {
      ...(code !== undefined && code >= 400 && code <= 599 && { status: code }),
      cause: { body: payload },
    }),
    info,
  );
}

/** Whether a parsed body is a Google error (bare or in a one-element array). */
export function isGoogleError(value: unknown): boolean {
  const candidate = Array.isArray(value) && value.length === 1 ? value[0] : value;
  return typeof candidate === "object" && candidate !== null && "error" in candidate;
}

const CONTEXT_LENGTH_MESSAGE =
  /input token count.*exceeds|exceeds the maximum number of tokens|token limit|too many (input )?tokens|context (length|window)/i;

/** Reasons of google.rpc.ErrorInfo that mean the credential is wrong, not the request. */
const AUTH_REASONS: ReadonlySet<string> = new Set([
  "API_KEY_INVALID",
  "API_KEY_EXPIRED",
  "API_KEY_SERVICE_BLOCKED",
  "API_KEY_HTTP_REFERRER_BLOCKED",
  "API_KEY_IP_ADDRESS_BLOCKED",
  "API_KEY_ANDROID_APP_BLOCKED",
  "API_KEY_IOS_APP_BLOCKED",
  "SERVICE_DISABLED",
  "CONSUMER_INVALID",
  "CONSUMER_SUSPENDED",
  "BILLING_DISABLED",
  "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
  "ACCESS_TOKEN_EXPIRED",
  "IAM_PERMISSION_DENIED",
]);

function refine(errorClass: ErrorClass, info: GoogleErrorInfo | undefined): ErrorClass {
  if (info?.reason !== undefined && AUTH_REASONS.has(info.reason)) return "auth";
  if (info?.status === "UNAUTHENTICATED" || info?.status === "PERMISSION_DENIED") return "auth";
  if (info?.status === "DEADLINE_EXCEEDED") return "timeout";
  if (errorClass !== "invalid_request") return errorClass;
  if (info?.status === "FAILED_PRECONDITION") return "auth";
  if (info?.status === "RESOURCE_EXHAUSTED") return "rate_limited";
  if (CONTEXT_LENGTH_MESSAGE.test(info?.message ?? "")) return "context_length";
  return errorClass;
}

/** The HTTP status Google maps each google.rpc.Code to. https://cloud.google.com/apis/design/errors#handling_errors */
const STATUS_CODES: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  DATA_LOSS: 500,
  UNKNOWN: 500,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

function statusCodeOf(status: string | undefined): number | undefined {
  return status === undefined ? undefined : STATUS_CODES[status];
}

function withRetryDelay(error: ProviderError, info: GoogleErrorInfo | undefined): ProviderError {
  if (error.retryAfterMs !== undefined || info?.retryDelayMs === undefined) return error;
  if (!WAITABLE.has(error.errorClass)) return error;
  return new ProviderError(error.errorClass, error.message, {
    ...(error.status !== undefined && { status: error.status }),
    retryAfterMs: info.retryDelayMs,
    cause: error.cause,
  });
}

/**
 * The ErrorInfo reasons Google is known to send for this API: with the google.rpc.Code names, the
 * only upstream words a message may carry (DESIGN invariant 10).
 */
const KNOWN_REASONS: ReadonlySet<string> = new Set([
  ...AUTH_REASONS,
  "RATE_LIMIT_EXCEEDED",
  "RESOURCE_EXHAUSTED",
]);

/** "STATUS/REASON" from the known vocabulary; an unknown value is named as such, a missing one left out. */
function describe(info: GoogleErrorInfo | undefined): string {
  const parts: string[] = [];
  if (info?.status !== undefined)
    parts.push(Object.hasOwn(STATUS_CODES, info.status) ? info.status : "unrecognised status");
  if (info?.reason !== undefined)
    parts.push(KNOWN_REASONS.has(info.reason) ? info.reason : "unrecognised reason");
  return parts.join("/");
}
