import type { Readable } from "node:stream";
import { protocolError } from "../provider-error.js";
import { headerValue, type ResponseHeaders } from "./http-errors.js";

/** How long a finished stream's connection may take to deliver its last bytes before it is cut. */
export const DRAIN_GRACE_MS = 1000;

export function isSuccessStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The media type of a response, lowercased, without parameters ("text/event-stream"); "" when absent. */
export function mediaType(headers: ResponseHeaders): string {
  return (headerValue(headers, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Reads a body as UTF-8, at most `limitBytes` of it: a longer body is cut there and destroyed
 * rather than buffered (`truncated: true`; a character cut in two ends in U+FFFD).
 * @throws whatever reading the body throws (a connection lost mid-body); classify it with
 *   `classifyTransportError(err, "body", signal)`.
 */
export async function readText(
  body: Readable,
  limitBytes: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = limitBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      discard(body);
      return { text: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
}

/**
 * Parses JSON an upstream sent.
 * @param message The fixed description of what was expected, used as the error message.
 * @throws ProviderError class "protocol" with `message`; the text is kept in `cause` only.
 */
export function parseJson(text: string, message: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw protocolError(message, { body: text, cause });
  }
}

/**
 * Lets a finished response's last bytes (a chunked body's terminator, trailing keep-alive
 * comments) arrive and be discarded, so undici can hand the socket back to the pool; a body still
 * open after `graceMs` is destroyed, closing its connection.
 */
export function releaseAfterDrain(body: Readable, graceMs: number = DRAIN_GRACE_MS): void {
  if (body.readableEnded || body.destroyed) return;
  const cut = setTimeout(() => discard(body), graceMs);
  cut.unref();
  body.once("close", () => clearTimeout(cut));
  body.on("error", () => {});
  body.resume();
}

/**
 * Destroys a body nobody reads any more, closing its connection. undici's body then emits an
 * 'error' (RequestAbortedError) that nobody is listening to, which would end the process as an
 * uncaught exception: it is expected here, so it is swallowed.
 */
export function discard(body: Readable): void {
  if (body.listenerCount("error") === 0) body.on("error", () => {});
  body.destroy();
}

/**
 * What happens to a response body when its reader stops: nothing when it was read to its end; when
 * the answer was complete (`answered`, the vendor's end marker seen) and the call not aborted,
 * {@link releaseAfterDrain}, so the connection is reused; on any other early stop (the consumer
 * quit, an error, an abort) the body is destroyed, which closes the connection, so the upstream
 * stops generating and billing.
 */
export function disposeBody(body: Readable, options: { answered: boolean; signal: AbortSignal }): void {
  if (body.readableEnded) return;
  if (options.answered && !options.signal.aborted) releaseAfterDrain(body);
  else discard(body);
}
