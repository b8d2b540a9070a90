import { z } from "zod";

/*
 * Shapes of what Ollama's native API sends back on POST /api/chat. Every object is loose: Ollama
 * adds fields release by release (thinking, logprobs, remote_model, _debug_info…), none of which
 * may turn a good answer into a protocol error.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 * https://github.com/ollama/ollama/blob/main/api/types.go (ChatResponse, Message, ToolCall, Metrics)
 */

/** Indexes travel as uint32 in our contract: a larger value is a broken upstream. */
const UINT32_MAX = 4_294_967_295;

/**
 * A tool call as the model made it. Ollama sends it whole, `arguments` as a JSON object; `id`
 * (`call_xxxxxxxx`) and `function.index` only since 2025 releases, so both are optional.
 */
export const ollamaToolCallSchema = z.looseObject({
  id: z.string().nullish(),
  function: z.looseObject({
    index: z.number().int().nonnegative().max(UINT32_MAX).nullish(),
    name: z.string(),
    // An object on the wire; a string (some proxies re-encode it) is taken as the JSON text it is.
    arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
  }),
});

/**
 * One line of the NDJSON stream, or the whole body of a non-streamed answer (the same shape with
 * the whole message). The line with `done: true` ends the answer and carries the metrics.
 * Counts are not validated here: one we cannot trust is treated as missing (usage.ts).
 */
export const ollamaChatChunkSchema = z.looseObject({
  model: z.string().nullish(),
  created_at: z.string().nullish(),
  message: z
    .looseObject({
      role: z.string().nullish(),
      content: z.string().nullish(),
      thinking: z.string().nullish(),
      tool_calls: z.array(ollamaToolCallSchema).nullish(),
    })
    .nullish(),
  done: z.boolean(),
  done_reason: z.string().nullish(),
  prompt_eval_count: z.unknown().optional(),
  eval_count: z.unknown().optional(),
});

export type OllamaChatChunk = z.output<typeof ollamaChatChunkSchema>;

/**
 * Ollama's error body, for HTTP errors and for an error line mid-stream: `{"error":"…"}`, free text.
 * An object under `error` (a proxy speaking OpenAI's dialect in front of Ollama) is read for its
 * message.
 * https://github.com/ollama/ollama/blob/main/docs/api/errors.mdx
 */
export const ollamaErrorBodySchema = z.looseObject({
  error: z.union([
    z.string(),
    z.looseObject({ message: z.string().nullish() }).transform((error) => error.message ?? ""),
  ]),
});
