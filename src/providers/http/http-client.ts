import { type Dispatcher, request } from "undici";
import { abortError, ProviderError } from "../provider-error.js";
import { classifyTransportError } from "./http-errors.js";
import type { HttpProviderSettings } from "./http-settings.js";
import { createKeepAlivePool } from "./keep-alive-pool.js";

/** A response whose status line and headers have arrived; its body is still to be read. */
export type HttpResponse = Dispatcher.ResponseData;

/** One provider's HTTP side: its keep-alive pool, its headers, and the abort wiring of its calls. */
export interface HttpClient {
  /**
   * `signal` tied to the client's lifetime: the result is aborted when `signal` is, and when the
   * client closes (reason: a "cancelled" ProviderError). Pass it to {@link HttpClient.postJson} and
   * to everything that reads the answer.
   */
  callSignal(signal: AbortSignal): AbortSignal;
  /**
   * POSTs `body` as JSON to `url` and resolves once the status line and headers have arrived,
   * whatever the status. The body is then the caller's: read it to its end, or dispose of it with
   * `disposeBody` (response-body.ts).
   *
   * `options.headers` are this call's own (a per-request signature such as AWS SigV4's), strongest
   * of all; names must be lowercase.
   *
   * Cancellation: an already aborted `signal` fails at once and sends nothing; aborting it later
   * destroys the request, so the upstream sees its connection close and stops generating.
   *
   * @throws ProviderError `abortError(signal)` when `signal` is aborted; otherwise the failure as
   *   classified by `classifyTransportError(err, "request", signal)` (connect, timeout…).
   */
  postJson(
    url: string,
    body: unknown,
    options: { signal: AbortSignal; accept: string; headers?: Record<string, string> },
  ): Promise<HttpResponse>;
  /** Aborts every call in flight and refuses new ones, then closes the pool's sockets. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates the HTTP client of one provider. Request headers are, from weakest to strongest:
 * `content-type: application/json` and `user-agent`, the provider's configured `settings.headers`,
 * then `options.headers` (the vendor's authentication and version headers).
 */
export function createHttpClient(
  settings: HttpProviderSettings,
  options: { headers?: Record<string, string>; idleLimitMs?: number } = {},
): HttpClient {
  const pool = createKeepAlivePool(settings, {
    ...(options.idleLimitMs !== undefined && { idleLimitMs: options.idleLimitMs }),
  });
  const closing = new AbortController();
  let closed: Promise<void> | undefined;

  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "switchyard",
  };
  for (const [name, value] of Object.entries({ ...settings.headers, ...options.headers }))
    headers[name.toLowerCase()] = value;

  return {
    callSignal(signal) {
      return AbortSignal.any([signal, closing.signal]);
    },

    async postJson(url, body, { signal, accept, headers: callHeaders }) {
      if (signal.aborted) throw abortError(signal);
      try {
        return await request(url, {
          dispatcher: pool,
          method: "POST",
          headers: { ...headers, accept, ...callHeaders },
          body: JSON.stringify(body),
          signal,
        });
      } catch (err) {
        throw classifyTransportError(err, "request", signal);
      }
    },

    close() {
      closed ??= (async () => {
        closing.abort(new ProviderError("cancelled", "provider adapter closed"));
        await pool.destroy();
      })();
      return closed;
    },
  };
}

/**
 * The URL of `path` below a base URL as the vendors' SDKs spell it, whatever slashes either has:
 * ("https://api.openai.com/v1/", "/chat/completions") → "https://api.openai.com/v1/chat/completions".
 */
export function endpointUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
