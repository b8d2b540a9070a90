import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { nestsDeeperThan } from "../transport/json-guard.js";
import { type OpenAiError, openAiError } from "./openai-errors.js";

/**
 * Reads a JSON request body within the listener's bounds: at most `maxBytes` (413 as soon as it
 * is passed, with nothing more read), nesting at most `maxDepth` (checked on the bytes before
 * parsing), valid UTF-8 (never quietly turned into U+FFFD). How long the body may take to arrive is
 * the server's `requestTimeoutMs`, enforced by the listener for every request.
 */
export async function readJsonBody(
  request: Readable & { headers: IncomingHttpHeaders },
  limits: { maxBytes: number; maxDepth: number },
): Promise<{ ok: true; json: unknown } | { ok: false; error: OpenAiError }> {
  const type = request.headers["content-type"];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type))
    return refused(415, `content-type must be application/json, not ${JSON.stringify(type.slice(0, 60))}`);
  const encoding = request.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity")
    return refused(415, "content-encoding is not supported: send the body uncompressed");
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > limits.maxBytes) return tooLarge(limits.maxBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBytes) {
      request.destroy();
      return tooLarge(limits.maxBytes);
    }
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks, size);
  if (size === 0) return refused(400, "the request body is empty: send the request as a JSON object");
  if (nestsDeeperThan(bytes, limits.maxDepth))
    return refused(400, `the JSON body nests deeper than ${limits.maxDepth} levels`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return refused(400, "the request body is not valid UTF-8");
  }
  try {
    return { ok: true, json: JSON.parse(text) };
  } catch (error) {
    // Where, not what: V8's message quotes the caller's text.
    const at = /position (\d+)/.exec((error as SyntaxError).message)?.[1];
    return refused(
      400,
      `the request body is not valid JSON${at === undefined ? "" : ` (at character ${at})`}`,
    );
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function refused(status: number, message: string): { ok: false; error: OpenAiError } {
  return { ok: false, error: openAiError(status, "invalid_request_error", message) };
}

function tooLarge(maxBytes: number): { ok: false; error: OpenAiError } {
  return refused(413, `the request body is larger than maxBodyBytes ${maxBytes}`);
}
