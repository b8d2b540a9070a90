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

/** The longest wait we believe: a value further out than this is treated as unreadable. */
const MAX_WAIT_MS = 24 * 60 * 60 * 1000;

/**
 * Milliseconds the upstream asks us to wait, from the first of these forms that reads:
 *
 * 1. `retry-after-ms` (what OpenAI's SDKs read first, also sent by Azure OpenAI).
 * 2. `retry-after` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is 0.
 * 3. OpenAI's `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens`, Go durations (`1s`, `6m0s`,
 *    `20ms`) until that limit is back to full.
 * 4. Anthropic's `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset`, RFC 3339
 *    times at which that limit is back to full; a time in the past is 0.
 *
 * In forms 3 and 4 the limits whose `…-remaining` header reads `0` decide: the latest of their resets
 * (when none of those resets reads, the form is unreadable). When no limit reads `0`, the latest of all
 * readable resets: waiting for an earlier one would only run into the other limit.
 *
 * A value that is not of its form, negative, or more than 24 hours away is unreadable and the next form
 * is tried; undefined when none reads. Fractions of a millisecond round up.
 * https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 * https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
 * https://docs.anthropic.com/en/api/rate-limits#response-headers
 */
export function parseRetryAfterMs(headers: ResponseHeaders, nowMs: number = Date.now()): number | undefined {
  return (
    fromRetryAfterMs(headers) ??
    fromRetryAfter(headers, nowMs) ??
    fromOpenAiResets(headers) ??
    fromAnthropicResets(headers, nowMs)
  );
}

/**
 * Only what the upstream said about retrying (forms 1 and 2 above): the rate-limit reset headers
 * come on every response and say when a quota refills, not when a failing server recovers.
 */
function parseExplicitRetryAfterMs(headers: ResponseHeaders, nowMs: number): number | undefined {
  return fromRetryAfterMs(headers) ?? fromRetryAfter(headers, nowMs);
}

/**
 * Milliseconds in a Go `time.Duration` string (what `Duration.String()` writes and
 * `time.ParseDuration` reads: `6m0s`, `20ms`, `1h2m3.5s`, `0`), rounded up to a whole millisecond;
 * undefined unless the whole text is one. Signs are not accepted: a wait is never negative.
 * https://pkg.go.dev/time#ParseDuration
 */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!GO_DURATION.test(trimmed)) return undefined;
  let ms = 0;
  for (const [, amount = "", unit = ""] of trimmed.matchAll(GO_DURATION_PART)) {
    ms += Number(amount) * (GO_UNIT_MS[unit] ?? Number.NaN);
  }
  return ceilMs(ms);
}

const GO_DURATION = /^(?:\d*\.?\d+(?:h|ms|m|s|us|µs|ns))+$/;
const GO_DURATION_PART = /(\d*\.?\d+)(h|ms|m|s|us|µs|ns)/g;
const GO_UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 0.000_001,
};

const DECIMAL = /^\d+(\.\d+)?$/;
// RFC 3339's date-time with an upper-case T and Z (or an offset): what Anthropic sends and Date.parse reads.
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function fromRetryAfterMs(headers: ResponseHeaders): number | undefined {
  const raw = headerValue(headers, "retry-after-ms")?.trim();
  return raw !== undefined && DECIMAL.test(raw) ? believable(Number(raw)) : undefined;
}

function fromRetryAfter(headers: ResponseHeaders, nowMs: number): number | undefined {
  const raw = headerValue(headers, "retry-after")?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (DECIMAL.test(raw)) return believable(Number(raw) * 1000);
  return untilTime(Date.parse(raw), nowMs);
}

/** One rate limit as a response reports it: its reset as a wait, and whether it is spent. */
interface Limit {
  resetMs: number | undefined;
  exhausted: boolean;
}

function fromOpenAiResets(headers: ResponseHeaders): number | undefined {
  return waitForLimits(
    (["requests", "tokens"] as const).map((name) => ({
      resetMs: believable(parseGoDuration(headerValue(headers, `x-ratelimit-reset-${name}`) ?? "")),
      exhausted: headerValue(headers, `x-ratelimit-remaining-${name}`)?.trim() === "0",
    })),
  );
}

function fromAnthropicResets(headers: ResponseHeaders, nowMs: number): number | undefined {
  return waitForLimits(
    (["requests", "tokens", "input-tokens", "output-tokens"] as const).map((name) => {
      const reset = headerValue(headers, `anthropic-ratelimit-${name}-reset`)?.trim() ?? "";
      return {
        resetMs: RFC_3339.test(reset) ? untilTime(Date.parse(reset), nowMs) : undefined,
        exhausted: headerValue(headers, `anthropic-ratelimit-${name}-remaining`)?.trim() === "0",
      };
    }),
  );
}

function waitForLimits(limits: readonly Limit[]): number | undefined {
  const exhausted = limits.filter((limit) => limit.exhausted);
  const resets = (exhausted.length > 0 ? exhausted : limits).flatMap((limit) =>
    limit.resetMs === undefined ? [] : [limit.resetMs],
  );
  return resets.length === 0 ? undefined : Math.max(...resets);
}

/** Milliseconds from `nowMs` until `atMs` (0 once it has passed), if believable. */
function untilTime(atMs: number, nowMs: number): number | undefined {
  return Number.isNaN(atMs) ? undefined : believable(Math.max(0, atMs - nowMs));
}

/** A wait rounded up to a whole millisecond, or undefined when it is not a number from 0 to 24 hours. */
function believable(ms: number | undefined): number | undefined {
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= MAX_WAIT_MS ? ceilMs(ms) : undefined;
}

/** Rounds up to a whole millisecond, ignoring float noise below a microsecond (1.1 s is 1100 ms, not 1101). */
function ceilMs(ms: number): number {
  return Math.ceil(Math.round(ms * 1000) / 1000);
}

/**
 * An error response's body as JSON, or undefined when it is not JSON (a proxy's HTML page, a
 * truncated body): what each wire's error classifier reads its error type from.
 */
export function errorBodyJson(bodyText: string): unknown {
  try {
    return JSON.parse(bodyText);
  } catch {
    return undefined;
  }
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
export const WAITABLE: ReadonlySet<ErrorClass> = new Set(["rate_limited", "overloaded", "server"]);

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
  const nowMs = options.nowMs ?? Date.now();
  const retryAfterMs =
    errorClass === "rate_limited"
      ? parseRetryAfterMs(headers, nowMs)
      : WAITABLE.has(errorClass)
        ? parseExplicitRetryAfterMs(headers, nowMs)
        : undefined;
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
