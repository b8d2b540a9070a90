import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { nestsDeeperThan } from "../transport/json-guard.js";
import { type OpenAiError, openAiError } from "./openai-errors.js";

export type JsonBody =
  | { kind: "ok"; json: unknown }
  | { kind: "refused"; error: OpenAiError }
  /** The caller went away while sending it: nobody to answer. */
  | { kind: "gone" };

/**
 * Reads a JSON request body within the listener's bounds: at most `maxBytes` (413 as soon as the
 * declared length or the bytes received pass it; reading stops there, and an HTTP/1.1 connection
 * is closed after the answer rather than drained of the rest), nesting at most `maxDepth`
 * (checked on the bytes before parsing), valid UTF-8 (never quietly turned into U+FFFD), no
 * `__proto__` key. How long the body may take to arrive is the server's `requestTimeoutMs`, which
 * the listener's HTTP servers enforce on every request.
 */
export async function readJsonBody(
  request: Readable & { headers: IncomingHttpHeaders; httpVersionMajor: number },
  limits: { maxBytes: number; maxDepth: number },
): Promise<JsonBody> {
  const type = request.headers["content-type"];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type))
    return refused(415, "content-type must be application/json");
  const encoding = request.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity")
    return refused(415, "content-encoding is not supported: send the body uncompressed");
  const closing: Record<string, string> = request.httpVersionMajor === 1 ? { connection: "close" } : {};
  if (Number(request.headers["content-length"] ?? 0) > limits.maxBytes)
    return tooLarge(limits.maxBytes, closing);

  const received = await receive(request, limits.maxBytes);
  if (received === "gone") return { kind: "gone" };
  if (received === "too_large") return tooLarge(limits.maxBytes, closing);
  const bytes = received;
  if (bytes.length === 0) return refused(400, "the request body is empty: send the request as a JSON object");
  if (nestsDeeperThan(bytes, limits.maxDepth))
    return refused(400, `the JSON body nests deeper than ${limits.maxDepth} levels`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return refused(400, "the request body is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Where, not what: V8's message quotes the caller's text.
    const at = /position (\d+)/.exec((error as SyntaxError).message)?.[1];
    return refused(
      400,
      `the request body is not valid JSON${at === undefined ? "" : ` (at character ${at})`}`,
    );
  }
  // A `__proto__` key would be dropped or taken for the prototype by what reads the body next;
  // refused rather than ignored. Only bodies that mention it pay for the second look.
  if (text.includes('"__proto__"') && hasProtoKey(json))
    return refused(400, "the request body has a __proto__ key, which this router refuses");
  return { kind: "ok", json };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The body, or why there is none: over `maxBytes` (reading stops there), or the caller left. */
function receive(request: Readable, maxBytes: number): Promise<Buffer | "too_large" | "gone"> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: Buffer | "too_large" | "gone") => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onGone);
      request.off("close", onClose);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Not destroyed: the 413 must still reach the caller. Nothing more is read.
        request.pause();
        settle("too_large");
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle(Buffer.concat(chunks, size));
    const onGone = () => settle("gone");
    const onClose = () => {
      if (!request.readableEnded) settle("gone");
    };
    request.on("data", onData);
    request.once("end", onEnd);
    request.once("error", onGone);
    request.once("close", onClose);
  });
}

function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(hasProtoKey);
  return Object.keys(value).some(
    (key) => key === "__proto__" || hasProtoKey((value as Record<string, unknown>)[key]),
  );
}

function refused(status: number, message: string, headers: Record<string, string> = {}): JsonBody {
  return { kind: "refused", error: openAiError(status, "invalid_request_error", message, { headers }) };
}

function tooLarge(maxBytes: number, headers: Record<string, string>): JsonBody {
  return refused(413, `the request body is larger than maxBodyBytes ${maxBytes}`, headers);
}
