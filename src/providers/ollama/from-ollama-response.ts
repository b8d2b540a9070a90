import { randomUUID } from "node:crypto";
import type { FinishReason, Usage } from "../../core/types.js";
import { readNdjson } from "../http/ndjson-reader.js";
import { protocolError } from "../provider-error.js";
import { argumentsText } from "../tool-arguments.js";
import type { StreamPart } from "../types.js";
import { trustedUsage } from "../usage.js";
import { classifyOllamaStreamError, isOllamaErrorLine } from "./ollama-errors.js";
import { type OllamaChatChunk, ollamaChatChunkSchema } from "./ollama-schemas.js";

/** Longest NDJSON line we buffer before declaring the stream broken. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Maps Ollama's `done_reason` onto ours. Ollama says "stop" (also on a turn that called tools:
 * callers decide whether to run tools by this value, so such a turn reports "tool_calls") or
 * "length" (num_predict reached); older releases sent none at all, and a server cut off by its
 * client says "" (omitted). Those count as "stop".
 * https://github.com/ollama/ollama/blob/main/llm/server.go (DoneReason)
 *
 * @throws ProviderError class "protocol" for "load" / "unload": the server only loaded or unloaded
 *   the model and generated nothing, which a chat request with messages never asks for.
 */
export function mapDoneReason(raw: string | null | undefined, sawToolCalls: boolean): FinishReason {
  if (raw === "length") return "length";
  if (raw === "load" || raw === "unload")
    throw protocolError("upstream answered without generating", { raw });
  return sawToolCalls ? "tool_calls" : "stop";
}

/**
 * Usage from the final line's `prompt_eval_count` (every prompt token, those served from the
 * prompt cache included: llama_server.go counts cache + evaluated) and `eval_count`. Ollama writes
 * both with Go's `omitempty`, so a count of 0 is left out: when one of them is there, the other's
 * absence means 0. When neither is there (a server or proxy that reports no metrics), there is no
 * usage, never a made-up zero. Ollama reports no cached-token count.
 * https://github.com/ollama/ollama/blob/main/api/types.go (Metrics)
 * https://github.com/ollama/ollama/blob/main/docs/api/usage.mdx
 */
export function readOllamaUsage(
  chunk: Pick<OllamaChatChunk, "prompt_eval_count" | "eval_count">,
): Usage | undefined {
  const input = chunk.prompt_eval_count;
  const output = chunk.eval_count;
  if (input === undefined && output === undefined) return undefined;
  return trustedUsage(input ?? 0, output ?? 0);
}

/** Turns parsed /api/chat lines into StreamParts; state lives in the closure. */
export interface OllamaChunkMapper {
  /**
   * Maps one line (already JSON-parsed), or a whole non-streamed answer, to zero or more parts:
   * text, then one tool-call-delta per tool call (Ollama sends calls whole: id, name and the
   * arguments object as JSON text in one piece), then, on the `done: true` line, a `usage` part
   * when the counts can be trusted and the single `response-end`.
   * @throws ProviderError the classified upstream error for an `{"error":…}` line; class
   *   "protocol" for a value that is not a chat chunk, or any line after the `done` one.
   */
  push(value: unknown): StreamPart[];
  /** True once the `done: true` line has been mapped. */
  readonly ended: boolean;
}

/** A tool call id for calls that come without one (Ollama before 2025): `call_` and 24 hex digits. */
function randomToolCallId(): string {
  return `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/**
 * Creates the per-stream mapper.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-streaming-with-tools
 *
 * @param options.newToolCallId Makes the id of a tool call that arrives without one (default:
 *   random, so ids stay unique across the turns of a conversation).
 */
export function createOllamaChunkMapper(options: { newToolCallId?: () => string } = {}): OllamaChunkMapper {
  const newToolCallId = options.newToolCallId ?? randomToolCallId;
  let ended = false;
  let toolCalls = 0;

  return {
    get ended() {
      return ended;
    },
    push(value) {
      if (ended) throw protocolError("upstream sent a line after the final one");
      if (isOllamaErrorLine(value)) throw classifyOllamaStreamError(value);
      const parsed = ollamaChatChunkSchema.safeParse(value);
      if (!parsed.success) {
        throw protocolError("upstream stream line is not a chat chunk", {
          line: value,
          issues: parsed.error.issues,
        });
      }
      const chunk = parsed.data;
      const parts: StreamPart[] = [];
      const message = chunk.message;
      // `thinking` is the model's reasoning, not its answer: it is not passed on.
      if (message?.content) parts.push({ type: "text-delta", delta: message.content });
      for (const call of message?.tool_calls ?? []) {
        const args = call.function.arguments;
        parts.push({
          type: "tool-call-delta",
          // Our own count: Ollama's function.index restarts per line on some releases.
          index: toolCalls,
          id: call.id ? call.id : newToolCallId(),
          name: call.function.name,
          argumentsDelta:
            args === undefined || args === null
              ? "{}"
              : typeof args === "string"
                ? args || "{}"
                : argumentsText(args),
        });
        toolCalls += 1;
      }
      if (chunk.done) {
        ended = true;
        const finishReason = mapDoneReason(chunk.done_reason, toolCalls > 0);
        const usage = readOllamaUsage(chunk);
        if (usage === undefined) parts.push({ type: "response-end", finishReason });
        else parts.push({ type: "usage", usage }, { type: "response-end", finishReason, usage });
      }
      return parts;
    },
  };
}

/**
 * Decodes an /api/chat NDJSON body (`application/x-ndjson`) into StreamParts: the shared NDJSON
 * reader (bytes → lines → JSON) → {@link createOllamaChunkMapper}. Ends with exactly one
 * `response-end`, at the `done: true` line (also when that line lacks its final newline); iteration
 * stops there, and whatever follows is left to the caller's drain so the connection stays reusable.
 * https://github.com/ollama/ollama/blob/main/docs/api/streaming.mdx
 *
 * Cancellation: stopping iteration early (`return()`) stops iterating `bytes`, which for a Node
 * stream destroys it (and so the upstream request).
 *
 * @throws ProviderError class "protocol" when the bytes end before the `done: true` line, when a
 *   line is not JSON or not a chat chunk, or when one outgrows the buffer; the classified upstream
 *   error for an `{"error":…}` line. Errors thrown by `bytes` propagate unchanged.
 */
export async function* decodeOllamaStream(
  bytes: AsyncIterable<Uint8Array>,
  options: { newToolCallId?: () => string } = {},
): AsyncGenerator<StreamPart, void> {
  const mapper = createOllamaChunkMapper(options);
  for await (const value of readNdjson(bytes, { maxLineBytes: MAX_LINE_BYTES })) {
    yield* mapper.push(value);
    if (mapper.ended) return;
  }
  throw protocolError("upstream stream ended without its final (done) line");
}
