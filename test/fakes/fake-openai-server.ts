/**
 * A fake OpenAI chat-completions server on a real socket (127.0.0.1, random port), speaking the wire
 * format the way api.openai.com does: JSON bodies for unary calls, `text/event-stream; charset=utf-8`
 * with `data: {...}\n\n` frames, a `choices: []` usage chunk when `stream_options.include_usage` is
 * set, `data: [DONE]\n\n`, `{"error":{"message","type","param","code"}}` error bodies, and the
 * x-request-id / openai-processing-ms / x-ratelimit-* headers.
 * https://platform.openai.com/docs/api-reference/chat
 *
 * Usage:
 *   const fake = await startFakeOpenAi();
 *   fake.script({ type: "reply", content: ["Hel", "lo"] }, { type: "error", status: 429, retryAfterSeconds: 2 });
 *   // point a provider at fake.url ("http://127.0.0.1:PORT/v1"), make calls…
 *   fake.requests[0].body; await fake.requests[0].socketClosed;
 *   await fake.close();
 *
 * Each POST /v1/chat/completions takes the next scripted response; with none left it uses the
 * fallback, which by default answers DEFAULT_REPLY deterministically, streaming or not as the
 * request's `stream` flag says, with usage derived from the request size.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Delivery, deliver } from "./delivery.js";
import { type RecordedRequest as BaseRecordedRequest, startRecordingServer } from "./recording-server.js";

/** What the default fallback answers. */
export const DEFAULT_REPLY = "Hello from the fake OpenAI server.";
/** Model name echoed back when the request names none and the script sets none. */
export const DEFAULT_MODEL = "gpt-4o-mini-2024-07-18";

/** OpenAI's error object. https://platform.openai.com/docs/guides/error-codes */
export interface OpenAiErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Of prompt_tokens, read from the prompt cache (`prompt_tokens_details.cached_tokens`). Default 0. */
  cached_tokens?: number;
}

export interface FakeToolCall {
  /** Default `call_<n>`. */
  id?: string;
  name: string;
  /** Whole arguments text, or the pieces to stream it in (a string is streamed in 4-char pieces). */
  arguments: string | string[];
}

export type { Delivery } from "./delivery.js";

/** A successful chat completion, as a JSON body or an event stream. */
export interface ReplyScript extends Delivery {
  type: "reply";
  /** Text, or the exact tokens to stream it in. A string is split into words (each with its leading space). */
  content?: string | string[];
  toolCalls?: FakeToolCall[];
  /** Default "tool_calls" with tool calls, else "stop". null leaves the finish chunk/field out. */
  finishReason?: string | null;
  /** Default derived from the request and the tokens. null: no usage at all (server ignoring include_usage). */
  usage?: FakeUsage | null;
  model?: string;
  /** Force a stream (true) or a JSON body (false); default follows the request's `stream`. */
  stream?: boolean;
  /** Pause before each streamed frame after the first. */
  tokenDelayMs?: number;
  /** Stream only: end the response cleanly but without `data: [DONE]`. */
  omitDone?: boolean;
  /** Stream only: after this many token frames (content or argument pieces), keep the response open until the client leaves. */
  hangAfterTokens?: number;
  /** Stream only: after this many token frames, destroy the socket (connection reset mid-stream). */
  dropAfterTokens?: number;
  /** Stream only: after `tokens` token frames, send `data: {"error":{…}}` and end. */
  errorAfterTokens?: { tokens: number; error?: Partial<OpenAiErrorObject> };
  /**
   * Stream only: SSE comment lines sent before the first frame, each as `<comment>\n\n`, e.g.
   * OpenRouter's keep-alive ": OPENROUTER PROCESSING".
   * https://openrouter.ai/docs/api-reference/streaming
   */
  comments?: string[];
}

/** An OpenAI error response. Body and headers default per status (see `defaultError`). */
export interface ErrorScript extends Delivery {
  type: "error";
  status: number;
  error?: Partial<OpenAiErrorObject>;
  /** Sets `retry-after` (delta-seconds). 429 defaults to 1. */
  retryAfterSeconds?: number;
  /** Sets `retry-after-ms`. */
  retryAfterMs?: number;
  /**
   * The exact JSON body instead of OpenAI's `{"error":{…}}` envelope (Mistral's top-level
   * `{"object":"error",…}`, Azure's `{"error":{"code":"429",…}}`…); sent compact, as JSON.stringify
   * writes it.
   */
  body?: unknown;
}

/** Exact bytes: a recorded SSE fixture, a non-JSON body, an HTML error page… */
export interface RawScript extends Delivery {
  type: "raw";
  /** Default 200. */
  status?: number;
  /** Default "application/json". */
  contentType?: string;
  body: string | Uint8Array;
  /** After the body: finish the response (default), keep it open until the client leaves, or reset the socket. */
  end?: "end" | "hang" | "drop";
}

/** Full control: write the response yourself. */
export interface HandlerScript {
  type: "handler";
  handle(request: RecordedRequest, res: ServerResponse): void | Promise<void>;
}

export type ScriptedResponse = ReplyScript | ErrorScript | RawScript | HandlerScript;

export type RecordedRequest = BaseRecordedRequest;

export interface FakeOpenAiOptions {
  /** When set, requests must carry `authorization: Bearer <apiKey>`, else 401 invalid_api_key. */
  apiKey?: string;
  /**
   * Speak Azure OpenAI instead: chat completions at `POST /openai/deployments/{deployment}/chat/completions`
   * (an `api-version` query is required, else 404 "Resource not found") and at Azure's v1 API,
   * `POST /openai/v1/chat/completions`; the key, when `apiKey` is set, in the `api-key` header (else
   * 401 with Azure's body); `apim-request-id` and `x-ms-region` headers; and a stream that opens with
   * the `prompt_filter_results` chunk (`choices: []`) and carries `content_filter_results` on its
   * choices. `url` is then the resource endpoint, without `/v1`.
   * https://learn.microsoft.com/azure/ai-services/openai/reference
   * https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter
   */
  azure?: { apiKey?: string };
  /** Answers requests when no script is queued. Default: a `reply` with DEFAULT_REPLY. */
  fallback?: (request: RecordedRequest) => ScriptedResponse;
}

export interface FakeOpenAi {
  /** Base URL including the version path, e.g. "http://127.0.0.1:41234/v1". */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since start or the last `reset()`. */
  readonly connectionCount: number;
  /** TCP connections open right now. */
  readonly openConnections: number;
  /** Scripted responses not yet used. */
  readonly pendingScripts: number;
  /** Queues responses; each chat-completions request takes the next one. */
  script(...responses: ScriptedResponse[]): void;
  /** Replaces the fallback used when the queue is empty; undefined restores the default. */
  setFallback(fallback: ((request: RecordedRequest) => ScriptedResponse) | undefined): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets queued scripts and recorded requests, and zeroes the connection count. */
  reset(): void;
  /** Destroys every open connection (hanging responses included) and stops listening. */
  close(): Promise<void>;
}

/** Starts a fake on 127.0.0.1 and a random free port. */
export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const queue: ScriptedResponse[] = [];
  let fallback = options.fallback ?? defaultFallback;
  let sequence = 0;

  const recording = await startRecordingServer<RecordedRequest>({
    name: "fake OpenAI",
    respond: (recorded, req, res) => handle(recorded, req, res),
  });
  const { requests } = recording;

  async function handle(recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = recorded.body;

    sequence += 1;
    const ctx: ReplyContext = {
      sequence,
      request: recorded,
      startedAt: performance.now(),
      azure: options.azure !== undefined,
    };
    const path = (req.url ?? "").split("?")[0] ?? "";

    if (options.azure !== undefined) return handleAzure(req, res, ctx, path, body, recorded);
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, ctx, {
        type: "error",
        status: 401,
        error: {
          message:
            "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
          type: "invalid_request_error",
          code: "invalid_api_key",
        },
      });
    }
    if (req.method === "GET" && path === "/v1/models") {
      return sendRaw(res, ctx, {
        type: "raw",
        body: JSON.stringify({
          object: "list",
          data: [{ id: DEFAULT_MODEL, object: "model", created: 1721172741, owned_by: "system" }],
        }),
      });
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      return sendError(res, ctx, {
        type: "error",
        status: 404,
        error: { message: `Invalid URL (${req.method} ${path})`, type: "invalid_request_error" },
      });
    }
    if (body === undefined || body === null || typeof body !== "object") {
      return sendError(res, ctx, {
        type: "error",
        status: 400,
        error: {
          message:
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
          type: "invalid_request_error",
        },
      });
    }
    return answer(res, ctx, recorded);
  }

  /** Azure OpenAI's routing and key check, then the same scripted answers. */
  async function handleAzure(
    req: IncomingMessage,
    res: ServerResponse,
    ctx: ReplyContext,
    path: string,
    body: unknown,
    recorded: RecordedRequest,
  ): Promise<void> {
    const azureKey = options.azure?.apiKey;
    if (azureKey !== undefined && req.headers["api-key"] !== azureKey) {
      return sendError(res, ctx, {
        type: "error",
        status: 401,
        body: {
          error: {
            code: "401",
            message:
              "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
          },
        },
      });
    }
    const query = new URL(req.url ?? "/", "http://fake").searchParams;
    const deployment = /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(path);
    const v1 = path === "/openai/v1/chat/completions";
    if (req.method !== "POST" || !(v1 || (deployment && query.has("api-version")))) {
      return sendError(res, ctx, {
        type: "error",
        status: 404,
        body: { error: { code: "404", message: "Resource not found" } },
      });
    }
    if (body === undefined || body === null || typeof body !== "object") {
      return sendError(res, ctx, { type: "error", status: 400 });
    }
    return answer(res, ctx, recorded);
  }

  async function answer(res: ServerResponse, ctx: ReplyContext, recorded: RecordedRequest): Promise<void> {
    const scripted = queue.shift() ?? fallback(recorded);
    switch (scripted.type) {
      case "reply":
        return sendReply(res, ctx, scripted);
      case "error":
        return sendError(res, ctx, scripted);
      case "raw":
        return sendRaw(res, ctx, scripted);
      case "handler":
        return scripted.handle(recorded, res);
    }
  }

  const { port } = recording;

  return {
    url: options.azure === undefined ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`,
    requests,
    get connectionCount() {
      return recording.connectionCount;
    },
    get openConnections() {
      return recording.openConnections;
    },
    get pendingScripts() {
      return queue.length;
    },
    script(...responses) {
      queue.push(...responses);
    },
    setFallback(next) {
      fallback = next ?? defaultFallback;
    },
    waitForRequests: (count, timeoutMs) => recording.waitForRequests(count, timeoutMs),
    reset() {
      queue.length = 0;
      recording.reset();
    },
    close: () => recording.close(),
  };
}

interface ReplyContext {
  sequence: number;
  request: RecordedRequest;
  startedAt: number;
  /** Speaking Azure OpenAI (FakeOpenAiOptions.azure). */
  azure: boolean;
}

function defaultFallback(): ScriptedResponse {
  return { type: "reply", content: DEFAULT_REPLY };
}

/** The headers api.openai.com sends on every response. https://platform.openai.com/docs/guides/rate-limits */
function openAiHeaders(ctx: ReplyContext, contentType: string): Record<string, string> {
  if (ctx.azure) {
    // What Azure OpenAI's API Management front sends. https://learn.microsoft.com/azure/ai-services/openai/quotas-limits
    return {
      "content-type": contentType,
      "apim-request-id": `00000000-0000-4000-8000-${ctx.sequence.toString(16).padStart(12, "0")}`,
      "x-ms-region": "East US",
      "x-request-id": `00000000-0000-4000-9000-${ctx.sequence.toString(16).padStart(12, "0")}`,
      "x-ratelimit-remaining-requests": "99",
      "x-ratelimit-remaining-tokens": "99000",
    };
  }
  return {
    "content-type": contentType,
    "openai-organization": "fake-org",
    "openai-processing-ms": String(Math.max(1, Math.round(performance.now() - ctx.startedAt))),
    "openai-version": "2020-10-01",
    "x-request-id": `req_${ctx.sequence.toString(16).padStart(32, "0")}`,
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "1999950",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "1ms",
  };
}

function defaultError(status: number): OpenAiErrorObject {
  switch (status) {
    case 400:
      return { message: "Invalid request.", type: "invalid_request_error", param: null, code: null };
    case 401:
      return {
        message:
          "Incorrect API key provided: sk-fake*****************1234. You can find your API key at https://platform.openai.com/account/api-keys.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      };
    case 403:
      return {
        message: "Country, region, or territory not supported",
        type: "request_forbidden",
        param: null,
        code: "unsupported_country_region_territory",
      };
    case 404:
      return {
        message: "The model `gpt-fake` does not exist or you do not have access to it.",
        type: "invalid_request_error",
        param: null,
        code: "model_not_found",
      };
    case 429:
      return {
        message:
          "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      };
    case 503:
      return {
        message: "The engine is currently overloaded, please try again later.",
        type: "server_error",
        param: null,
        code: null,
      };
    default:
      return status >= 500
        ? {
            message: "The server had an error while processing your request. Sorry about that!",
            type: "server_error",
            param: null,
            code: null,
          }
        : { message: "Invalid request.", type: "invalid_request_error", param: null, code: null };
  }
}

async function sendError(res: ServerResponse, ctx: ReplyContext, script: ErrorScript): Promise<void> {
  const error = { ...defaultError(script.status), ...script.error };
  const headers = openAiHeaders(ctx, "application/json; charset=utf-8");
  const retryAfter = script.retryAfterSeconds ?? (script.status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  if (script.retryAfterMs !== undefined) headers["retry-after-ms"] = String(script.retryAfterMs);
  if (script.status === 429) headers["x-ratelimit-remaining-requests"] = "0";
  // OpenAI's error bodies are indented by four spaces and end with a newline.
  const body =
    script.body === undefined ? `${JSON.stringify({ error }, null, 4)}\n` : JSON.stringify(script.body);
  await deliver(res, script, script.status, { ...headers, ...script.headers }, [body], "end");
}

async function sendRaw(res: ServerResponse, ctx: ReplyContext, script: RawScript): Promise<void> {
  const headers = { ...openAiHeaders(ctx, script.contentType ?? "application/json"), ...script.headers };
  await deliver(res, script, script.status ?? 200, headers, [script.body], script.end ?? "end");
}

async function sendReply(res: ServerResponse, ctx: ReplyContext, script: ReplyScript): Promise<void> {
  const requestBody = ctx.request.body as {
    model?: unknown;
    stream?: unknown;
    stream_options?: { include_usage?: unknown };
    messages?: unknown;
  };
  const stream = script.stream ?? requestBody.stream === true;
  const model = script.model ?? (typeof requestBody.model === "string" ? requestBody.model : DEFAULT_MODEL);
  const tokens = typeof script.content === "string" ? splitWords(script.content) : (script.content ?? []);
  const toolCalls = (script.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? `call_${ctx.sequence}_${i}`,
    name: call.name,
    pieces: typeof call.arguments === "string" ? chop(call.arguments, 4) : call.arguments,
  }));
  const finishReason =
    script.finishReason === undefined ? (toolCalls.length > 0 ? "tool_calls" : "stop") : script.finishReason;
  const completionTokens =
    tokens.length + toolCalls.reduce((n, call) => n + Math.max(1, call.pieces.length), 0);
  const usage =
    script.usage === null
      ? undefined
      : (script.usage ?? {
          prompt_tokens: estimatePromptTokens(requestBody.messages),
          completion_tokens: completionTokens,
        });
  const id = `chatcmpl-fake${ctx.sequence.toString().padStart(6, "0")}`;
  const created = 1_700_000_000 + ctx.sequence;

  if (!stream) {
    const message: Record<string, unknown> = {
      role: "assistant",
      content: tokens.length > 0 || toolCalls.length === 0 ? tokens.join("") : null,
      refusal: null,
      annotations: [],
    };
    if (toolCalls.length > 0) {
      message.tool_calls = toolCalls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: call.pieces.join("") },
      }));
    }
    const completion: Record<string, unknown> = {
      id,
      object: "chat.completion",
      created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    };
    if (usage !== undefined) completion.usage = fullUsage(usage);
    completion.service_tier = "default";
    completion.system_fingerprint = "fp_fake0001";
    const headers = { ...openAiHeaders(ctx, "application/json"), ...script.headers };
    await deliver(res, script, 200, headers, [`${JSON.stringify(completion, null, 2)}\n`], "end");
    return;
  }

  // https://platform.openai.com/docs/api-reference/chat-streaming/streaming
  const includeUsage = requestBody.stream_options?.include_usage === true && usage !== undefined;
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}): string => {
    const chunk: Record<string, unknown> = {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      service_tier: "default",
      system_fingerprint: "fp_fake0001",
      choices,
    };
    if (includeUsage) chunk.usage = null;
    Object.assign(chunk, extra);
    // OpenAI pads chunks with a random field (stream_options.include_obfuscation); clients must ignore it.
    chunk.obfuscation = "fAkE";
    return `data: ${JSON.stringify(chunk)}\n\n`;
  };
  const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
    ...(ctx.azure && { content_filter_results: azureFilterResults(finish === "content_filter") }),
  });

  const frames: { text: string; token: boolean }[] = [];
  for (const comment of script.comments ?? []) frames.push({ text: `${comment}\n\n`, token: false });
  if (ctx.azure) {
    // Azure opens every stream with the prompt's filter results, in a chunk of no choices.
    frames.push({
      text: `data: ${JSON.stringify({
        choices: [],
        created: 0,
        id: "",
        model: "",
        object: "",
        prompt_filter_results: [{ prompt_index: 0, content_filter_results: azureFilterResults(false) }],
      })}\n\n`,
      token: false,
    });
  }
  let roleSent = false;
  const role = (): Record<string, unknown> => {
    if (roleSent) return {};
    roleSent = true;
    return { role: "assistant" };
  };
  if (tokens.length > 0 || toolCalls.length === 0) {
    frames.push({ text: frame([choice({ ...role(), content: "", refusal: null })]), token: false });
  }
  for (const token of tokens) frames.push({ text: frame([choice({ content: token })]), token: true });
  toolCalls.forEach((call, index) => {
    const head = roleSent ? {} : { ...role(), content: null };
    frames.push({
      text: frame([
        choice({
          ...head,
          tool_calls: [
            { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } },
          ],
          ...(Object.keys(head).length > 0 ? { refusal: null } : {}),
        }),
      ]),
      token: false,
    });
    for (const piece of call.pieces) {
      frames.push({
        text: frame([choice({ tool_calls: [{ index, function: { arguments: piece } }] })]),
        token: true,
      });
    }
  });
  if (finishReason !== null) frames.push({ text: frame([choice({}, finishReason)]), token: false });
  if (includeUsage && usage !== undefined)
    frames.push({ text: frame([], { usage: fullUsage(usage) }), token: false });
  if (!script.omitDone) frames.push({ text: "data: [DONE]\n\n", token: false });

  let end: "end" | "hang" | "drop" = "end";
  const cut = script.hangAfterTokens ?? script.dropAfterTokens ?? script.errorAfterTokens?.tokens;
  let out = frames.map((f) => f.text);
  if (cut !== undefined) {
    out = frames.slice(0, cutAfterTokens(frames, cut)).map((f) => f.text);
    if (script.hangAfterTokens !== undefined) end = "hang";
    else if (script.dropAfterTokens !== undefined) end = "drop";
    else
      out.push(
        `data: ${JSON.stringify({ error: { ...defaultError(500), ...script.errorAfterTokens?.error } })}\n\n`,
      );
  }
  const headers = { ...openAiHeaders(ctx, "text/event-stream; charset=utf-8"), ...script.headers };
  await deliver(res, script, 200, headers, out, end, script.tokenDelayMs ?? 0);
}

/** How many leading frames to keep so that exactly `count` token frames (or all there are) go out. */
function cutAfterTokens(frames: { token: boolean }[], count: number): number {
  let seen = 0;
  let keep = frames.findIndex((f) => f.token);
  if (keep === -1) return Math.min(1, frames.length);
  for (const [i, f] of frames.entries()) {
    if (!f.token) continue;
    if (seen === count) break;
    seen += 1;
    keep = i + 1;
  }
  return keep;
}

/** Azure's per-category verdicts; `filtered` marks the answer cut by the filter. */
function azureFilterResults(filtered: boolean): Record<string, unknown> {
  return {
    hate: { filtered: false, severity: "safe" },
    self_harm: { filtered: false, severity: "safe" },
    sexual: { filtered: false, severity: "safe" },
    violence: { filtered, severity: filtered ? "high" : "safe" },
  };
}

function fullUsage(usage: FakeUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** Deterministic stand-in for a tokenizer: about four characters a token, at least one. */
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

function chop(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces.length > 0 ? pieces : [""];
}

/**
 * A model that repeats what it was sent: every message's content joined by " | " (or the last
 * user message), and the first tool call it was shown, in 3-character pieces. A fallback for
 * tests that look for planted values in what comes back.
 */
export function echoConversation(recorded: RecordedRequest): ScriptedResponse {
  const body = recorded.body as {
    messages: {
      role: string;
      content: string;
      tool_calls?: { function: { name: string; arguments: string } }[];
    }[];
  };
  const lastUser = body.messages.findLast((m) => m.role === "user")?.content ?? "";
  const call = body.messages.flatMap((m) => m.tool_calls ?? [])[0];
  const pieces = (text: string) => text.match(/[\s\S]{1,3}/g) ?? [];
  return {
    type: "reply",
    content: pieces(body.messages.map((m) => m.content).join(" | ") || lastUser),
    ...(call && {
      toolCalls: [{ name: call.function.name, arguments: pieces(call.function.arguments) }],
      finishReason: "tool_calls",
    }),
  };
}
