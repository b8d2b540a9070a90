import type { ErrorClass } from "../../core/types.js";
import {
  errorBodyJson,
  errorClassForStatus,
  httpStatusError,
  type ResponseHeaders,
} from "../http/http-errors.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { ollamaErrorBodySchema } from "./ollama-schemas.js";

/*
 * Ollama's errors are `{"error":"<free text>"}` with no type or code
 * (https://github.com/ollama/ollama/blob/main/docs/api/errors.mdx): 400 bad request, 404 model not
 * found, 429 rate limited (ollama.com), 500 the model failed, 502 a cloud model unreachable; 401/403
 * from ollama.com. Before the first line the status carries the class; once the NDJSON stream has
 * started, the error comes as a `{"error":"…"}` line and its status is lost (the server would have
 * sent 500). The text can echo the prompt or the model name, so it never reaches a message: a few
 * known phrasings (from server/routes.go and llm/llama_server.go in ollama/ollama) select a class
 * and one of our own fixed labels below.
 */

/** What the error text is known to mean, as our own words (never the upstream's). */
interface KnownError {
  label: string;
  /** The class this meaning implies, over the one from the status. */
  errorClass?: ErrorClass;
}

const KNOWN_ERRORS: ReadonlyArray<{ pattern: RegExp; known: KnownError }> = [
  // "the input length exceeds the context length", "input after truncation exceeds maximum context
  // length", "the prompt is longer than the context length currently available to the model…"
  {
    pattern: /context length|context window|exceeds the available context/i,
    known: { label: "context length exceeded", errorClass: "context_length" },
  },
  // "model 'llama3.2' not found" (404), "model "x" not found, try pulling it first" (older).
  { pattern: /\bmodel\b.*\bnot found\b/i, known: { label: "model not found" } },
  // `"x" does not support tools` / chat / thinking / insert / generate.
  { pattern: /does not support tools/i, known: { label: "model does not support tools" } },
  {
    pattern: /does not support (?:chat|generate|insert|thinking)/i,
    known: { label: "model does not support this request" },
  },
  // ollama.com: {"error":"unauthorized","signin_url":…}
  { pattern: /^unauthorized$/i, known: { label: "unauthorized" } },
];

function knownError(text: string | undefined): KnownError | undefined {
  if (text === undefined) return undefined;
  return KNOWN_ERRORS.find(({ pattern }) => pattern.test(text))?.known;
}

/** The error text of an Ollama error body (already JSON-parsed), or undefined when it is not one. */
export function ollamaErrorText(body: unknown): string | undefined {
  const parsed = ollamaErrorBodySchema.safeParse(body);
  return parsed.success ? parsed.data.error : undefined;
}

/**
 * Classifies a non-2xx response. The class comes from the status (http-errors.ts), except that an
 * error text about the context length makes it "context_length" whatever the 4xx/5xx (Ollama
 * answers some of those with 500). A missing model (404) stays "invalid_request", as OpenAI's
 * `model_not_found` does: the same target will answer the same way until the model is pulled.
 * `bodyText` goes into `cause` only; the message carries the status and our own label.
 */
export function classifyOllamaHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const text = ollamaErrorText(errorBodyJson(bodyText));
  const known = knownError(text);
  const byStatus = errorClassForStatus(status);
  const errorClass =
    known?.errorClass !== undefined && (byStatus === "invalid_request" || byStatus === "server")
      ? known.errorClass
      : byStatus;
  return httpStatusError(status, headers, {
    errorClass,
    ...(known !== undefined && { detail: known.label }),
    cause: { status, body: bodyText },
    nowMs,
  });
}

/**
 * Classifies an error line that arrived in a 200 stream (or a 200 JSON body that is an error):
 * "context_length" when the text says so, otherwise "server", the status Ollama gives a failure
 * once generation has started (the model crashed, ran out of memory, the runner went away).
 * Returns a "protocol" error for a value that is not an error body.
 */
export function classifyOllamaStreamError(payload: unknown): ProviderError {
  const text = ollamaErrorText(payload);
  if (text === undefined) return protocolError("upstream sent an unrecognised error", payload);
  const known = knownError(text);
  const errorClass = known?.errorClass ?? "server";
  const detail = known === undefined ? "" : ` (${known.label})`;
  return new ProviderError(errorClass, `upstream reported an error${detail}`, { cause: { body: payload } });
}

/** Whether a parsed line is an error line (`{"error":…}`) rather than a chat chunk. */
export function isOllamaErrorLine(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>).error !== undefined &&
    (value as Record<string, unknown>).error !== null
  );
}
