import { z } from "zod";

/*
 * Shapes of what the Messages API sends back. Objects are loose: Anthropic's versioning policy
 * adds fields (stop_details, service_tier, cache_creation, container…) and event and block types
 * within a version, none of which may turn a good answer into a protocol error.
 * https://docs.anthropic.com/en/api/versioning
 */

/** Content-block indexes travel as uint32 in our contract: a larger value is a broken upstream. */
const index = z.int().nonnegative().max(4_294_967_295);

/**
 * Where usage goes. Not validated here: a usage object we cannot trust is treated as missing
 * (readAnthropicUsage), it does not make a good answer a protocol error.
 * https://docs.anthropic.com/en/api/messages#response-usage
 */
const usageField = z.unknown().optional();

/** A content block of an answer: `text`, `tool_use`, or a type we do not ask for (thinking, server tools). */
export const contentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
});

/** A whole Message (what a proxy that ignores `stream: true` answers). https://docs.anthropic.com/en/api/messages */
export const messageSchema = z.looseObject({
  type: z.literal("message"),
  id: z.string().nullish(),
  role: z.string().nullish(),
  model: z.string().nullish(),
  content: z.array(contentBlockSchema),
  stop_reason: z.string().nullish(),
  stop_sequence: z.string().nullish(),
  usage: usageField,
});

/**
 * The data of each stream event, by its `type`. Unknown types are not listed: the reader skips
 * them, as the reference asks of clients ("handle unknown event types gracefully").
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 */
export const streamEventSchema = z.discriminatedUnion("type", [
  z.looseObject({
    type: z.literal("message_start"),
    message: z.looseObject({ usage: usageField }),
  }),
  z.looseObject({
    type: z.literal("content_block_start"),
    index,
    content_block: contentBlockSchema,
  }),
  z.looseObject({
    type: z.literal("content_block_delta"),
    index,
    delta: z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
    }),
  }),
  z.looseObject({ type: z.literal("content_block_stop"), index }),
  z.looseObject({
    type: z.literal("message_delta"),
    delta: z.looseObject({ stop_reason: z.string().nullish(), stop_sequence: z.string().nullish() }),
    usage: usageField,
  }),
  z.looseObject({ type: z.literal("message_stop") }),
  z.looseObject({ type: z.literal("ping") }),
]);

export type StreamEvent = z.output<typeof streamEventSchema>;

/** Event types the stream reader knows; any other is skipped. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop",
  "ping",
]);

/**
 * An error, as an HTTP error body or a stream's `error` event:
 * `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_…"}`.
 * https://docs.anthropic.com/en/api/errors#error-shapes
 */
export const errorBodySchema = z.looseObject({
  type: z.literal("error").optional(),
  error: z.looseObject({
    type: z.string().nullish(),
    message: z.string().nullish(),
    details: z.looseObject({ error_code: z.string().nullish() }).nullish(),
  }),
});
