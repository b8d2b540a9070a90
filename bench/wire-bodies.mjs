// The exact bytes each provider streams for a text answer of N chunks, for bench/adapters.mjs and
// the server it reads them from (bench/wire-server.mjs). Each body is a list of events, one
// Buffer per event in the wire's own framing, shaped like the recorded fixtures:
//
//   openai-compatible  SSE, `data: {chat.completion.chunk}\n\n` (test/fixtures/openai/text.sse):
//                      the role chunk, N content chunks, the finish chunk, the usage chunk, [DONE]
//   anthropic          SSE with `event:` lines (test/fixtures/anthropic/text.sse): message_start,
//                      content_block_start, ping, N text_delta, content_block_stop,
//                      message_delta (usage), message_stop
//   gemini             SSE with CRLF (test/providers/gemini/fixtures/text.sse): N
//                      GenerateContentResponses of one text part each with usageMetadata, the last
//                      with finishReason STOP
//   ollama             NDJSON (test/fixtures/ollama/text.ndjson): N chat chunks, then the done line
//   bedrock            AWS event-stream, encoded by @smithy/eventstream-codec as
//                      test/fakes/fake-bedrock-server.ts does (payloads padded with `p`):
//                      messageStart, N contentBlockDelta, contentBlockStop, messageStop, metadata
//
// The text is the same for every kind: N tokens of a fixed English passage (a word with its
// leading space, as tokenizers cut it), with a non-ASCII token now and then (é, an emoji, CJK).
import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";

export const KINDS = ["openai-compatible", "anthropic", "gemini", "bedrock", "ollama"];

/** What each kind's server answers with (content-type), as the fakes in test/fakes/ do. */
export const CONTENT_TYPES = {
  "openai-compatible": "text/event-stream; charset=utf-8",
  anthropic: "text/event-stream; charset=utf-8",
  gemini: "text/event-stream",
  bedrock: "application/vnd.amazon.eventstream",
  ollama: "application/x-ndjson",
};

const PASSAGE = (
  "The router picks a provider for each call from the policy, then streams the answer back as it " +
  "arrives, so the caller sees the first token as soon as the model sends it. Café 👋 世界 and a few " +
  "longer words like configuration, observability and interoperability keep the tokens realistic."
).split(/(?= )/);

/** The i-th token of the answer (i from 0). */
export function token(i) {
  return PASSAGE[i % PASSAGE.length] ?? "";
}

/** The whole answer text of n chunks. */
export function answerText(n) {
  let text = "";
  for (let i = 0; i < n; i++) text += token(i);
  return text;
}

const PROMPT_TOKENS = 12;

/** The events of a text answer of `n` chunks in `kind`'s wire format, one Buffer each. */
export function wireEvents(kind, n) {
  switch (kind) {
    case "openai-compatible":
      return openAiEvents(n);
    case "anthropic":
      return anthropicEvents(n);
    case "gemini":
      return geminiEvents(n);
    case "bedrock":
      return bedrockEvents(n);
    case "ollama":
      return ollamaEvents(n);
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/** https://platform.openai.com/docs/api-reference/chat-streaming */
function openAiEvents(n) {
  const head = {
    id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    object: "chat.completion.chunk",
    created: 1741569952,
    model: "gpt-4o-mini-2024-07-18",
    service_tier: "default",
    system_fingerprint: "fp_06737a9306",
  };
  const event = (choices, usage, obfuscation) =>
    Buffer.from(`data: ${JSON.stringify({ ...head, choices, usage, obfuscation })}\n\n`);
  const choice = (delta, finish) => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
  const events = [event(choice({ role: "assistant", content: "", refusal: null }, null), null, "tQ1x")];
  for (let i = 0; i < n; i++)
    events.push(event(choice({ content: token(i) }, null), null, "q".repeat(1 + (i % 4))));
  events.push(event(choice({}, "stop"), null, "2hL"));
  events.push(
    event(
      [],
      {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: n,
        total_tokens: PROMPT_TOKENS + n,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      "r7",
    ),
  );
  events.push(Buffer.from("data: [DONE]\n\n"));
  return events;
}

/** https://docs.anthropic.com/en/docs/build-with-claude/streaming */
function anthropicEvents(n) {
  const event = (type, data) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const events = [
    event("message_start", {
      message: {
        model: "claude-sonnet-4-5-20250929",
        id: "msg_01XFDUDYJgAACzvnptvVoYEL",
        type: "message",
        role: "assistant",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: PROMPT_TOKENS,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          output_tokens: 1,
          service_tier: "standard",
        },
      },
    }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    event("ping", {}),
  ];
  for (let i = 0; i < n; i++)
    events.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text: token(i) } }));
  events.push(event("content_block_stop", { index: 0 }));
  events.push(
    event("message_delta", {
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: n },
    }),
  );
  events.push(event("message_stop", {}));
  return events;
}

/**
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent. Gemini writes
 * its JSON with a space after each colon and ends events with CRLF, as the fixture records.
 */
function geminiEvents(n) {
  const events = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const usage = last
      ? `{"promptTokenCount": ${PROMPT_TOKENS},"candidatesTokenCount": ${n},"totalTokenCount": ${PROMPT_TOKENS + n},` +
        `"promptTokensDetails": [{"modality": "TEXT","tokenCount": ${PROMPT_TOKENS}}]}`
      : `{"promptTokenCount": ${PROMPT_TOKENS},"totalTokenCount": ${PROMPT_TOKENS},` +
        `"promptTokensDetails": [{"modality": "TEXT","tokenCount": ${PROMPT_TOKENS}}]}`;
    events.push(
      Buffer.from(
        `data: {"candidates": [{"content": {"parts": [{"text": ${JSON.stringify(token(i))}}],"role": "model"},` +
          `${last ? '"finishReason": "STOP",' : ""}"index": 0}],"usageMetadata": ${usage},` +
          `"modelVersion": "gemini-2.5-flash","responseId": "Zk9xaL2cFqKz7M8PpNnE4Qw"}\r\n\r\n`,
      ),
    );
  }
  return events;
}

/** https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion */
function ollamaEvents(n) {
  // Ten milliseconds a token, with the microseconds Ollama prints.
  const at = (i) =>
    new Date(Date.UTC(2025, 9, 26, 17, 15, 24, 7) + i * 10).toISOString().replace("Z", "767Z");
  const line = (value) => Buffer.from(`${JSON.stringify(value)}\n`);
  const events = [];
  for (let i = 0; i < n; i++)
    events.push(
      line({
        model: "llama3.2",
        created_at: at(i),
        message: { role: "assistant", content: token(i) },
        done: false,
      }),
    );
  events.push(
    line({
      model: "llama3.2",
      created_at: at(n),
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: "stop",
      total_duration: 174560334,
      load_duration: 101397084,
      prompt_eval_count: PROMPT_TOKENS,
      prompt_eval_duration: 13074791,
      eval_count: n,
      eval_duration: 52479709,
    }),
  );
  return events;
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** As test/fakes/fake-bedrock-server.ts: Bedrock pads payloads with letters in `p`. */
function padding(seed) {
  return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0".slice(0, 5 + (seed.length % 20));
}

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html */
function bedrockEvents(n) {
  const event = (eventType, payload) =>
    Buffer.from(
      codec.encode({
        headers: {
          ":event-type": { type: "string", value: eventType },
          ":content-type": { type: "string", value: "application/json" },
          ":message-type": { type: "string", value: "event" },
        },
        body: fromUtf8(JSON.stringify({ ...payload, p: padding(eventType) })),
      }),
    );
  const events = [event("messageStart", { role: "assistant" })];
  for (let i = 0; i < n; i++)
    events.push(event("contentBlockDelta", { contentBlockIndex: 0, delta: { text: token(i) } }));
  events.push(event("contentBlockStop", { contentBlockIndex: 0 }));
  events.push(event("messageStop", { stopReason: "end_turn" }));
  events.push(
    event("metadata", {
      usage: { inputTokens: PROMPT_TOKENS, outputTokens: n, totalTokens: PROMPT_TOKENS + n },
      metrics: { latencyMs: 321 },
    }),
  );
  return events;
}
