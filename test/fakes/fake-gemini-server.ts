/**
 * A fake Gemini API server (generativelanguage.googleapis.com) on a real socket (127.0.0.1, random
 * port), speaking the wire format as Google does:
 * - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: `content-type: text/event-stream`,
 *   one `data: {GenerateContentResponse}` event per chunk, framed by "\r\n\r\n", no end sentinel:
 *   the last chunk carries `finishReason` and the complete `usageMetadata`, then the body ends.
 *   Intermediate chunks repeat usageMetadata without `candidatesTokenCount`.
 * - the same without `alt=sse`: one JSON array of those chunks; `:generateContent`: one JSON object.
 * - JSON written as Google's servers write it: `"key": value` pairs joined by "," inside events;
 *   pretty-printed (two spaces) bodies for errors and unary answers.
 * - errors as `{"error":{"code","message","status","details"}}` (in an array on the non-SSE stream
 *   endpoint), with google.rpc.ErrorInfo / RetryInfo details; a wrong key is a 400
 *   INVALID_ARGUMENT with reason API_KEY_INVALID, as Google answers it.
 * https://ai.google.dev/api/generate-content
 * https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 *
 * Usage:
 *   const fake = await startFakeGemini();
 *   fake.script({ type: "reply", content: ["Hel", "lo"] }, { type: "error", status: 429, retryDelay: "7s" });
 *   // point a provider at fake.url ("http://127.0.0.1:PORT/v1beta"), make calls…
 *   fake.requests[0].body; await fake.requests[0].socketClosed;
 *   await fake.close();
 *
 * Each generate request takes the next scripted response; with none left it uses the fallback,
 * which by default answers DEFAULT_REPLY, with usage derived from the request size.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Delivery, deliver } from "./delivery.js";
import { type RecordedRequest as BaseRecordedRequest, startRecordingServer } from "./recording-server.js";

/** What the default fallback answers. */
export const DEFAULT_REPLY = "Hello from the fake Gemini server.";

/** Google's error object. https://cloud.google.com/apis/design/errors#http_mapping */
export interface GoogleErrorObject {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

export interface FakeUsage {
  promptTokenCount: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}

export interface FakeFunctionCall {
  name: string;
  args?: Record<string, unknown>;
  /** Newer models number their calls; left out by default, as older ones do. */
  id?: string;
}

export type { Delivery } from "./delivery.js";

/** A successful answer: an event stream, a JSON array or one JSON object, as the endpoint asks. */
export interface ReplyScript extends Delivery {
  type: "reply";
  /** Text, or the exact chunks to stream it in. A string is split into words (each with its leading space). */
  content?: string | string[];
  /** Thought summaries streamed before the answer (`thought: true` parts). */
  thoughts?: string[];
  /** Sent together in one chunk after the text, as Gemini sends parallel calls. */
  functionCalls?: FakeFunctionCall[];
  /** Default "STOP". null: no chunk carries one (a stream that ends without its end marker). */
  finishReason?: string | null;
  /** Put the finish reason on every chunk, as the first Gemini models did. */
  finishOnEveryChunk?: boolean;
  /** Default derived from the request and the chunks. null: no usageMetadata at all. */
  usage?: FakeUsage | null;
  responseId?: string;
  /** Stream only: pause before each chunk after the first. */
  tokenDelayMs?: number;
  /** Stream only: after this many content chunks, keep the response open until the client leaves. */
  hangAfterTokens?: number;
  /** Stream only: after this many content chunks, destroy the socket (connection reset mid-stream). */
  dropAfterTokens?: number;
  /** Stream only: after `tokens` content chunks, send `data: {"error":{…}}` and end. */
  errorAfterTokens?: { tokens: number; error?: Partial<GoogleErrorObject> };
}

/** A prompt the safety system refused: one chunk with `promptFeedback.blockReason`, no candidates. */
export interface BlockedScript extends Delivery {
  type: "blocked";
  /** Default "SAFETY". */
  blockReason?: string;
}

/** A Google error response. Body defaults per status (see `defaultError`). */
export interface ErrorScript extends Delivery {
  type: "error";
  status: number;
  error?: Partial<GoogleErrorObject>;
  /** Adds a google.rpc.RetryInfo detail with this `retryDelay` ("7s"). 429 defaults to "1s". */
  retryDelay?: string;
  /** Sets `retry-after` (delta-seconds); Google itself does not send it. */
  retryAfterSeconds?: number;
  /** Wrap the body in an array (default: only on the non-SSE stream endpoint, as Google does). */
  wrapInArray?: boolean;
}

/** Exact bytes: a recorded SSE fixture, a non-JSON body, an HTML error page… */
export interface RawScript extends Delivery {
  type: "raw";
  /** Default 200. */
  status?: number;
  /** Default "text/event-stream". */
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

export type ScriptedResponse = ReplyScript | BlockedScript | ErrorScript | RawScript | HandlerScript;

/** A request as the fake saw it (see recording-server.ts), with what the path says. */
export interface RecordedRequest extends BaseRecordedRequest {
  /** The model resource the path names, e.g. "models/gemini-2.5-flash"; "" when none. */
  model: string;
  /** "streamGenerateContent", "generateContent", or "" for other paths. */
  rpc: string;
  /** Whether `alt=sse` was asked for. */
  sse: boolean;
}

export interface FakeGeminiOptions {
  /** When set, requests must carry it in `x-goog-api-key` (or `?key=`), else 400 API_KEY_INVALID. */
  apiKey?: string;
  /** Answers requests when no script is queued. Default: a `reply` with DEFAULT_REPLY. */
  fallback?: (request: RecordedRequest) => ScriptedResponse;
}

export interface FakeGemini {
  /** Base URL up to the API version, e.g. "http://127.0.0.1:41234/v1beta". */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since start or the last `reset()`. */
  readonly connectionCount: number;
  readonly pendingScripts: number;
  script(...responses: ScriptedResponse[]): void;
  setFallback(fallback: ((request: RecordedRequest) => ScriptedResponse) | undefined): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  reset(): void;
  /** Destroys every open connection (hanging responses included) and stops listening. */
  close(): Promise<void>;
}

const GENERATE_PATH = /^\/v1beta\/((?:models|tunedModels)\/[^/:]+):(streamGenerateContent|generateContent)$/;

/** Starts a fake on 127.0.0.1 and a random free port. */
export async function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const queue: ScriptedResponse[] = [];
  let fallback = options.fallback ?? defaultFallback;
  let sequence = 0;

  const recording = await startRecordingServer<RecordedRequest>({
    name: "fake Gemini",
    extra: (req) => {
      const url = new URL(req.url ?? "/", "http://fake");
      const match = GENERATE_PATH.exec(decodeURIComponent(url.pathname));
      return { model: match?.[1] ?? "", rpc: match?.[2] ?? "", sse: url.searchParams.get("alt") === "sse" };
    },
    respond: (recorded, req, res) => handle(recorded, req, res),
  });
  const { requests } = recording;

  async function handle(recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = recorded.body;
    const url = new URL(req.url ?? "/", "http://fake");
    const match = GENERATE_PATH.exec(decodeURIComponent(url.pathname));
    sequence += 1;
    const ctx: ReplyContext = { sequence, request: recorded, startedAt: performance.now() };
    const wrap = recorded.rpc === "streamGenerateContent" && !recorded.sse;

    const key = req.headers["x-goog-api-key"] ?? url.searchParams.get("key") ?? undefined;
    if (options.apiKey !== undefined && key !== options.apiKey) {
      return sendError(res, ctx, {
        type: "error",
        status: 400,
        wrapInArray: wrap,
        error: {
          message: "API key not valid. Please pass a valid API key.",
          status: "INVALID_ARGUMENT",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.ErrorInfo",
              reason: "API_KEY_INVALID",
              domain: "googleapis.com",
              metadata: { service: "generativelanguage.googleapis.com" },
            },
            {
              "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
              locale: "en-US",
              message: "API key not valid. Please pass a valid API key.",
            },
          ],
        },
      });
    }
    if (req.method !== "POST" || match === null) {
      return sendError(res, ctx, {
        type: "error",
        status: 404,
        error: { message: `Method not found: ${req.method} ${url.pathname}`, status: "NOT_FOUND" },
      });
    }
    if (body === undefined || body === null || typeof body !== "object") {
      return sendError(res, ctx, {
        type: "error",
        status: 400,
        wrapInArray: wrap,
        error: { message: "Invalid JSON payload received. Unexpected token.", status: "INVALID_ARGUMENT" },
      });
    }
    const scripted = queue.shift() ?? fallback(recorded);
    switch (scripted.type) {
      case "reply":
        return sendReply(res, ctx, scripted);
      case "blocked":
        return sendBlocked(res, ctx, scripted);
      case "error":
        return sendError(res, ctx, { wrapInArray: wrap, ...scripted });
      case "raw":
        return sendRaw(res, ctx, scripted);
      case "handler":
        return scripted.handle(recorded, res);
    }
  }

  const { port } = recording;

  return {
    url: `http://127.0.0.1:${port}/v1beta`,
    requests,
    get connectionCount() {
      return recording.connectionCount;
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
}

function defaultFallback(): ScriptedResponse {
  return { type: "reply", content: DEFAULT_REPLY };
}

/**
 * JSON as Google's servers write it inside stream events: `"key": value`, members joined by ","
 * without a space, one line.
 */
export function googleJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(googleJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const members = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}: ${googleJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The headers Google's front end sends on every response. */
function googleHeaders(ctx: ReplyContext, contentType: string): Record<string, string> {
  return {
    "content-type": contentType,
    vary: "Origin, X-Origin, Referer",
    server: "scaffolding on HTTPServer2",
    "x-xss-protection": "0",
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "server-timing": `gfet4t7; dur=${Math.max(1, Math.round(performance.now() - ctx.startedAt))}`,
  };
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** What Google answers per status. https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes */
export function defaultError(status: number): GoogleErrorObject {
  const name = STATUS_NAMES[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT");
  const messages: Record<string, string> = {
    INVALID_ARGUMENT: "Request contains an invalid argument.",
    UNAUTHENTICATED:
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    PERMISSION_DENIED: "Method doesn't allow unregistered callers (callers without established identity).",
    NOT_FOUND:
      "models/gemini-fake is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.",
    RESOURCE_EXHAUSTED:
      "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    INTERNAL:
      "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    UNAVAILABLE: "The model is overloaded. Please try again later.",
    DEADLINE_EXCEEDED: "Deadline expired before operation could complete.",
  };
  return { code: status, message: messages[name] ?? "Error.", status: name };
}

async function sendError(res: ServerResponse, ctx: ReplyContext, script: ErrorScript): Promise<void> {
  const error: GoogleErrorObject = { ...defaultError(script.status), ...script.error };
  const retryDelay = script.retryDelay ?? (script.status === 429 ? "1s" : undefined);
  if (retryDelay !== undefined) {
    error.details = [
      ...(error.details ?? [
        {
          "@type": "type.googleapis.com/google.rpc.QuotaFailure",
          violations: [
            {
              quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
              quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
              quotaDimensions: { location: "global", model: "gemini-2.5-flash" },
              quotaValue: "10",
            },
          ],
        },
        {
          "@type": "type.googleapis.com/google.rpc.Help",
          links: [
            {
              description: "Learn more about Gemini API quotas",
              url: "https://ai.google.dev/gemini-api/docs/rate-limits",
            },
          ],
        },
      ]),
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay },
    ];
  }
  const headers = googleHeaders(ctx, "application/json; charset=UTF-8");
  if (script.retryAfterSeconds !== undefined) headers["retry-after"] = String(script.retryAfterSeconds);
  const pretty = JSON.stringify({ error }, null, 2);
  const body = script.wrapInArray ? `[${pretty}\n]` : `${pretty}\n`;
  await deliver(res, script, script.status, { ...headers, ...script.headers }, [body], "end");
}

async function sendRaw(res: ServerResponse, ctx: ReplyContext, script: RawScript): Promise<void> {
  const headers = { ...googleHeaders(ctx, script.contentType ?? "text/event-stream"), ...script.headers };
  await deliver(res, script, script.status ?? 200, headers, [script.body], script.end ?? "end");
}

function promptTokens(request: RecordedRequest): number {
  return Math.max(
    1,
    Math.ceil(JSON.stringify((request.body as { contents?: unknown }).contents ?? "").length / 16),
  );
}

async function sendBlocked(res: ServerResponse, ctx: ReplyContext, script: BlockedScript): Promise<void> {
  const prompt = promptTokens(ctx.request);
  const chunk = {
    promptFeedback: {
      blockReason: script.blockReason ?? "SAFETY",
      safetyRatings: [
        { category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", probability: "NEGLIGIBLE" },
        { category: "HARM_CATEGORY_HATE_SPEECH", probability: "HIGH" },
        { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
        { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "NEGLIGIBLE" },
      ],
    },
    usageMetadata: { promptTokenCount: prompt, totalTokenCount: prompt },
    modelVersion: modelVersion(ctx),
  };
  await sendChunks(res, ctx, script, [chunk], "end");
}

function modelVersion(ctx: ReplyContext): string {
  return ctx.request.model.replace(/^models\//, "") || "gemini-2.5-flash";
}

async function sendReply(res: ServerResponse, ctx: ReplyContext, script: ReplyScript): Promise<void> {
  const texts = typeof script.content === "string" ? splitWords(script.content) : (script.content ?? []);
  const thoughts = script.thoughts ?? [];
  const calls = script.functionCalls ?? [];
  const finishReason = script.finishReason === undefined ? "STOP" : script.finishReason;
  const responseId = script.responseId ?? `fAkE${ctx.sequence.toString().padStart(4, "0")}rEsPoNsE`;
  const prompt = promptTokens(ctx.request);
  const thoughtTokens = thoughts.length * 8;
  const usage: FakeUsage | null =
    script.usage === null
      ? null
      : (script.usage ?? {
          promptTokenCount: prompt,
          candidatesTokenCount: texts.length + calls.length * 5,
          ...(thoughtTokens > 0 && { thoughtsTokenCount: thoughtTokens }),
        });

  // Each content chunk: one thought, one piece of text, or all function calls at once.
  const contents: Record<string, unknown>[][] = [
    ...thoughts.map((text) => [{ text, thought: true }]),
    ...texts.map((text) => [{ text }]),
    ...(calls.length > 0
      ? [
          calls.map((call) => ({
            functionCall: { ...(call.id && { id: call.id }), name: call.name, args: call.args ?? {} },
          })),
        ]
      : []),
  ];

  const fullUsage = (u: FakeUsage): Record<string, unknown> => ({
    promptTokenCount: u.promptTokenCount,
    candidatesTokenCount: u.candidatesTokenCount,
    totalTokenCount:
      u.totalTokenCount ?? u.promptTokenCount + (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
    cachedContentTokenCount: u.cachedContentTokenCount,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: u.promptTokenCount }],
    thoughtsTokenCount: u.thoughtsTokenCount,
  });
  const partialUsage = (u: FakeUsage): Record<string, unknown> => ({
    promptTokenCount: u.promptTokenCount,
    totalTokenCount: u.promptTokenCount,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: u.promptTokenCount }],
  });

  const chunkOf = (parts: Record<string, unknown>[] | undefined, last: boolean): Record<string, unknown> => {
    const candidate: Record<string, unknown> = {};
    if (parts !== undefined) candidate.content = { parts, role: "model" };
    if (finishReason !== null && (last || script.finishOnEveryChunk)) candidate.finishReason = finishReason;
    candidate.index = 0;
    const chunk: Record<string, unknown> = { candidates: [candidate] };
    if (usage !== null) chunk.usageMetadata = last ? fullUsage(usage) : partialUsage(usage);
    chunk.modelVersion = modelVersion(ctx);
    chunk.responseId = responseId;
    return chunk;
  };
  const chunks =
    contents.length === 0
      ? [chunkOf(undefined, true)]
      : contents.map((parts, i) => chunkOf(parts, i === contents.length - 1));

  const request = ctx.request;
  if (request.rpc === "generateContent") {
    const merged = chunkOf(contents.flat(), true);
    const headers = { ...googleHeaders(ctx, "application/json; charset=UTF-8"), ...script.headers };
    await deliver(res, script, 200, headers, [`${JSON.stringify(merged, null, 2)}\n`], "end");
    return;
  }

  let end: "end" | "hang" | "drop" = "end";
  let out = chunks;
  const cut = script.hangAfterTokens ?? script.dropAfterTokens ?? script.errorAfterTokens?.tokens;
  let trailer: Record<string, unknown> | undefined;
  if (cut !== undefined) {
    out = chunks.slice(0, cut);
    if (script.hangAfterTokens !== undefined) end = "hang";
    else if (script.dropAfterTokens !== undefined) end = "drop";
    else trailer = { error: { ...defaultError(500), ...script.errorAfterTokens?.error } };
  }
  await sendChunks(res, ctx, script, out, end, trailer);
}

/** Writes chunks as the endpoint asked: SSE events, or one JSON array (streamGenerateContent without alt=sse). */
async function sendChunks(
  res: ServerResponse,
  ctx: ReplyContext,
  script: Delivery & { tokenDelayMs?: number },
  chunks: Record<string, unknown>[],
  end: "end" | "hang" | "drop",
  trailer?: Record<string, unknown>,
): Promise<void> {
  const all = trailer === undefined ? chunks : [...chunks, trailer];
  if (!ctx.request.sse) {
    const headers = { ...googleHeaders(ctx, "application/json; charset=UTF-8"), ...script.headers };
    const body = `[${all.map((c) => JSON.stringify(c, null, 2)).join(",\r\n")}]`;
    await deliver(res, script, 200, headers, [body], end);
    return;
  }
  const headers = { ...googleHeaders(ctx, "text/event-stream"), ...script.headers };
  const events = all.map((chunk) => `data: ${googleJson(chunk)}\r\n\r\n`);
  await deliver(res, script, 200, headers, events, end, script.tokenDelayMs ?? 0);
}

function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+/gu) ?? [];
}
