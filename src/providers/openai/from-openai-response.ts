import { isPlainObject } from "../../core/json.js";
import type { FinishReason, ToolCall, Usage } from "../../core/types.js";
import { readSseEvents } from "../http/sse-reader.js";
import { ProviderError, protocolError } from "../provider-error.js";
import type { Completion, StreamPart } from "../types.js";
import { trustedTokenCount, trustedUsage } from "../usage.js";
import { classifyErrorPayload } from "./openai-errors.js";
import { chatCompletionChunkSchema, chatCompletionSchema } from "./openai-schemas.js";

/**
 * Maps OpenAI's `finish_reason` onto ours.
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 *
 * `function_call` is the deprecated spelling of `tool_calls`; `model_length` is Mistral's. Ollama and
 * older vLLM report "stop" on a turn that called tools; callers decide whether to run tools by this
 * value, so a turn that produced tool calls reports "tool_calls". Unknown or missing values count as
 * "stop". ("error", Mistral's and OpenRouter's, is not an ending: see {@link failedFinish}.)
 * https://docs.mistral.ai/api/#tag/chat (finish_reason)
 */
export function mapFinishReason(raw: string | null | undefined, sawToolCalls: boolean): FinishReason {
  switch (raw) {
    case "length":
    // Mistral: the model's context window, rather than max_tokens, cut the answer.
    case "model_length":
      return "length";
    case "content_filter":
      return "content_filter";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    default:
      return sawToolCalls ? "tool_calls" : "stop";
  }
}

/**
 * `finish_reason: "error"` (Mistral; OpenRouter when a provider fails mid-generation): the answer
 * broke off, it did not end. OpenRouter sends an `error` object with it, which is classified
 * first; bare, it is a server failure like a 5xx.
 * https://openrouter.ai/docs/api-reference/streaming#handling-errors-during-streaming
 */
function failedFinish(raw: string | null | undefined): ProviderError | undefined {
  return raw === "error"
    ? new ProviderError("server", "upstream reported an error (finish_reason error)", { cause: { raw } })
    : undefined;
}

/**
 * Maps a unary chat-completions body (already JSON-parsed) to a Completion. Only choice 0 is
 * read: we never ask for `n > 1`.
 * https://platform.openai.com/docs/api-reference/chat/object
 *
 * @throws ProviderError the classified upstream error when the body is an error envelope (some
 *   gateways answer 200 with one); class "protocol" when it is not a chat.completion at all.
 */
export function fromOpenAiResponse(body: unknown): Completion {
  if (isErrorEnvelope(body)) throw classifyErrorPayload(body);
  const parsed = chatCompletionSchema.safeParse(body);
  if (!parsed.success) {
    throw protocolError("upstream body is not a chat.completion", { body, issues: parsed.error.issues });
  }
  const choice = parsed.data.choices.find((c) => (c.index ?? 0) === 0) ?? parsed.data.choices[0];
  if (choice === undefined) throw protocolError("upstream chat.completion has no choices", { body });

  const failed = failedFinish(choice.finish_reason);
  if (failed !== undefined) throw failed;
  const { message } = choice;
  const toolCalls: ToolCall[] = (message.tool_calls ?? []).map((call) => ({
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
  }));
  if (toolCalls.length === 0 && message.function_call) {
    toolCalls.push({ id: "", name: message.function_call.name, arguments: message.function_call.arguments });
  }
  const completion: Completion = {
    content: message.content ?? "",
    toolCalls,
    finishReason: mapFinishReason(choice.finish_reason, toolCalls.length > 0),
  };
  // A server that reports no usage (or none we can trust) is still an answer; the pipeline
  // estimates what it cost.
  const usage = readOpenAiUsage(parsed.data.usage);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}

/** Turns chat.completion.chunk payloads into StreamParts; state lives in the closure. */
export interface ChunkMapper {
  /**
   * Maps one `data:` payload (already JSON-parsed) to zero or more parts. A usage-bearing chunk
   * (normally the last, with `choices: []`) yields a `usage` part holding the totals so far, if
   * they can be trusted; usage that cannot is ignored, as if it had not been sent.
   * @throws ProviderError the classified upstream error for an `{"error":…}` payload; class
   *   "protocol" for a payload that is not a chat.completion.chunk.
   */
  push(chunk: unknown): StreamPart[];
  /**
   * The `data: [DONE]` sentinel: returns the single `response-end`, carrying the last
   * finish_reason and trusted usage seen (no usage at all when there was none).
   * @throws ProviderError class "protocol" when called twice, or when no answer came: neither
   *   content, a tool call nor a finish_reason for choice 0 (an empty answer needs a finish_reason).
   */
  done(): StreamPart[];
}

/**
 * Creates the per-stream chunk mapper.
 * https://platform.openai.com/docs/api-reference/chat-streaming/streaming
 *
 * Tool calls: OpenAI sends `index`, `id` and `function.name` on a call's first piece and only
 * `index` + `function.arguments` after; a part carries `id`/`name` only the first time they are seen
 * for an index, so a gateway repeating them does not read as a new call.
 */
export function createChunkMapper(): ChunkMapper {
  let finishReason: string | undefined;
  let usage: Usage | undefined;
  let ended = false;
  /** Content, a tool call or a finish_reason came for choice 0: there is an answer, if an empty one. */
  let answered = false;
  /** Per tool-call index: what has already been announced downstream. */
  const announced = new Map<number, { id?: string; name?: string }>();
  /** For servers that omit `index`: which index each call id was given. */
  const indexById = new Map<string, number>();

  function toolIndex(
    explicit: number | null | undefined,
    id: string | null | undefined,
    position: number,
  ): number {
    if (explicit !== null && explicit !== undefined) return explicit;
    if (id) {
      const known = indexById.get(id);
      if (known !== undefined) return known;
      const next = announced.size;
      indexById.set(id, next);
      return next;
    }
    return position;
  }

  function toolPiece(
    index: number,
    id: string | null | undefined,
    name: string | null | undefined,
    args: string | null | undefined,
  ): StreamPart | undefined {
    const seen = announced.get(index);
    const part: Extract<StreamPart, { type: "tool-call-delta" }> = {
      type: "tool-call-delta",
      index,
      argumentsDelta: args ?? "",
    };
    const state = seen ?? {};
    if (id && state.id === undefined) {
      part.id = id;
      state.id = id;
    }
    if (name && state.name === undefined) {
      part.name = name;
      state.name = name;
    }
    announced.set(index, state);
    if (
      seen !== undefined &&
      part.id === undefined &&
      part.name === undefined &&
      part.argumentsDelta === ""
    ) {
      return undefined;
    }
    return part;
  }

  return {
    push(chunk) {
      if (ended) throw protocolError("upstream sent a chunk after [DONE]");
      if (isErrorEnvelope(chunk)) throw classifyErrorPayload(chunk);
      const parsed = chatCompletionChunkSchema.safeParse(chunk);
      if (!parsed.success) {
        throw protocolError("upstream stream chunk is not a chat.completion.chunk", {
          chunk,
          issues: parsed.error.issues,
        });
      }
      const parts: StreamPart[] = [];
      for (const choice of parsed.data.choices ?? []) {
        if ((choice.index ?? 0) !== 0) continue;
        const delta = choice.delta;
        if (delta?.content) parts.push({ type: "text-delta", delta: delta.content });
        (delta?.tool_calls ?? []).forEach((call, position) => {
          const index = toolIndex(call.index, call.id, position);
          const part = toolPiece(index, call.id, call.function?.name, call.function?.arguments);
          if (part) parts.push(part);
        });
        if (delta?.function_call) {
          const part = toolPiece(0, undefined, delta.function_call.name, delta.function_call.arguments);
          if (part) parts.push(part);
        }
        const failed = failedFinish(choice.finish_reason);
        if (failed !== undefined) throw failed;
        if (choice.finish_reason) finishReason = choice.finish_reason;
        if (choice.finish_reason || parts.length > 0) answered = true;
      }
      const reported = readOpenAiUsage(parsed.data.usage);
      if (reported !== undefined) {
        usage = reported;
        parts.push({ type: "usage", usage });
      }
      return parts;
    },
    done() {
      if (ended) throw protocolError("upstream sent [DONE] twice");
      ended = true;
      // [DONE] after nothing we recognise (`{"foo":1}`, chunks without choices) is not an empty
      // answer: nothing said why it stopped. Usage alone does not make an answer either.
      if (!answered) throw protocolError("upstream stream ended without an answer");
      const end: StreamPart = {
        type: "response-end",
        finishReason: mapFinishReason(finishReason, announced.size > 0),
      };
      if (usage !== undefined) end.usage = usage;
      return [end];
    },
  };
}

/**
 * Decodes an OpenAI chat-completions SSE body into StreamParts: the shared SSE reader (bytes →
 * UTF-8 → events) → JSON → {@link createChunkMapper}. Ends with exactly one `response-end`, at
 * `data: [DONE]` (also when the body ends before that event's closing blank line); whatever
 * follows is read and ignored so a keep-alive connection stays reusable.
 * https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream
 *
 * Cancellation: stopping iteration early (`return()`) stops iterating `bytes`, which for a Node
 * stream destroys it (and so the upstream request).
 *
 * @throws ProviderError class "protocol" when the bytes end before `[DONE]`, when a payload is not
 *   JSON or not a chunk, or when one event outgrows the buffer; the classified upstream error for an
 *   error event or `{"error":…}` payload. Errors thrown by `bytes` propagate unchanged.
 */
export async function* decodeOpenAiStream(
  bytes: AsyncIterable<Uint8Array>,
): AsyncGenerator<StreamPart, void> {
  const mapper = createChunkMapper();
  let sawDone = false;
  for await (const event of readSseEvents(bytes)) {
    if (sawDone) continue;
    const data = event.data.trim();
    if (data === "[DONE]") {
      sawDone = true;
      yield* mapper.done();
      continue;
    }
    if (data === "") continue;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch (cause) {
      throw protocolError(
        event.event === "error"
          ? "upstream sent a malformed error event"
          : "upstream stream chunk is not JSON",
        { data, cause },
      );
    }
    if (event.event === "error") throw classifyErrorPayload(payload);
    yield* mapper.push(payload);
  }
  if (!sawDone) throw protocolError("upstream stream ended without [DONE]");
}

/**
 * OpenAI's usage object, when both counts can be trusted (see trustedUsage); otherwise undefined,
 * as if the server had sent none. `prompt_tokens` counts every input token, those read from the
 * prompt cache included; `prompt_tokens_details.cached_tokens` says how many were, and becomes
 * `cachedInputTokens` when it can be trusted (an integer no larger than `prompt_tokens`; a broken
 * one is ignored, it does not void the usage) and is not 0. `total_tokens` and the other details are not used.
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 * https://platform.openai.com/docs/guides/prompt-caching
 */
export function readOpenAiUsage(usage: unknown): Usage | undefined {
  if (!isPlainObject(usage)) return undefined;
  const { prompt_tokens, completion_tokens, prompt_tokens_details } = usage;
  const counted = trustedUsage(prompt_tokens, completion_tokens);
  if (counted === undefined || !isPlainObject(prompt_tokens_details)) return counted;
  const cached = trustedTokenCount(prompt_tokens_details.cached_tokens);
  // 0 (what OpenAI sends when nothing was cached) is left out: it prices the same as absent.
  return cached === undefined || cached === 0 || cached > counted.inputTokens
    ? counted
    : { ...counted, cachedInputTokens: cached };
}

function isErrorEnvelope(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (record.error !== undefined && record.error !== null) || record.object === "error";
}
