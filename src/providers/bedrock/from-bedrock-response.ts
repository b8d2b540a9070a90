import type { Message } from "@smithy/eventstream-codec";
import { toUtf8 } from "@smithy/util-utf8";
import type { FinishReason, ToolCall, Usage } from "../../core/types.js";
import { protocolError } from "../provider-error.js";
import { argumentsText } from "../tool-arguments.js";
import type { Completion, StreamPart } from "../types.js";
import { trustedTokenCount, trustedUsage } from "../usage.js";
import { classifyStreamException } from "./bedrock-errors.js";
import { readEventStream, stringHeader } from "./bedrock-event-stream.js";
import {
  contentBlockDeltaEventSchema,
  contentBlockStartEventSchema,
  contentBlockStopEventSchema,
  converseResponseSchema,
  messageStopEventSchema,
  metadataEventSchema,
} from "./bedrock-schemas.js";

/**
 * The largest event-stream message we buffer. AWS caps an event-stream message at 16 MiB of
 * payload plus 128 KiB of headers; Bedrock's are a few hundred bytes.
 */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 128 * 1024 + 16;

/** How a stream is read: which tool, if any, stands for the JSON answer (see to-bedrock-request.ts). */
export interface BedrockStreamOptions {
  /** The forced tool whose input is the JSON answer: streamed as text, not as a tool call. */
  jsonToolName?: string;
}

/**
 * Stop reasons that say the model's output is broken, not finished: failing the attempt lets the
 * next target serve instead of handing the caller a malformed tool call.
 */
const MALFORMED_OUTPUT = new Set(["malformed_model_output", "malformed_tool_use"]);

/**
 * Maps Bedrock's `stopReason` onto ours.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_MessageStopEvent.html
 *
 * `model_context_window_exceeded` cut the answer short like `max_tokens`. A turn that produced
 * tool calls reports "tool_calls" whatever the wire said (callers decide to run tools by it); a
 * `tool_use` stop that only called the JSON-answer tool is a finished answer, "stop". Unknown
 * values count as "stop".
 */
export function mapStopReason(raw: string | undefined, sawToolCalls: boolean): FinishReason {
  switch (raw) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    default:
      return sawToolCalls ? "tool_calls" : "stop";
  }
}

/**
 * Bedrock's TokenUsage as ours, when the counts can be trusted (see trustedUsage); otherwise
 * undefined, as if none had been sent. Bedrock's `inputTokens` leaves out the tokens read from
 * and written to the prompt cache (reported beside it, and counted in `totalTokens`), so they are
 * added back: our inputTokens is every input token.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
 * https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
 */
export function readBedrockUsage(usage: unknown): Usage | undefined {
  if (typeof usage !== "object" || usage === null || Array.isArray(usage)) return undefined;
  const { inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens } = usage as Record<
    string,
    unknown
  >;
  const cacheRead = optionalCount(cacheReadInputTokens);
  const cacheWrite = optionalCount(cacheWriteInputTokens);
  const input = trustedTokenCount(inputTokens);
  // A cache count that is there but cannot be trusted makes the whole report untrustworthy.
  if (cacheRead === null || cacheWrite === null || input === undefined) return undefined;
  const total = trustedUsage(input + (cacheRead ?? 0) + (cacheWrite ?? 0), outputTokens);
  if (total === undefined) return undefined;
  if (cacheRead !== undefined) total.cachedInputTokens = cacheRead;
  if (cacheWrite !== undefined) total.cacheWriteInputTokens = cacheWrite;
  return total;
}

/** A count that may be absent (undefined), or is present and trusted (the count), or not (null). */
function optionalCount(value: unknown): number | undefined | null {
  if (value === undefined || value === null) return undefined;
  return trustedTokenCount(value) ?? null;
}

/** Turns ConverseStream messages into StreamParts; state lives in the closure. */
export interface EventMapper {
  /**
   * Maps one decoded event-stream message to zero or more parts.
   * @throws ProviderError the classified upstream error for an exception (or error) message;
   *   class "protocol" for an event whose payload is not what its type promises, a tool delta
   *   for a block that never started, or a malformed-output stop reason.
   */
  push(message: Message): StreamPart[];
  /**
   * The end of the body: the `response-end` when `messageStop` came but `metadata` (usage) did
   * not follow it, nothing when it was already sent.
   * @throws ProviderError class "protocol" when the body ended before `messageStop`.
   */
  end(): StreamPart[];
  /** Whether the `response-end` has been produced. */
  readonly ended: boolean;
}

/**
 * Creates the per-stream event mapper.
 * https://docs.aws.amazon.com/bedrock/latest/userguide/conversation-inference-call.html#conversation-inference-call-response-converse-stream
 *
 * The order on the wire: `messageStart`; per content block, an optional `contentBlockStart`
 * (tool uses only: it carries `toolUseId` and `name`), `contentBlockDelta`s (`text`, or
 * `toolUse.input` fragments of the arguments' JSON text), `contentBlockStop`; `messageStop`
 * (`stopReason`: the end marker); then `metadata` (usage, metrics). The `response-end` goes out
 * once both `messageStop` and `metadata` have come (or at the end of the body, without usage,
 * when `metadata` never came). Events after it, and events of unknown types, are ignored.
 *
 * Tool calls are numbered 0, 1… in the order their blocks start (not by content block index,
 * which counts text blocks too). A tool block that streamed no input gets "{}".
 */
export function createEventMapper(options: BedrockStreamOptions = {}): EventMapper {
  let stopReason: string | undefined;
  let usage: Usage | undefined;
  let sawMetadata = false;
  let ended = false;
  /** Per content block index: the tool block it is, if one. */
  const toolBlocks = new Map<number, { index: number; json: boolean; gotInput: boolean }>();
  let toolCalls = 0;

  function payload(message: Message, eventType: string): unknown {
    const text = toUtf8(message.body);
    try {
      return text === "" ? {} : JSON.parse(text);
    } catch (cause) {
      throw protocolError("upstream event payload is not JSON", { eventType, text, cause });
    }
  }

  function parse<T>(
    schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
    value: unknown,
    eventType: string,
  ): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw protocolError("upstream event is not what its type promises", { eventType, value });
    return parsed.data;
  }

  function responseEnd(): StreamPart[] {
    ended = true;
    const end: StreamPart = { type: "response-end", finishReason: mapStopReason(stopReason, toolCalls > 0) };
    if (usage !== undefined) end.usage = usage;
    return [end];
  }

  function onEvent(eventType: string, body: unknown): StreamPart[] {
    switch (eventType) {
      case "contentBlockStart": {
        const event = parse(contentBlockStartEventSchema, body, eventType);
        const toolUse = event.start?.toolUse;
        if (toolUse === undefined) return [];
        if (toolBlocks.has(event.contentBlockIndex))
          throw protocolError("upstream started a content block twice", body);
        if (options.jsonToolName !== undefined && toolUse.name === options.jsonToolName) {
          toolBlocks.set(event.contentBlockIndex, { index: -1, json: true, gotInput: false });
          return [];
        }
        const index = toolCalls++;
        toolBlocks.set(event.contentBlockIndex, { index, json: false, gotInput: false });
        return [
          { type: "tool-call-delta", index, id: toolUse.toolUseId, name: toolUse.name, argumentsDelta: "" },
        ];
      }
      case "contentBlockDelta": {
        const event = parse(contentBlockDeltaEventSchema, body, eventType);
        const { text, toolUse } = event.delta;
        if (toolUse !== undefined) {
          const block = toolBlocks.get(event.contentBlockIndex);
          if (block === undefined)
            throw protocolError("upstream sent tool input for a block that never started", body);
          if (toolUse.input === "") return [];
          block.gotInput = true;
          return block.json
            ? [{ type: "text-delta", delta: toolUse.input }]
            : [{ type: "tool-call-delta", index: block.index, argumentsDelta: toolUse.input }];
        }
        // In JSON mode the answer is the JSON tool's input alone: text beside it ("Sure:") would
        // make it something other than JSON, so it is dropped, as the Anthropic adapter does.
        if (text === undefined || text === "" || options.jsonToolName !== undefined) return [];
        return [{ type: "text-delta", delta: text }];
      }
      case "contentBlockStop": {
        const event = parse(contentBlockStopEventSchema, body, eventType);
        const block = toolBlocks.get(event.contentBlockIndex);
        if (block === undefined || block.gotInput) return [];
        block.gotInput = true;
        // A call with no arguments still has a JSON document for them.
        return block.json
          ? [{ type: "text-delta", delta: "{}" }]
          : [{ type: "tool-call-delta", index: block.index, argumentsDelta: "{}" }];
      }
      case "messageStop": {
        const event = parse(messageStopEventSchema, body, eventType);
        if (MALFORMED_OUTPUT.has(event.stopReason)) {
          throw protocolError(`upstream model produced malformed output (${event.stopReason})`, body);
        }
        stopReason = event.stopReason;
        return sawMetadata ? responseEnd() : [];
      }
      case "metadata": {
        const event = parse(metadataEventSchema, body, eventType);
        sawMetadata = true;
        const reported = readBedrockUsage(event.usage);
        const parts: StreamPart[] = [];
        if (reported !== undefined) {
          usage = reported;
          parts.push({ type: "usage", usage });
        }
        // Metadata follows messageStop: it is the last event of a well-formed stream.
        if (stopReason !== undefined) parts.push(...responseEnd());
        return parts;
      }
      default:
        // messageStart and event types added after this was written.
        return [];
    }
  }

  return {
    push(message) {
      if (ended) return [];
      const messageType = stringHeader(message, ":message-type");
      if (messageType === "event") {
        const eventType = stringHeader(message, ":event-type") ?? "";
        return onEvent(eventType, payload(message, eventType));
      }
      if (messageType === "exception") {
        throw classifyStreamException(stringHeader(message, ":exception-type"), safePayload(message));
      }
      if (messageType === "error") {
        // The generic event-stream error: its code and message travel as headers.
        throw classifyStreamException(stringHeader(message, ":error-code"), {
          message: stringHeader(message, ":error-message"),
        });
      }
      throw protocolError("upstream event-stream message has no known :message-type", {
        messageType,
      });
    },
    end() {
      if (ended) return [];
      if (stopReason === undefined) throw protocolError("upstream stream ended without messageStop");
      return responseEnd();
    },
    get ended() {
      return ended;
    },
  };
}

/** An exception's payload as JSON when it is, else as text (it only goes into `cause`). */
function safePayload(message: Message): unknown {
  const text = toUtf8(message.body);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Decodes a ConverseStream body into StreamParts: the event-stream reader (bytes → messages, CRCs
 * checked) → {@link createEventMapper}. Ends with exactly one `response-end`; whatever follows it
 * is read and ignored so a keep-alive connection stays reusable.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 *
 * Cancellation: stopping iteration early (`return()`) stops iterating `bytes`, which for a Node
 * stream destroys it (and so the upstream request).
 *
 * @throws ProviderError class "protocol" when the bytes end before `messageStop` (inside a message
 *   or between two), or a message is malformed; the classified upstream error for an exception message.
 *   Errors thrown by `bytes` propagate unchanged.
 */
export async function* decodeBedrockStream(
  bytes: AsyncIterable<Uint8Array>,
  options: BedrockStreamOptions = {},
): AsyncGenerator<StreamPart, void> {
  const mapper = createEventMapper(options);
  const messages = readEventStream(bytes, { maxMessageBytes: MAX_MESSAGE_BYTES });
  for await (const message of messages) yield* mapper.push(message);
  // A body cut inside a message after messageStop (the metadata, say) still carried a whole
  // answer; before messageStop, end() fails it.
  yield* mapper.end();
}

/**
 * Maps a Converse (unary) response body, already JSON-parsed, to a Completion: what a server
 * answers when it does not stream. The JSON-answer tool's input becomes the text.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax
 *
 * @throws ProviderError class "protocol" when the body is not a Converse response, or its stop
 *   reason says the output is malformed.
 */
export function fromConverseResponse(body: unknown, options: BedrockStreamOptions = {}): Completion {
  const parsed = converseResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw protocolError("upstream body is not a Converse response", { body, issues: parsed.error.issues });
  }
  const { output, stopReason } = parsed.data;
  if (MALFORMED_OUTPUT.has(stopReason)) {
    throw protocolError(`upstream model produced malformed output (${stopReason})`, body);
  }
  let content = "";
  const toolCalls: ToolCall[] = [];
  for (const block of output.message.content) {
    if (block.text !== undefined && options.jsonToolName === undefined) content += block.text;
    if (block.toolUse === undefined) continue;
    const args = argumentsText(block.toolUse.input ?? {});
    if (options.jsonToolName !== undefined && block.toolUse.name === options.jsonToolName) content += args;
    else toolCalls.push({ id: block.toolUse.toolUseId, name: block.toolUse.name, arguments: args });
  }
  const completion: Completion = {
    content,
    toolCalls,
    finishReason: mapStopReason(stopReason, toolCalls.length > 0),
  };
  const usage = readBedrockUsage(parsed.data.usage);
  if (usage !== undefined) completion.usage = usage;
  return completion;
}
