import type { ErrorClass } from "../../core/types.js";
import { abortError, ProviderError } from "../provider-error.js";
import { errorBodySchema } from "./openai-schemas.js";

/** Response headers as undici hands them over. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** What an upstream error body says about itself, reduced to the parts we classify on. */
export interface UpstreamErrorInfo {
  type?: string;
  code?: string;
  message?: string;
}

/** Whether the failure happened before response headers arrived or while reading the body. */
export type TransportPhase = "request" | "body";

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
 * Milliseconds the upstream asks us to wait, from `retry-after-ms` (what OpenAI's own SDKs read
 * first) or `retry-after` as delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * https://platform.openai.com/docs/guides/rate-limits
 */
export function parseRetryAfterMs(headers: ResponseHeaders, nowMs: number = Date.now()): number | undefined {
  const ms = Number.parseFloat(header(headers, "retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);

  const raw = header(headers, "retry-after")?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number.parseFloat(raw) * 1000);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
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
  const errorClass = classify(status, info);
  const retryAfterMs =
    errorClass === "rate_limited" || errorClass === "overloaded" || errorClass === "server"
      ? parseRetryAfterMs(headers, nowMs)
      : undefined;
  return new ProviderError(errorClass, `upstream returned HTTP ${status}${describe(info)}`, {
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    cause: { status, body: bodyText },
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
  const status = numeric !== undefined && numeric >= 400 ? numeric : undefined;
  return new ProviderError(classify(status, info), `upstream reported an error${describe(info)}`, {
    cause: { body: payload },
  });
}

/**
 * Classifies a failure thrown by undici (or by our own reading of the body).
 *
 * Cancellation: when `signal` is aborted the failure is the abort, whatever undici threw; see
 * {@link abortError}. A ProviderError passes through unchanged (it was classified where it was made).
 * Before response headers every network failure is "connect" (nothing was generated, so retrying
 * is safe); once the body is flowing, a dropped connection is "server", like a 5xx.
 */
export function classifyTransportError(
  err: unknown,
  phase: TransportPhase,
  signal: AbortSignal,
): ProviderError {
  if (signal.aborted) return abortError(signal);
  if (err instanceof ProviderError) return err;
  const code = errorCode(err);
  const shown = safeIdentifier(code) ?? "network error";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new ProviderError("timeout", `upstream stopped responding (${shown})`, { cause: err });
  }
  if (code === "UND_ERR_INVALID_ARG") {
    return new ProviderError("invalid_request", "request could not be sent (invalid argument)", {
      cause: err,
    });
  }
  if (phase === "request") {
    return new ProviderError("connect", `could not reach upstream (${shown})`, { cause: err });
  }
  return new ProviderError("server", `upstream connection lost mid-response (${shown})`, { cause: err });
}

/** A response that is not what the OpenAI wire format promises. `cause` may hold the offending body. */
export function protocolError(message: string, cause?: unknown): ProviderError {
  return new ProviderError("protocol", message, { cause });
}

const CONTEXT_LENGTH_MESSAGE = /maximum context length|context length exceeded|context window/i;

function classify(status: number | undefined, info: UpstreamErrorInfo | undefined): ErrorClass {
  const ids = [info?.code, info?.type]
    .filter((id): id is string => id !== undefined)
    .map((id) => id.toLowerCase());
  const has = (...names: string[]) => ids.some((id) => names.includes(id));

  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limited";
  // 529 is what Anthropic-backed gateways (OpenRouter) pass through for "overloaded".
  if (status === 503 || status === 529) return "overloaded";
  // The upstream gave up waiting for us; nothing wrong with the request itself.
  if (status === 408) return "timeout";
  if (status !== undefined && status >= 500) return "server";

  if (has("context_length_exceeded") || CONTEXT_LENGTH_MESSAGE.test(info?.message ?? ""))
    return "context_length";
  // OpenAI says content_policy_violation, Azure OpenAI says content_filter.
  if (has("content_policy_violation", "content_filter")) return "content_refused";
  if (status !== undefined) return "invalid_request";

  if (has("rate_limit_exceeded", "rate_limit_error", "insufficient_quota", "requests", "tokens")) {
    return "rate_limited";
  }
  if (has("overloaded", "overloaded_error", "server_overloaded", "engine_overloaded")) return "overloaded";
  if (has("invalid_api_key", "authentication_error", "permission_error", "permission_denied")) return "auth";
  if (has("invalid_request_error", "invalid_value", "model_not_found")) return "invalid_request";
  return "server";
}

function describe(info: UpstreamErrorInfo | undefined): string {
  const parts = [safeIdentifier(info?.type), safeIdentifier(info?.code)].filter((p) => p !== undefined);
  return parts.length > 0 ? ` (${parts.join("/")})` : "";
}

/** Keeps upstream-supplied identifiers out of messages unless they look like identifiers. */
function safeIdentifier(value: string | undefined): string | undefined {
  return value !== undefined && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined;
}

function errorCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== "object" || err === null || depth > 4) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  // Happy-eyeballs failures arrive as an AggregateError of per-address errors.
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerCode = errorCode(inner, depth + 1);
      if (innerCode !== undefined) return innerCode;
    }
  }
  return errorCode((err as { cause?: unknown }).cause, depth + 1);
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
