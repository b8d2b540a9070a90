import type { ErrorClass } from "../../core/types.js";
import { abortError, ProviderError } from "../provider-error.js";

/** Response headers as undici hands them over (names lowercased). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Whether a transport failure happened before the response headers arrived or while reading the body. */
export type TransportPhase = "request" | "body";

/** The first value of a response header, or undefined. `name` must be lowercase. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Milliseconds the upstream asks us to wait, from `retry-after-ms` (what OpenAI's SDKs read first,
 * also sent by Azure OpenAI) or `retry-after` as delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * A date in the past is 0; an unreadable or negative value is undefined.
 * https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 */
export function parseRetryAfterMs(headers: ResponseHeaders, nowMs: number = Date.now()): number | undefined {
  const ms = Number.parseFloat(headerValue(headers, "retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);

  const raw = headerValue(headers, "retry-after")?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number.parseFloat(raw) * 1000);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * The class an HTTP status implies on its own, before a vendor looks at the error body: 401/403
 * auth, 408 timeout (the upstream gave up waiting for us; nothing wrong with the request), 429
 * rate_limited, 503/529 overloaded (529 is what Anthropic and gateways in front of it send), any
 * other 5xx server, any other 4xx invalid_request. A status outside 4xx/5xx where an answer was
 * expected (a redirect from a wrong base_url, say) is protocol.
 */
export function errorClassForStatus(status: number): ErrorClass {
  if (status === 401 || status === 403) return "auth";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "overloaded";
  if (status >= 500 && status <= 599) return "server";
  if (status >= 400 && status <= 499) return "invalid_request";
  return "protocol";
}

/** Classes for which an upstream's retry-after is worth keeping. */
const WAITABLE: ReadonlySet<ErrorClass> = new Set(["rate_limited", "overloaded", "server"]);

/**
 * The ProviderError for a non-2xx answer: message `upstream returned HTTP <status>` plus, in
 * parentheses, `detail`; `retryAfterMs` from the headers when the class is one worth waiting for.
 *
 * @param detail Words from the vendor's fixed vocabulary of error types and codes, never text the
 *   upstream wrote (it can echo the prompt); the message reaches callers.
 * @param cause What the upstream sent (status, body): kept for logs, never shown to callers.
 */
export function httpStatusError(
  status: number,
  headers: ResponseHeaders,
  options: { errorClass?: ErrorClass; detail?: string; cause?: unknown; nowMs?: number } = {},
): ProviderError {
  const errorClass = options.errorClass ?? errorClassForStatus(status);
  const retryAfterMs = WAITABLE.has(errorClass) ? parseRetryAfterMs(headers, options.nowMs) : undefined;
  const detail = options.detail === undefined || options.detail === "" ? "" : ` (${options.detail})`;
  return new ProviderError(errorClass, `upstream returned HTTP ${status}${detail}`, {
    status,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    cause: options.cause,
  });
}

/**
 * Classifies a failure thrown by undici (or by our own reading of the body).
 *
 * Cancellation: when `signal` is aborted the failure is the abort, whatever undici threw (see
 * {@link abortError}). A ProviderError passes through unchanged: it was classified where it was
 * made. undici's header and body timeouts are "timeout". Otherwise, before the response headers
 * every network failure is "connect" (nothing was generated, so retrying is safe); once the body
 * is flowing, a dropped connection is "server", like a 5xx.
 *
 * The message names the Node/undici error code (ECONNREFUSED, UND_ERR_SOCKET…), nothing else.
 */
export function classifyTransportError(
  err: unknown,
  phase: TransportPhase,
  signal: AbortSignal,
): ProviderError {
  if (signal.aborted) return abortError(signal);
  if (err instanceof ProviderError) return err;
  const code = errorCode(err);
  const shown = code !== undefined && /^[A-Z][A-Z0-9_]{1,63}$/.test(code) ? code : "network error";
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
