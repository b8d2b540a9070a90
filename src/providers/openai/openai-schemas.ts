import { z } from "zod";

/** Indexes travel as uint32 in our contract: a larger value is a broken upstream. */
const UINT32_MAX = 4_294_967_295;

/*
 * Shapes of what an OpenAI-compatible server sends back. Every object is loose: OpenAI keeps
 * adding fields (service_tier, obfuscation, annotations, prompt_tokens_details, …) and the
 * compatible servers add their own (vLLM's stop_reason, Azure's content_filter_results, OpenRouter's
 * provider), none of which may turn a good answer into a protocol error.
 */

/**
 * `function.arguments` is a JSON document as text on the wire; a few compatible servers send the
 * object itself, which we turn back into text so callers always see what the model produced.
 */
const toolArguments = z.union([
  z.string(),
  z.record(z.string(), z.unknown()).transform((value) => JSON.stringify(value)),
]);

/**
 * Where usage goes in a body or chunk. Not validated here: a usage object we cannot trust is
 * treated as missing (readOpenAiUsage), it does not make a good answer a protocol error.
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
const usageField = z.unknown().optional();

/** https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices */
const messageToolCallSchema = z.looseObject({
  // Ids are required by OpenAI, but early Ollama releases omitted them.
  id: z.string().default(""),
  type: z.string().nullish(),
  function: z.looseObject({ name: z.string(), arguments: toolArguments.default("") }),
});

const responseMessageSchema = z.looseObject({
  role: z.string().nullish(),
  content: z.string().nullish(),
  refusal: z.string().nullish(),
  tool_calls: z.array(messageToolCallSchema).nullish(),
  /** Deprecated `functions` API; still produced by some older compatible servers. */
  function_call: z.looseObject({ name: z.string(), arguments: toolArguments.default("") }).nullish(),
});

/** https://platform.openai.com/docs/api-reference/chat/object */
export const chatCompletionSchema = z.looseObject({
  id: z.string().nullish(),
  object: z.string().nullish(),
  model: z.string().nullish(),
  choices: z.array(
    z.looseObject({
      index: z.number().int().nonnegative().max(UINT32_MAX).nullish(),
      message: responseMessageSchema,
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: usageField,
});

/** https://platform.openai.com/docs/api-reference/chat-streaming/streaming */
const toolCallDeltaSchema = z.looseObject({
  // Mistral has been seen omitting it when a chunk carries one whole call.
  index: z.number().int().nonnegative().max(UINT32_MAX).nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z
    .looseObject({
      name: z.string().nullish(),
      arguments: toolArguments.nullish(),
    })
    .nullish(),
});

/** https://platform.openai.com/docs/api-reference/chat-streaming/streaming */
export const chatCompletionChunkSchema = z.looseObject({
  id: z.string().nullish(),
  object: z.string().nullish(),
  model: z.string().nullish(),
  // `[]` on the include_usage chunk and on Azure's prompt_filter_results chunk; vLLM sends null.
  choices: z
    .array(
      z.looseObject({
        index: z.number().int().nonnegative().max(UINT32_MAX).nullish(),
        delta: z
          .looseObject({
            role: z.string().nullish(),
            content: z.string().nullish(),
            refusal: z.string().nullish(),
            tool_calls: z.array(toolCallDeltaSchema).nullish(),
            function_call: z
              .looseObject({ name: z.string().nullish(), arguments: toolArguments.nullish() })
              .nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: usageField,
});

const errorCode = z.union([z.string(), z.number()]).nullish();

/**
 * The message, as text: Mistral's 422 validation errors put an object there
 * (`{"detail":[{"type":"extra_forbidden","loc":…,"msg":…}]}`), kept as its JSON.
 */
const errorMessage = z
  .union([z.string(), z.unknown().transform((value) => JSON.stringify(value) ?? "")])
  .nullish();

/**
 * Azure OpenAI's content filter names itself in `innererror.code` ("ResponsibleAIPolicyViolation"),
 * sometimes under an outer `code` other than `content_filter`.
 * https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter
 */
const innerErrorSchema = z.looseObject({ code: z.string().nullish() }).nullish().catch(undefined);

/**
 * OpenRouter's `metadata`: a moderation refusal carries `reasons` (with `flagged_input`).
 * https://openrouter.ai/docs/api-reference/errors#moderation-errors
 */
const errorMetadataSchema = z.looseObject({ reasons: z.unknown().optional() }).nullish().catch(undefined);

/** https://platform.openai.com/docs/guides/error-codes — `{"error":{"message","type","param","code"}}`. */
const errorObjectSchema = z.looseObject({
  message: errorMessage,
  type: z.string().nullish(),
  param: z.unknown().optional(),
  code: errorCode,
  innererror: innerErrorSchema,
  metadata: errorMetadataSchema,
});

/**
 * Error bodies as the compatible servers send them: OpenAI's envelope (Azure's and OpenRouter's
 * too), a bare string under `error` (some gateways), or vLLM/Mistral's top-level
 * `{"object":"error","message","type","param","code"}`.
 * https://docs.mistral.ai/api/ (HTTPValidationError)
 */
export const errorBodySchema = z.union([
  z.looseObject({ error: errorObjectSchema }),
  z.looseObject({ error: z.string() }).transform((body) => ({
    ...body,
    error: {
      message: body.error,
      type: undefined,
      code: undefined,
      innererror: undefined,
      metadata: undefined,
    },
  })),
  z
    .looseObject({
      object: z.literal("error"),
      message: errorMessage,
      type: z.string().nullish(),
      code: errorCode,
    })
    .transform((body) => ({
      ...body,
      error: {
        message: body.message,
        type: body.type,
        code: body.code,
        innererror: undefined,
        metadata: undefined,
      },
    })),
]);
