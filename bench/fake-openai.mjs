// A minimal fake OpenAI chat-completions server for the benchmark (plain node:http, keep-alive).
// Speaks the same wire format as test/fakes/fake-openai-server.ts: POST /v1/chat/completions with
// a JSON body -> 200 `application/json` chat.completion with `usage`, or with `"stream": true` (what
// Switchyard's adapter sends, Route included) a `text/event-stream` of chat.completion.chunk events,
// one per word, then the usage chunk (stream_options.include_usage) and `data: [DONE]`. Prints
// "fake-openai listening on 127.0.0.1:PORT" when ready, and answers GET /stats with
// {"completions": N, ...} so the runner can check every Route reached it.
//
// Behaviour per server (bench/failover.mjs starts one of each kind), applied to completions only:
//   --status S          answer every completion with HTTP S at once (OpenAI's error body; 503:
//                       "The engine is currently overloaded"), as a provider in an outage
//   --fail-every N      answer every Nth completion with 503, the others normally (a flaky provider)
//   --first-byte-ms M   hold each answer M ms before its first byte (headers and stream alike): a
//                       slow time to first token
//   --slow-every N      apply --first-byte-ms to every Nth completion only (a slow tail)
// GET /stats then also says: requests (completion POSTs), ok (200 answers written to the end),
// failed (error answers written), aborted (answers the client stopped waiting for: hedge losers).
//
// Per request (bench/openai-door.mjs): a completion whose last message is `pace N G` is answered
// with N content chunks, one plain word each ("The", " quick", …), the first at once and each next G ms after the one
// before (a model's token rate), then the finish, usage and [DONE] with the last one; unstreamed,
// the whole answer after (N − 1) × G ms. It is in the prompt, not a flag, so that it reaches the
// fake through a proxy too (Switchyard passes messages on as they are, and always streams).
//
//   node bench/fake-openai.mjs [--port N] [--status S | --fail-every N] [--first-byte-ms M [--slow-every N]]
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    status: { type: "string" },
    "fail-every": { type: "string" },
    "first-byte-ms": { type: "string", default: "0" },
    "slow-every": { type: "string", default: "1" },
  },
});
const FAIL_STATUS = values.status === undefined ? undefined : Number(values.status);
const FAIL_EVERY = values["fail-every"] === undefined ? undefined : Number(values["fail-every"]);
const FIRST_BYTE_MS = Number(values["first-byte-ms"]);
const SLOW_EVERY = Number(values["slow-every"]);
if (
  (FAIL_STATUS !== undefined && !(FAIL_STATUS >= 400 && FAIL_STATUS <= 599)) ||
  (FAIL_EVERY !== undefined && !(Number.isInteger(FAIL_EVERY) && FAIL_EVERY >= 1)) ||
  !(FIRST_BYTE_MS >= 0) ||
  !(Number.isInteger(SLOW_EVERY) && SLOW_EVERY >= 1)
)
  throw new Error("--status 400..599, --fail-every N >= 1, --first-byte-ms >= 0, --slow-every N >= 1");
const REPLY = "Hello from the fake OpenAI server.";
const PACE = /^pace (\d+) (\d+)$/;
// Plain words: Switchyard's output filter holds back a word that could be part of a secret (one
// with a digit, an inner capital, punctuation) until the next chunk, which would add a gap.
const PACED_WORDS =
  "The quick brown fox jumps over the lazy dog while the cat sleeps on a warm mat near an open".split(" ");
let completions = 0;
const stats = { requests: 0, ok: 0, failed: 0, aborted: 0 };

/** OpenAI's error bodies for the statuses the benchmark sends (as test/fakes/fake-openai-server.ts). */
function errorBody(status) {
  return {
    error: {
      message:
        status === 503
          ? "The engine is currently overloaded, please try again later."
          : "The server had an error while processing your request. Sorry about that!",
      type: "server_error",
      param: null,
      code: null,
    },
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "openai-processing-ms": "1",
    "x-request-id": `req_${completions.toString(16).padStart(32, "0")}`,
  });
  res.end(text);
}

/** The answer as OpenAI streams it: https://platform.openai.com/docs/api-reference/chat-streaming */
function stream(res, model, promptTokens, includeUsage, words, gapMs) {
  const base = {
    id: `chatcmpl-bench${completions}`,
    object: "chat.completion.chunk",
    created: 1_700_000_000 + completions,
    model,
    system_fingerprint: "fp_fake0001",
  };
  const event = (chunk) => `data: ${JSON.stringify({ ...base, ...chunk })}\n\n`;
  const word = (w) =>
    event({ choices: [{ index: 0, delta: { content: w }, logprobs: null, finish_reason: null }] });
  let text = event({
    choices: [
      {
        index: 0,
        delta: { role: "assistant", content: "", refusal: null },
        logprobs: null,
        finish_reason: null,
      },
    ],
  });
  let end = event({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] });
  if (includeUsage)
    end += event({
      choices: [],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: words.length,
        total_tokens: promptTokens + words.length,
      },
    });
  end += "data: [DONE]\n\n";
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "openai-processing-ms": "1",
    "x-request-id": `req_${completions.toString(16).padStart(32, "0")}`,
  });
  if (gapMs === 0) {
    for (const w of words) text += word(w);
    return res.end(text + end);
  }
  // Paced: one write per chunk, so each leaves in its own packet, as a model's tokens do; the end
  // goes with the last one.
  if (words.length <= 1) return res.end(text + word(words[0] ?? "") + end);
  res.write(text + word(words[0]));
  let sent = 1;
  const timer = setInterval(() => {
    const w = word(words[sent++]);
    if (sent < words.length) return res.write(w);
    clearInterval(timer);
    res.end(w + end);
  }, gapMs);
  res.once("close", () => clearInterval(timer));
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/stats") return send(res, 200, { completions, ...stats });
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      return send(res, 404, {
        error: {
          message: `Invalid URL (${req.method} ${req.url})`,
          type: "invalid_request_error",
          param: null,
          code: null,
        },
      });
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return send(res, 400, {
        error: {
          message: "We could not parse the JSON body of your request.",
          type: "invalid_request_error",
          param: null,
          code: null,
        },
      });
    }
    stats.requests += 1;
    const nth = stats.requests;
    res.once("close", () => {
      if (!res.writableFinished) stats.aborted += 1;
      else if (res.statusCode === 200) stats.ok += 1;
      else stats.failed += 1;
    });
    const status = FAIL_STATUS ?? (FAIL_EVERY !== undefined && nth % FAIL_EVERY === 0 ? 503 : 200);
    const delay = FIRST_BYTE_MS > 0 && nth % SLOW_EVERY === 0 ? FIRST_BYTE_MS : 0;
    if (delay === 0) return answer(res, body, status);
    const timer = setTimeout(() => answer(res, body, status), delay);
    // The client gave up (a hedge that lost): nothing more to write.
    res.once("close", () => clearTimeout(timer));
  });
});

function answer(res, body, status) {
  if (status !== 200) return send(res, status, errorBody(status));
  completions += 1;
  let promptChars = 0;
  for (const message of Array.isArray(body.messages) ? body.messages : [])
    if (typeof message?.content === "string") promptChars += message.content.length;
  const promptTokens = Math.max(1, Math.ceil(promptChars / 4));
  const model = typeof body.model === "string" ? body.model : "gpt-4o-mini-2024-07-18";
  const last = Array.isArray(body.messages) ? body.messages.at(-1)?.content : undefined;
  const pace = typeof last === "string" ? PACE.exec(last) : null;
  const words = pace
    ? Array.from(
        { length: Math.max(1, Number(pace[1])) },
        (_, i) => `${i === 0 ? "" : " "}${PACED_WORDS[i % PACED_WORDS.length]}`,
      )
    : (REPLY.match(/\s*\S+/g) ?? []);
  const gapMs = pace ? Number(pace[2]) : 0;
  if (body.stream === true)
    return stream(res, model, promptTokens, body.stream_options?.include_usage === true, words, gapMs);
  if (gapMs === 0) return completion(res, model, promptTokens, words);
  const timer = setTimeout(() => completion(res, model, promptTokens, words), (words.length - 1) * gapMs);
  res.once("close", () => clearTimeout(timer));
}

function completion(res, model, promptTokens, words) {
  send(res, 200, {
    id: `chatcmpl-bench${completions}`,
    object: "chat.completion",
    created: 1_700_000_000 + completions,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: words.join(""), refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: words.length,
      total_tokens: promptTokens + words.length,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: "default",
    system_fingerprint: "fp_fake0001",
  });
}
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`fake-openai listening on 127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
