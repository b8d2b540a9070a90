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
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Delivery, deliver } from "./delivery.js";

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

/** One request as the fake saw it. Fields marked live are updated as the connection progresses. */
export interface RecordedRequest {
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The parsed JSON body; undefined when the body was not JSON. */
  body: unknown;
  /** Which TCP connection carried it (1-based, never reused); equal ids mean a reused connection. */
  connectionId: number;
  /** Live: true when the connection closed before the response was completely written. */
  closedBeforeResponseEnd: boolean;
  /** Resolves when the TCP connection carrying this request closes. Never rejects. */
  socketClosed: Promise<void>;
}

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
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  let connectionCount = 0;
  let lastConnectionId = 0;
  const sockets = new Map<Socket, { id: number; closed: Promise<void> }>();

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket: Socket) => {
    connectionCount += 1;
    lastConnectionId += 1;
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      markClosed = resolve;
    });
    sockets.set(socket, { id: lastConnectionId, closed });
    socket.once("close", () => {
      sockets.delete(socket);
      markClosed();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on("error", () => {});
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = rawBody === "" ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const socketEntry = sockets.get(req.socket);
    const recorded: RecordedRequest = {
      index: requests.length,
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      rawBody,
      body,
      connectionId: socketEntry?.id ?? 0,
      closedBeforeResponseEnd: false,
      socketClosed: socketEntry?.closed ?? Promise.resolve(),
    };
    res.on("close", () => {
      if (!res.writableFinished) recorded.closedBeforeResponseEnd = true;
    });
    requests.push(recorded);
    for (const wake of [...waiters]) wake();

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

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    script(...responses) {
      queue.push(...responses);
    },
    waitForRequests(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (requests.length < count) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(requests.slice(0, count));
          return true;
        };
        const wake = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`fake Ollama: ${requests.length} of ${count} requests arrived within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      });
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      connectionCount = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
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
