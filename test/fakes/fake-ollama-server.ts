/**
 * A fake Ollama server on a real socket (127.0.0.1, random port), speaking the native chat API the
 * way `ollama serve` does (server/routes.go in ollama/ollama): POST /api/chat answers
 * `application/x-ndjson`, one compact JSON object per line ending in "\n", each
 * `{"model","created_at","message":{"role":"assistant","content":…},"done":false}`, tool calls
 * whole (`arguments` an object) in a line of their own, then the final
 * `{…,"done":true,"done_reason":…,"total_duration",…,"prompt_eval_count",…,"eval_count",…}` line,
 * metrics written with Go's omitempty (a zero count is left out). `stream: false` gives that final
 * object alone with the whole message, as `application/json; charset=utf-8`. Errors before the
 * first line are `{"error":"…"}` with their status (404 for a model the server does not have);
 * once streaming, an error is one more `{"error":"…"}` line and the body ends.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 * https://github.com/ollama/ollama/blob/main/docs/api/errors.mdx
 *
 * Usage:
 *   const fake = await startFakeOllama({ models: ["llama3.2"] });
 *   fake.script({ type: "reply", content: ["Hel", "lo"] }, { type: "error", status: 500 });
 *   // point a provider at fake.url ("http://127.0.0.1:PORT"), make calls…
 *   fake.requests[0].body; await fake.requests[0].socketClosed;
 *   await fake.close();
 *
 * Each POST /api/chat takes the next scripted response; with none left it answers DEFAULT_REPLY.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Delivery, deliver } from "./delivery.js";
import { type RecordedRequest as BaseRecordedRequest, startRecordingServer } from "./recording-server.js";

export const DEFAULT_REPLY = "Hello from the fake Ollama server.";

export interface FakeOllamaUsage {
  prompt_eval_count: number;
  eval_count: number;
}

export interface FakeOllamaToolCall {
  /** Sent as the call's `id` when set (Ollama 0.12+ sends `call_xxxxxxxx`); left out otherwise. */
  id?: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type { Delivery } from "./delivery.js";

export interface ReplyScript extends Delivery {
  type: "reply";
  /** Text, or the exact tokens to stream it in. A string is split into words. */
  content?: string | string[];
  /** Each streamed in a line of its own after the text. */
  toolCalls?: FakeOllamaToolCall[];
  /** Thinking tokens streamed before the content (`message.thinking`). */
  thinking?: string[];
  /** Default "stop". null leaves `done_reason` out (releases before 0.1.3x). */
  doneReason?: string | null;
  /** Default derived from the request and the tokens. null: no metrics at all. */
  usage?: FakeOllamaUsage | null;
  model?: string;
  /** Force NDJSON (true) or one JSON object (false); default follows the request's `stream`. */
  stream?: boolean;
  /** Pause before each streamed line after the first. */
  tokenDelayMs?: number;
  /** Stream only: end the response cleanly but without the `done: true` line. */
  omitDone?: boolean;
  /** Stream only: after this many token lines, keep the response open until the client leaves. */
  hangAfterTokens?: number;
  /** Stream only: after this many token lines, destroy the socket (connection reset mid-stream). */
  dropAfterTokens?: number;
  /** Stream only: after this many token lines, send `{"error":…}` and end. */
  errorAfterTokens?: { tokens: number; error?: string };
}

/** An error before streaming starts: `{"error":"…"}` with this status. */
export interface ErrorScript extends Delivery {
  type: "error";
  status: number;
  /** Default per status (see defaultError). */
  error?: string;
  /** Sets `retry-after` (delta-seconds), as ollama.com does on 429. */
  retryAfterSeconds?: number;
}

/** Exact bytes: a recorded NDJSON fixture, a proxy's HTML page… */
export interface RawScript extends Delivery {
  type: "raw";
  /** Default 200. */
  status?: number;
  /** Default "application/x-ndjson". */
  contentType?: string;
  body: string | Uint8Array;
  /** After the body: finish the response (default), keep it open until the client leaves, or reset the socket. */
  end?: "end" | "hang" | "drop";
}

export interface HandlerScript {
  type: "handler";
  handle(request: RecordedRequest, res: ServerResponse): void | Promise<void>;
}

export type ScriptedResponse = ReplyScript | ErrorScript | RawScript | HandlerScript;

export type RecordedRequest = BaseRecordedRequest;

export interface FakeOllamaOptions {
  /** When set, requests must carry `authorization: Bearer <apiKey>` (ollama.com), else 401. */
  apiKey?: string;
  /** When set, /api/chat for any other model answers 404 `model '<name>' not found`. */
  models?: string[];
}

export interface FakeOllama {
  /** The host, as Ollama's clients take it: "http://127.0.0.1:41234". */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since start or the last `reset()`. */
  readonly connectionCount: number;
  script(...responses: ScriptedResponse[]): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const queue: ScriptedResponse[] = [];

  const recording = await startRecordingServer<RecordedRequest>({
    name: "fake Ollama",
    respond: (recorded, req, res) => handle(recorded, req, res),
  });
  const { requests } = recording;

  async function handle(recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = recorded.body;

    const path = (req.url ?? "").split("?")[0] ?? "";
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, { type: "error", status: 401, error: "unauthorized" });
    }
    if (req.method !== "POST" || path !== "/api/chat") {
      // gin's default for an unknown route.
      return sendRaw(res, {
        type: "raw",
        status: 404,
        contentType: "text/plain",
        body: "404 page not found",
      });
    }
    const request = body as { model?: unknown; messages?: unknown; stream?: unknown } | undefined;
    if (request === undefined || typeof request !== "object" || request === null) {
      return sendError(res, { type: "error", status: 400, error: "missing request body" });
    }
    if (typeof request.model !== "string" || request.model === "") {
      return sendError(res, { type: "error", status: 400, error: "model is required" });
    }
    if (options.models !== undefined && !options.models.includes(request.model)) {
      return sendError(res, { type: "error", status: 404, error: `model '${request.model}' not found` });
    }
    const scripted = queue.shift() ?? { type: "reply", content: DEFAULT_REPLY };
    switch (scripted.type) {
      case "reply":
        return sendReply(res, recorded, scripted);
      case "error":
        return sendError(res, scripted);
      case "raw":
        return sendRaw(res, scripted);
      case "handler":
        return scripted.handle(recorded, res);
    }
  }

  const { port } = recording;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connectionCount() {
      return recording.connectionCount;
    },
    script(...responses) {
      queue.push(...responses);
    },
    waitForRequests: (count, timeoutMs) => recording.waitForRequests(count, timeoutMs),
    reset() {
      queue.length = 0;
      recording.reset();
    },
    close: () => recording.close(),
  };
}

/** What `ollama serve` answers for each status, in its own words. */
function defaultError(status: number): string {
  switch (status) {
    case 400:
      return "invalid options";
    case 401:
      return "unauthorized";
    case 404:
      return "model 'llama3.2' not found";
    case 429:
      return "too many requests";
    case 502:
      return "remote model is unavailable";
    default:
      return status >= 500 ? "llama runner process has terminated: exit status 2" : "bad request";
  }
}

/** gin's c.JSON: compact JSON, no trailing newline. */
async function sendError(res: ServerResponse, script: ErrorScript): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (script.retryAfterSeconds !== undefined) headers["retry-after"] = String(script.retryAfterSeconds);
  const body = JSON.stringify({ error: script.error ?? defaultError(script.status) });
  await deliver(res, script, script.status, { ...headers, ...script.headers }, [body], "end");
}

async function sendRaw(res: ServerResponse, script: RawScript): Promise<void> {
  const headers = { "content-type": script.contentType ?? "application/x-ndjson", ...script.headers };
  await deliver(res, script, script.status ?? 200, headers, [script.body], script.end ?? "end");
}

/** Go's time.RFC3339Nano, as `created_at` carries it. */
function createdAt(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1123Z");
}

async function sendReply(res: ServerResponse, request: RecordedRequest, script: ReplyScript): Promise<void> {
  const requestBody = request.body as { model?: string; stream?: unknown; messages?: unknown };
  // Ollama streams unless told `stream: false`.
  const stream = script.stream ?? requestBody.stream !== false;
  const model = script.model ?? requestBody.model ?? "llama3.2";
  const tokens = typeof script.content === "string" ? splitWords(script.content) : (script.content ?? []);
  const thinking = script.thinking ?? [];
  const toolCalls = script.toolCalls ?? [];
  const usage =
    script.usage === null
      ? undefined
      : (script.usage ?? {
          prompt_eval_count: estimatePromptTokens(requestBody.messages),
          eval_count: thinking.length + tokens.length + toolCalls.length,
        });
  const wireCall = (call: FakeOllamaToolCall, index: number) => ({
    ...(call.id !== undefined && { id: call.id }),
    function: { index, name: call.name, arguments: call.arguments },
  });
  // Go's omitempty: zero metrics and an empty done_reason are left out.
  const final = (message: Record<string, unknown>): Record<string, unknown> => {
    const line: Record<string, unknown> = { model, created_at: createdAt(), message, done: true };
    const doneReason = script.doneReason === undefined ? "stop" : script.doneReason;
    if (doneReason !== null && doneReason !== "") line.done_reason = doneReason;
    line.total_duration = 4_883_583_458;
    line.load_duration = 1_334_875;
    if (usage !== undefined && usage.prompt_eval_count !== 0)
      line.prompt_eval_count = usage.prompt_eval_count;
    line.prompt_eval_duration = 342_546_000;
    if (usage !== undefined && usage.eval_count !== 0) line.eval_count = usage.eval_count;
    line.eval_duration = 4_535_599_000;
    return line;
  };

  if (!stream) {
    const message: Record<string, unknown> = { role: "assistant", content: tokens.join("") };
    if (thinking.length > 0) message.thinking = thinking.join("");
    if (toolCalls.length > 0) message.tool_calls = toolCalls.map(wireCall);
    const headers = { "content-type": "application/json; charset=utf-8", ...script.headers };
    await deliver(res, script, 200, headers, [JSON.stringify(final(message))], "end");
    return;
  }

  const line = (message: Record<string, unknown>): string =>
    `${JSON.stringify({ model, created_at: createdAt(), message: { role: "assistant", ...message }, done: false })}\n`;
  const lines: { text: string; token: boolean }[] = [];
  for (const piece of thinking) lines.push({ text: line({ content: "", thinking: piece }), token: true });
  for (const token of tokens) lines.push({ text: line({ content: token }), token: true });
  toolCalls.forEach((call, index) => {
    lines.push({ text: line({ content: "", tool_calls: [wireCall(call, index)] }), token: true });
  });
  if (!script.omitDone)
    lines.push({ text: `${JSON.stringify(final({ role: "assistant", content: "" }))}\n`, token: false });

  let end: "end" | "hang" | "drop" = "end";
  let out = lines.map((l) => l.text);
  const cut = script.hangAfterTokens ?? script.dropAfterTokens ?? script.errorAfterTokens?.tokens;
  if (cut !== undefined) {
    let seen = 0;
    let keep = 0;
    for (const [i, l] of lines.entries()) {
      if (!l.token) continue;
      if (seen === cut) break;
      seen += 1;
      keep = i + 1;
    }
    out = lines.slice(0, keep).map((l) => l.text);
    if (script.hangAfterTokens !== undefined) end = "hang";
    else if (script.dropAfterTokens !== undefined) end = "drop";
    // streamResponse's json.Encoder: the error object and a newline.
    else out.push(`${JSON.stringify({ error: script.errorAfterTokens?.error ?? defaultError(500) })}\n`);
  }
  const headers = { "content-type": "application/x-ndjson", ...script.headers };
  await deliver(res, script, 200, headers, out, end, script.tokenDelayMs ?? 0);
}

function estimatePromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 1;
  let chars = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown } | null)?.content;
    if (typeof content === "string") chars += content.length;
  }
  return Math.max(1, Math.ceil(chars / 4));
}

function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+/gu) ?? [];
}
