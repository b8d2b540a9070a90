import type { FinishReason, Usage } from "../../core/types.js";
import { readSseEvents } from "../http/sse-reader.js";
import { ProviderError, protocolError } from "../provider-error.js";
import { argumentsText } from "../tool-arguments.js";
import type { StreamPart } from "../types.js";
import { trustedTokenCount, trustedUsage } from "../usage.js";
import { classifyErrorPayload, isGoogleError } from "./gemini-errors.js";
import { generateContentResponseSchema } from "./gemini-schemas.js";

/**
 * Finish and block reasons that withhold the answer: a filter (SAFETY and its kin), recitation of
 * copyrighted text, a blocklist, personal data, an unsupported language. Before anything reached
 * the caller they fail the call as `content_refused`; after text, the answer ends with
 * `content_filter` (what the caller has is all there will be).
 * https://ai.google.dev/api/generate-content#FinishReason
 * https://ai.google.dev/api/generate-content#BlockReason
 */
const REFUSALS: ReadonlySet<string> = new Set([
  "SAFETY",
  "RECITATION",
  "LANGUAGE",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
  "IMAGE_OTHER",
  "OTHER",
]);

/**
 * Finish reasons where the model failed to produce a usable function call. The request was fine
 * and another model may well succeed, so they fail the attempt as `protocol` (malformed output).
 */
const TOOL_FAILURES: ReadonlySet<string> = new Set([
  "MALFORMED_FUNCTION_CALL",
  "UNEXPECTED_TOOL_CALL",
  "TOO_MANY_TOOL_CALLS",
  "MISSING_THOUGHT_SIGNATURE",
  "MALFORMED_RESPONSE",
]);

/** Finish reasons that end an answer normally; with the two sets above, the ones named in messages. */
const ORDINARY: ReadonlySet<string> = new Set([
  "STOP",
  "MAX_TOKENS",
  "FINISH_REASON_UNSPECIFIED",
  "NO_IMAGE",
]);

/**
 * Maps a Gemini finish reason onto ours, for an answer that produced something.
 * https://ai.google.dev/api/generate-content#FinishReason
 *
 * Gemini says STOP for a turn that called functions; callers decide whether to run tools by this
 * value, so such a turn reports "tool_calls". MAX_TOKENS is "length"; the refusal family
 * ({@link REFUSALS}, OTHER included: Google's own word for "blocked, reason unspecified") is
 * "content_filter". Unknown values count as "stop".
 */
export function mapFinishReason(raw: string | undefined, sawToolCalls: boolean): FinishReason {
  if (raw === "MAX_TOKENS") return "length";
  if (raw !== undefined && REFUSALS.has(raw)) return "content_filter";
  return sawToolCalls ? "tool_calls" : "stop";
}

/** Turns GenerateContentResponse chunks into StreamParts; state lives in the closure. */
export interface ChunkMapper {
  /**
   * Maps one chunk (already JSON-parsed) to zero or more parts. Only candidate 0 is read: we never
   * ask for more. Thought summaries (`thought: true`) are not part of the answer and are skipped.
   * @throws ProviderError the classified upstream error for an `{"error":…}` chunk; class
   *   "content_refused" for a blocked prompt or a refusal finish reason before any text or tool
   *   call; class "server" for a failed function call (MALFORMED_FUNCTION_CALL…); class
   *   "protocol" for a chunk that is not a GenerateContentResponse.
   */
  push(chunk: unknown): StreamPart[];
  /**
   * The body ended: returns a `usage` part (when the final chunk reported usage we can trust) and
   * the single `response-end`.
   * @throws ProviderError class "protocol" when called twice, when no chunk carried a finish reason
   *   (the stream was cut), or when content came after the last finish reason without one of its own.
   */
  end(): StreamPart[];
}

/**
 * Creates the per-stream chunk mapper.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 *
 * End marker: Gemini's stream has no sentinel; it ends with the HTTP body, and its last chunk
 * carries `finishReason`. Older models repeated `finishReason: STOP` on every chunk, so the answer
 * counts as complete when the body ends after a chunk with a finish reason and no content came
 * after the last one.
 *
 * Tool calls: a `functionCall` part is whole (name and args object) and becomes one
 * tool-call-delta with its id, name and `JSON.stringify(args)` ("{}" without arguments). Newer
 * models give the call an `id`; otherwise one is synthesized, stable for the stream:
 * `call_<responseId>_<n>` (`call_<n>` without a responseId), n counting the calls of the answer.
 *
 * Usage: each chunk repeats usageMetadata, complete only on the final one (intermediate chunks
 * leave `candidatesTokenCount` out), so only usage from a chunk with a finish reason, or after
 * one, is reported; see readGeminiUsage for the counts.
 */
export function createChunkMapper(): ChunkMapper {
  let finishReason: string | undefined;
  /** Content arrived in a chunk without a finish reason after the last chunk that had one. */
  let contentAfterFinish = false;
  let usage: Usage | undefined;
  let ended = false;
  /** Text or a tool call reached the caller. */
  let produced = false;
  let calls = 0;
  let responseId: string | undefined;

  return {
    push(chunk) {
      if (ended) throw protocolError("upstream sent a chunk after the end of the stream");
      if (isGoogleError(chunk)) throw classifyErrorPayload(chunk);
      const parsed = generateContentResponseSchema.safeParse(chunk);
      if (!parsed.success) {
        throw protocolError("upstream stream chunk is not a GenerateContentResponse", {
          chunk,
          issues: parsed.error.issues,
        });
      }
      const response = parsed.data;
      if (responseId === undefined && response.responseId) responseId = response.responseId;
      const parts: StreamPart[] = [];

      const blockReason = response.promptFeedback?.blockReason;
      if (blockReason && blockReason !== "BLOCK_REASON_UNSPECIFIED") {
        if (!produced) throw refused("prompt", blockReason);
        // Text already reached the caller: the answer ends there, as filtered.
        finishReason = REFUSALS.has(blockReason) ? blockReason : "OTHER";
        contentAfterFinish = false;
      }

      const candidate = (response.candidates ?? []).find((c) => (c.index ?? 0) === 0);
      let content = false;
      for (const part of candidate?.content?.parts ?? []) {
        if (part.thought === true) continue;
        if (part.functionCall) {
          const index = calls;
          calls += 1;
          parts.push({
            type: "tool-call-delta",
            index,
            id: part.functionCall.id || syntheticId(responseId, index),
            name: part.functionCall.name,
            argumentsDelta: argumentsText(part.functionCall.args ?? {}),
          });
        } else if (typeof part.text === "string" && part.text !== "") {
          parts.push({ type: "text-delta", delta: part.text });
        }
      }
      if (parts.length > 0) {
        produced = true;
        content = true;
      }

      const raw = candidate?.finishReason ?? undefined;
      if (raw) {
        // Malformed model output, as Bedrock's malformed_tool_use: another target may do better,
        // the same one is not asked again.
        if (TOOL_FAILURES.has(raw)) {
          throw new ProviderError("protocol", `upstream model failed to call a function (${raw})`, {
            cause: { chunk },
          });
        }
        finishReason = raw;
        contentAfterFinish = false;
      } else if (content && finishReason !== undefined) {
        contentAfterFinish = true;
      }
      if (finishReason !== undefined) {
        const reported = readGeminiUsage(response.usageMetadata);
        if (reported !== undefined) usage = reported;
      }
      return parts;
    },

    end() {
      if (ended) throw protocolError("upstream stream ended twice");
      ended = true;
      if (finishReason === undefined) throw protocolError("upstream stream ended without a finish reason");
      if (contentAfterFinish) throw protocolError("upstream stream ended without a finish reason");
      const end: StreamPart = {
        type: "response-end",
        finishReason: mapFinishReason(finishReason, calls > 0),
      };
      if (usage === undefined) return [end];
      end.usage = usage;
      return [{ type: "usage", usage }, end];
    },
  };
}

function syntheticId(responseId: string | undefined, index: number): string {
  const safe = responseId?.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 64);
  return safe ? `call_${safe}_${index}` : `call_${index}`;
}

/** A refusal, named by its reason when that is in the known vocabulary, never by Google's text. */
function refused(what: "prompt" | "answer", reason: string): ProviderError {
  const known = REFUSALS.has(reason) || TOOL_FAILURES.has(reason) || ORDINARY.has(reason);
  const named = known ? reason : "unrecognised reason";
  return new ProviderError(
    "content_refused",
    what === "prompt"
      ? `upstream refused the prompt (block reason ${named})`
      : `upstream withheld the answer (finish reason ${named})`,
    { cause: { reason } },
  );
}

/**
 * Gemini's usageMetadata, when it can be trusted; otherwise undefined, as if none had been sent.
 * https://ai.google.dev/api/generate-content#UsageMetadata
 *
 * - inputTokens: `promptTokenCount` (which already counts the cached part) plus
 *   `toolUsePromptTokenCount` (results of server-side tools, billed as input).
 * - outputTokens: `candidatesTokenCount` plus `thoughtsTokenCount` (thinking is billed as
 *   output). Protobuf's JSON leaves zero counts out, so a final chunk without
 *   `candidatesTokenCount` (a turn that produced no output) reads it from `totalTokenCount` minus
 *   the input; without either, there is no usage.
 * - cachedInputTokens: `cachedContentTokenCount`, when sent. Gemini has no cache-write count.
 */
export function readGeminiUsage(metadata: unknown): Usage | undefined {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return undefined;
  const m = metadata as Record<string, unknown>;
  const optional = (value: unknown): number | undefined | null =>
    value === undefined ? 0 : (trustedTokenCount(value) ?? null);
  const prompt = trustedTokenCount(m.promptTokenCount);
  const toolUse = optional(m.toolUsePromptTokenCount);
  const thoughts = optional(m.thoughtsTokenCount);
  if (prompt === undefined || toolUse === null || thoughts === null) return undefined;
  const input = prompt + (toolUse ?? 0);
  let output: number | undefined;
  if (m.candidatesTokenCount !== undefined) {
    const candidates = trustedTokenCount(m.candidatesTokenCount);
    output = candidates === undefined ? undefined : candidates + (thoughts ?? 0);
  } else {
    const total = trustedTokenCount(m.totalTokenCount);
    output = total !== undefined && total >= input ? total - input : undefined;
  }
  const usage = trustedUsage(input, output);
  if (usage === undefined) return undefined;
  const cached = trustedTokenCount(m.cachedContentTokenCount);
  if (cached !== undefined && cached <= prompt) usage.cachedInputTokens = cached;
  return usage;
}

/**
 * Decodes a streamGenerateContent `alt=sse` body into StreamParts: the shared SSE reader (bytes →
 * UTF-8 → events; Google frames them with "\r\n\r\n" or "\n\n") → JSON → {@link createChunkMapper}.
 * Ends with exactly one `response-end`, when the bytes end.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 *
 * Cancellation: stopping iteration early (`return()`) stops iterating `bytes`, which for a Node
 * stream destroys it (and so the upstream request).
 *
 * @throws ProviderError class "protocol" when the bytes end before a finish reason, when an event
 *   is not JSON or not a GenerateContentResponse, or outgrows the buffer; the classified upstream
 *   error for an `{"error":…}` event; see ChunkMapper for refusals. Errors thrown by `bytes`
 *   propagate unchanged.
 */
export async function* decodeGeminiStream(
  bytes: AsyncIterable<Uint8Array>,
): AsyncGenerator<StreamPart, void> {
  const mapper = createChunkMapper();
  for await (const event of readSseEvents(bytes)) {
    const data = event.data.trim();
    if (data === "") continue;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch (cause) {
      throw protocolError("upstream stream chunk is not JSON", { data, cause });
    }
    yield* pushAll(mapper, payload);
  }
  yield* mapper.end();
}

/**
 * Replays a JSON body as stream parts: one GenerateContentResponse (a server that answered as
 * generateContent does), or an array of them (streamGenerateContent without `alt=sse`), or a Google
 * error in either form (thrown, classified).
 * @throws ProviderError as {@link ChunkMapper} does.
 */
export function fromGeminiJson(body: unknown): StreamPart[] {
  const mapper = createChunkMapper();
  return [...pushAll(mapper, body), ...mapper.end()];
}

function pushAll(mapper: ChunkMapper, payload: unknown): StreamPart[] {
  if (isGoogleError(payload)) throw classifyErrorPayload(payload);
  if (!Array.isArray(payload)) return mapper.push(payload);
  return payload.flatMap((chunk) => mapper.push(chunk));
}
