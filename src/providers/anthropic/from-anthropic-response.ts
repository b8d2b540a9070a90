import { isPlainObject } from "../../core/json.js";
import type { FinishReason, ToolCall, Usage } from "../../core/types.js";
import { readSseEvents } from "../http/sse-reader.js";
import { protocolError } from "../provider-error.js";
import { argumentsText } from "../tool-arguments.js";
import type { Completion, StreamPart } from "../types.js";
import { trustedTokenCount } from "../usage.js";
import { classifyErrorEvent } from "./anthropic-errors.js";
import {
  KNOWN_EVENT_TYPES,
  messageSchema,
  type StreamEvent,
  streamEventSchema,
} from "./anthropic-schemas.js";

/** How the answer was asked for: the emulated JSON-output tool, when there is one (to-anthropic-request.ts). */
export interface AnswerOptions {
  /** That tool's input is the answer text; text blocks beside it are dropped. */
  jsonToolName?: string;
}

/**
 * Maps Anthropic's `stop_reason` onto ours.
 * https://docs.anthropic.com/en/docs/build-with-claude/handling-stop-reasons
 *
 * `max_tokens` and `model_context_window_exceeded` cut the answer: "length". `refusal` is the
 * model declining: "content_filter". `tool_use` is "tool_calls" when the caller's tools were called
 * (`sawToolCalls`), "stop" when only the emulated JSON tool was (its input is the answer).
 * `pause_turn` (a server-tool loop paused; we offer no server tools) and everything else is "stop",
 * or "tool_calls" when the turn called tools.
 */
export function mapStopReason(raw: string | null | undefined, sawToolCalls: boolean): FinishReason {
  switch (raw) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "refusal":
      return "content_filter";
    default:
      return sawToolCalls ? "tool_calls" : "stop";
  }
}

/**
 * Our Usage from Anthropic's usage object, or undefined unless it can be trusted. Anthropic's
 * `input_tokens` counts only the input after the last cache breakpoint: those read from the cache
 * (`cache_read_input_tokens`) and written to it (`cache_creation_input_tokens`) are counted apart,
 * so inputTokens is the sum of the three, with the two cache counts also reported on their own
 * when the usage names them. A cache count that is absent or null was not reported (0 in the
 * sum); one that is present and not a believable count makes the whole usage untrusted.
 * https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance
 */
export function readAnthropicUsage(usage: unknown): Usage | undefined {
  if (typeof usage !== "object" || usage === null || Array.isArray(usage)) return undefined;
  const record = usage as Record<string, unknown>;
  const input = trustedTokenCount(record.input_tokens);
  const output = trustedTokenCount(record.output_tokens);
  const read = optionalCount(record.cache_read_input_tokens);
  const write = optionalCount(record.cache_creation_input_tokens);
  if (input === undefined || output === undefined || read === false || write === false) return undefined;
  const total = trustedTokenCount(input + (read ?? 0) + (write ?? 0));
  if (total === undefined) return undefined;
  const result: Usage = { inputTokens: total, outputTokens: output };
  if (read !== undefined) result.cachedInputTokens = read;
  if (write !== undefined) result.cacheWriteInputTokens = write;
  return result;
}

/** A count that may be absent (undefined), or false when present but not believable. */
function optionalCount(value: unknown): number | undefined | false {
  if (value === undefined || value === null) return undefined;
  return trustedTokenCount(value) ?? false;
}

/** Turns stream event payloads into StreamParts; state lives in the closure. */
export interface EventMapper {
  /**
   * Maps one event's data (already JSON-parsed, of a known type) to zero or more parts.
   * `message_stop` yields the single `response-end`.
   * @throws ProviderError class "protocol" for an event out of order (content before
   *   `message_start`, a delta for a block never started, a text delta on a tool block…), one
   *   that does not fit its type, or a `message_stop` without a stop_reason.
   */
  push(event: unknown): StreamPart[];
  /** True once `message_stop` was mapped. */
  readonly ended: boolean;
}

type Block =
  | { kind: "text" }
  | { kind: "tool"; index: number; sawArguments: boolean; input: unknown; stopped: boolean }
  | { kind: "json"; sawArguments: boolean; input: unknown; stopped: boolean }
  | { kind: "other" };

/**
 * Creates the per-stream event mapper.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 *
 * - `message_start` carries the input counts; `message_delta` the stop_reason and the output count,
 *   cumulative (newer API versions repeat the input counts there too): each field overwrites the
 *   one before, never adds. A `usage` part follows each `message_delta` whose usage can be trusted;
 *   `message_start` alone is no report (its output count is a placeholder), so without a
 *   `message_delta` usage there is none.
 * - `text` blocks → text-delta. `tool_use` blocks → tool-call-delta numbered in order of the tool
 *   blocks (0, 1…; Anthropic's block index counts text blocks too), id and name on the first piece,
 *   then each `input_json_delta` fragment; a tool whose input came whole (in
 *   `content_block_start`) or not at all gets one piece with JSON.stringify of it ("{}") at its
 *   `content_block_stop`. The emulated JSON tool's input is text-delta instead, and other text is
 *   dropped then. Blocks of types we do not ask for (thinking, server tools) are skipped.
 */
export function createEventMapper(options: AnswerOptions = {}): EventMapper {
  const blocks = new Map<number, Block>();
  let started = false;
  let ended = false;
  let toolCount = 0;
  let stopReason: string | undefined;
  let rawUsage: Record<string, unknown> = {};
  let usage: Usage | undefined;

  function finishTool(block: Extract<Block, { kind: "tool" | "json" }>): StreamPart[] {
    if (block.stopped) return [];
    block.stopped = true;
    if (block.sawArguments) return [];
    const whole = isPlainObject(block.input) ? argumentsText(block.input) : "{}";
    return block.kind === "json"
      ? [{ type: "text-delta", delta: whole }]
      : [{ type: "tool-call-delta", index: block.index, argumentsDelta: whole }];
  }

  function blockAt(index: number): Block {
    const block = blocks.get(index);
    if (block === undefined) throw protocolError("upstream sent a delta for a content block never started");
    return block;
  }

  function map(event: StreamEvent): StreamPart[] {
    if (event.type === "ping") return [];
    if (event.type === "message_start") {
      if (started) throw protocolError("upstream sent message_start twice");
      started = true;
      mergeUsage(event.message.usage);
      return [];
    }
    if (!started) throw protocolError("upstream stream did not begin with message_start");
    switch (event.type) {
      case "content_block_start": {
        if (blocks.has(event.index)) throw protocolError("upstream started a content block twice");
        const start = event.content_block;
        if (start.type === "text") {
          blocks.set(event.index, { kind: "text" });
          return start.text && options.jsonToolName === undefined
            ? [{ type: "text-delta", delta: start.text }]
            : [];
        }
        if (start.type === "tool_use") {
          if (start.name === undefined || start.name === "" || start.id === undefined)
            throw protocolError("upstream tool_use block has no id or name");
          if (options.jsonToolName !== undefined && start.name === options.jsonToolName) {
            blocks.set(event.index, {
              kind: "json",
              sawArguments: false,
              input: start.input,
              stopped: false,
            });
            return [];
          }
          const index = toolCount;
          toolCount += 1;
          blocks.set(event.index, {
            kind: "tool",
            index,
            sawArguments: false,
            input: start.input,
            stopped: false,
          });
          return [{ type: "tool-call-delta", index, id: start.id, name: start.name, argumentsDelta: "" }];
        }
        blocks.set(event.index, { kind: "other" });
        return [];
      }
      case "content_block_delta": {
        const block = blockAt(event.index);
        const { delta } = event;
        if (delta.type === "text_delta") {
          if (block.kind !== "text" || delta.text === undefined)
            throw protocolError("upstream sent a text delta that does not fit its block");
          return delta.text === "" || options.jsonToolName !== undefined
            ? []
            : [{ type: "text-delta", delta: delta.text }];
        }
        if (delta.type === "input_json_delta") {
          if ((block.kind !== "tool" && block.kind !== "json") || delta.partial_json === undefined)
            throw protocolError("upstream sent an input_json_delta that does not fit its block");
          if (block.stopped) throw protocolError("upstream sent a delta for a stopped content block");
          if (delta.partial_json === "") return [];
          block.sawArguments = true;
          return block.kind === "json"
            ? [{ type: "text-delta", delta: delta.partial_json }]
            : [{ type: "tool-call-delta", index: block.index, argumentsDelta: delta.partial_json }];
        }
        // thinking_delta, signature_delta, citations_delta…: not part of our answer.
        return [];
      }
      case "content_block_stop": {
        const block = blockAt(event.index);
        return block.kind === "tool" || block.kind === "json" ? finishTool(block) : [];
      }
      case "message_delta": {
        if (event.delta.stop_reason) stopReason = event.delta.stop_reason;
        mergeUsage(event.usage);
        const reported = readAnthropicUsage(rawUsage);
        // Only a message_delta's output count is a report; message_start's is a placeholder.
        if (reported === undefined || !hasOutputCount(event.usage)) return [];
        usage = reported;
        return [{ type: "usage", usage }];
      }
      case "message_stop": {
        ended = true;
        if (stopReason === undefined) throw protocolError("upstream stream ended without a stop_reason");
        const parts: StreamPart[] = [];
        for (const block of blocks.values())
          if (block.kind === "tool" || block.kind === "json") parts.push(...finishTool(block));
        const end: StreamPart = {
          type: "response-end",
          finishReason: mapStopReason(stopReason, toolCount > 0),
        };
        if (usage !== undefined) end.usage = usage;
        parts.push(end);
        return parts;
      }
    }
  }

  function mergeUsage(value: unknown): void {
    if (!isPlainObject(value)) return;
    const next = { ...rawUsage };
    for (const [key, field] of Object.entries(value))
      if (field !== null && field !== undefined) next[key] = field;
    rawUsage = next;
  }

  return {
    push(payload) {
      if (ended) throw protocolError("upstream sent an event after message_stop");
      const parsed = streamEventSchema.safeParse(payload);
      if (!parsed.success)
        throw protocolError("upstream stream event does not fit its type", {
          event: payload,
          issues: parsed.error.issues,
        });
      return map(parsed.data);
    },
    get ended() {
      return ended;
    },
  };
}

function hasOutputCount(usage: unknown): boolean {
  return isPlainObject(usage) && usage.output_tokens !== undefined && usage.output_tokens !== null;
}

/**
 * Decodes a Messages SSE body into StreamParts: the shared SSE reader (bytes → UTF-8 → events) →
 * JSON → {@link createEventMapper}. Ends with exactly one `response-end`, at `message_stop` (also
 * when the body ends before that event's closing blank line); whatever follows is read and ignored
 * so a keep-alive connection stays reusable. `ping` and event types this reader does not know are
 * skipped, as the reference asks.
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * Cancellation: stopping iteration early (`return()`) stops iterating `bytes`, which for a Node
 * stream destroys it (and so the upstream request).
 *
 * @throws ProviderError the classified upstream error for an `error` event (`overloaded_error`
 *   mid-stream…); class "protocol" when the bytes end before `message_stop`, when an event's data is
 *   not JSON or does not fit its type, or when one event outgrows the buffer. Errors thrown by
 *   `bytes` propagate unchanged.
 */
export async function* decodeAnthropicStream(
  bytes: AsyncIterable<Uint8Array>,
  options: AnswerOptions = {},
): AsyncGenerator<StreamPart, void> {
  const mapper = createEventMapper(options);
  for await (const event of readSseEvents(bytes)) {
    if (mapper.ended) continue;
    let payload: unknown;
    try {
      payload = JSON.parse(event.data);
    } catch (cause) {
      throw protocolError(
        event.event === "error"
          ? "upstream sent a malformed error event"
          : "upstream stream event is not JSON",
        { data: event.data, cause },
      );
    }
    const type = isPlainObject(payload) && typeof payload.type === "string" ? payload.type : event.event;
    if (event.event === "error" || type === "error") throw classifyErrorEvent(payload);
    if (type === undefined || !KNOWN_EVENT_TYPES.has(type)) continue;
    yield* mapper.push(payload);
  }
  if (!mapper.ended) throw protocolError("upstream stream ended without message_stop");
}

/**
 * Maps a whole Message (what a proxy that ignores `stream: true` sends; already JSON-parsed) to a
 * Completion, by the same rules as the stream: tool inputs as JSON text, the emulated JSON tool's
 * input as the content.
 * https://docs.anthropic.com/en/api/messages
 *
 * @throws ProviderError the classified error for an error body answered with 200; class
 *   "protocol" for a body that is not a Message or has no stop_reason.
 */
export function fromAnthropicMessage(body: unknown, options: AnswerOptions = {}): Completion {
  if (isPlainObject(body) && body.type === "error") throw classifyErrorEvent(body);
  const parsed = messageSchema.safeParse(body);
  if (!parsed.success)
    throw protocolError("upstream body is not a Message", { body, issues: parsed.error.issues });
  const { content, stop_reason: stopReason } = parsed.data;
  if (!stopReason) throw protocolError("upstream Message has no stop_reason", { body });
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    const input = isPlainObject(block.input) ? argumentsText(block.input) : "{}";
    if (block.type === "text" && options.jsonToolName === undefined) texts.push(block.text ?? "");
    else if (block.type === "tool_use" && block.name === options.jsonToolName) texts.push(input);
    else if (block.type === "tool_use")
      toolCalls.push({ id: block.id ?? "", name: block.name ?? "", arguments: input });
  }
  const completion: Completion = {
    content: texts.join(""),
    toolCalls,
    finishReason: mapStopReason(stopReason, toolCalls.length > 0),
  };
  const usage = readAnthropicUsage(parsed.data.usage);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}
