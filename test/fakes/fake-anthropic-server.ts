/**
 * A fake Anthropic Messages API on a real socket (127.0.0.1, random port), speaking the wire format
 * the way api.anthropic.com does, as its public reference describes it:
 *
 * - POST /v1/messages with `x-api-key` and `anthropic-version` (either missing: 401 / 400, as the API
 *   answers), `max_tokens` and `messages` required (400 otherwise).
 * - Streams as `text/event-stream; charset=utf-8`, each event `event: <type>\ndata: <json>\n\n`:
 *   message_start (usage with input_tokens, cache_creation_input_tokens, cache_read_input_tokens,
 *   output_tokens 1), then per content block content_block_start / content_block_delta (text_delta,
 *   input_json_delta) / content_block_stop, a ping after the first block starts, message_delta
 *   (stop_reason, cumulative output_tokens), message_stop. A mid-stream failure is an `error` event.
 *   https://docs.anthropic.com/en/docs/build-with-claude/streaming
 * - Answers `stream: false` with a whole Message. https://docs.anthropic.com/en/api/messages
 * - Errors as `{"type":"error","error":{"type","message"},"request_id"}` with the documented status
 *   per type (529 overloaded_error…), `retry-after` and the `anthropic-ratelimit-*` headers.
 *   https://docs.anthropic.com/en/api/errors https://docs.anthropic.com/en/api/rate-limits
 *
 * Usage:
 *   const fake = await startFakeAnthropic();
 *   fake.script({ type: "reply", content: ["Hel", "lo"] }, { type: "error", status: 529 });
 *   // point a provider at fake.url ("http://127.0.0.1:PORT"), make calls…
 *   fake.requests[0].body; await fake.requests[0].socketClosed;
 *   await fake.close();
 *
 * Each POST /v1/messages takes the next scripted response; with none left it answers DEFAULT_REPLY.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Delivery, deliver } from "./delivery.js";
import { type RecordedRequest as BaseRecordedRequest, startRecordingServer } from "./recording-server.js";

/** What the default fallback answers. */
export const DEFAULT_REPLY = "Hello from the fake Anthropic server.";

/** Anthropic's error object. https://docs.anthropic.com/en/api/errors#error-shapes */
export interface AnthropicErrorObject {
  type: string;
  message: string;
  details?: { error_code: string };
}

/** Usage as Anthropic reports it: input_tokens excludes the cache reads and writes. */
export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface FakeToolUse {
  /** Default `toolu_<n>`. */
  id?: string;
  name: string;
  /** The input object (streamed as its JSON in 6-char pieces), or the exact partial_json pieces. */
  input: Record<string, unknown> | string[];
}

export type { Delivery } from "./delivery.js";

/** A successful answer, as an event stream or a whole Message. */
export interface ReplyScript extends Delivery {
  type: "reply";
  /** Text, or the exact text_delta pieces. A string is split into words (each with its leading space). */
  content?: string | string[];
  /** tool_use blocks after the text block. */
  toolUses?: FakeToolUse[];
  /** Default "tool_use" with tool uses, else "end_turn". null: message_delta carries no stop_reason. */
  stopReason?: string | null;
  /** The stop_sequence reported with stop_reason "stop_sequence". */
  stopSequence?: string;
  /** Default derived from the request and the pieces, cache counts 0. */
  usage?: FakeUsage;
  model?: string;
  /** Force a stream (true) or a Message body (false); default follows the request's `stream`. */
  stream?: boolean;
  /** Pause before each event after the first. */
  tokenDelayMs?: number;
  /** Stream only: end the response cleanly but without `message_stop`. */
  omitStop?: boolean;
  /** Stream only: after this many delta events, keep the response open until the client leaves. */
  hangAfterTokens?: number;
  /** Stream only: after this many delta events, destroy the socket (connection reset mid-stream). */
  dropAfterTokens?: number;
  /** Stream only: after `tokens` delta events, send an `error` event and end. Default overloaded_error. */
  errorAfterTokens?: { tokens: number; error?: Partial<AnthropicErrorObject> };
}

/** An Anthropic error response. Body and headers default per status (see `defaultError`). */
export interface ErrorScript extends Delivery {
  type: "error";
  status: number;
  error?: Partial<AnthropicErrorObject>;
  /** Sets `retry-after` (seconds). 429 and 529 default to 1; null leaves it out. */
  retryAfterSeconds?: number | null;
  /** Which rate limit is spent (its `anthropic-ratelimit-*-remaining` is 0), and when it resets. */
  exhausted?: { limit: "requests" | "tokens" | "input-tokens" | "output-tokens"; resetAt: Date };
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

export interface FakeAnthropicOptions {
  /** When set, requests must carry `x-api-key: <apiKey>`, else 401 authentication_error. */
  apiKey?: string;
}

export interface FakeAnthropic {
  /** The host, as Anthropic's SDKs take a base URL: "http://127.0.0.1:41234". */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted since start or the last `reset()`. */
  readonly connectionCount: number;
  readonly pendingScripts: number;
  /** Queues responses; each messages request takes the next one. */
  script(...responses: ScriptedResponse[]): void;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forgets queued scripts and recorded requests, and zeroes the connection count. */
  reset(): void;
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a fake on 127.0.0.1 and a random free port. */
export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const queue: ScriptedResponse[] = [];
  let sequence = 0;

  const recording = await startRecordingServer<RecordedRequest>({
    name: "fake Anthropic",
    respond: (recorded, req, res) => handle(recorded, req, res),
  });
  const { requests } = recording;

  async function handle(recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = recorded.body;
    sequence += 1;
    const ctx: ReplyContext = { sequence, request: recorded };
    const path = (req.url ?? "").split("?")[0] ?? "";
    const fail = (status: number, message: string, type?: string): Promise<void> =>
      sendError(res, ctx, { type: "error", status, error: { message, ...(type && { type }) } });

    // The checks in the order the API makes them: route, authentication, version, body.
    if (req.method !== "POST" || path !== "/v1/messages") return fail(404, "Not Found");
    const key = req.headers["x-api-key"];
    if (key === undefined) return fail(401, "x-api-key header is required");
    if (options.apiKey !== undefined && key !== options.apiKey) return fail(401, "invalid x-api-key");
    if (req.headers["anthropic-version"] === undefined)
      return fail(400, "anthropic-version: header is required");
    if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body))
      return fail(400, "There was an issue with the format of your request: not valid JSON");
    const request = body as Record<string, unknown>;
    if (typeof request.max_tokens !== "number") return fail(400, "max_tokens: Field required");
    if (!Array.isArray(request.messages)) return fail(400, "messages: Field required");

    const scripted = queue.shift() ?? { type: "reply", content: DEFAULT_REPLY };
    switch (scripted.type) {
      case "reply":
        return sendReply(res, ctx, scripted);
      case "error":
        return sendError(res, ctx, scripted);
      case "raw":
        return deliver(
          res,
          scripted,
          scripted.status ?? 200,
          { ...anthropicHeaders(ctx, scripted.contentType ?? "application/json"), ...scripted.headers },
          [scripted.body],
          scripted.end ?? "end",
        );
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
    get pendingScripts() {
      return queue.length;
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

interface ReplyContext {
  sequence: number;
  request: RecordedRequest;
}

const ORGANIZATION_ID = "0f6ba0f6-4c02-4b7c-9d53-2f5c0d7c5a11";

function requestId(ctx: ReplyContext): string {
  return `req_011CFake${ctx.sequence.toString().padStart(14, "0")}`;
}

/**
 * The headers api.anthropic.com sends on every answer: request-id, the organization, and each rate
 * limit's limit / remaining / reset (RFC 3339).
 * https://docs.anthropic.com/en/api/rate-limits#response-headers
 */
function anthropicHeaders(ctx: ReplyContext, contentType: string): Record<string, string> {
  const reset = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000).toISOString().replace(".000Z", "Z");
  const headers: Record<string, string> = {
    "content-type": contentType,
    "request-id": requestId(ctx),
    "anthropic-organization-id": ORGANIZATION_ID,
  };
  const limits = { requests: 4000, tokens: 2_000_000, "input-tokens": 2_000_000, "output-tokens": 400_000 };
  for (const [name, limit] of Object.entries(limits)) {
    headers[`anthropic-ratelimit-${name}-limit`] = String(limit);
    headers[`anthropic-ratelimit-${name}-remaining`] = String(limit - 1);
    headers[`anthropic-ratelimit-${name}-reset`] = reset;
  }
  return headers;
}

/** The error type and message the API answers with, per status. https://docs.anthropic.com/en/api/errors */
function defaultError(status: number): AnthropicErrorObject {
  switch (status) {
    case 400:
      return { type: "invalid_request_error", message: "Invalid request." };
    case 401:
      return { type: "authentication_error", message: "invalid x-api-key" };
    case 402:
      return {
        type: "billing_error",
        message: "Your credit balance is too low to access the Anthropic API.",
      };
    case 403:
      return {
        type: "permission_error",
        message: "Your API key does not have permission to use the specified resource.",
      };
    case 404:
      return { type: "not_found_error", message: "model: claude-fake-0" };
    case 413:
      return { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." };
    case 429:
      return {
        type: "rate_limit_error",
        message:
          "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
      };
    case 504:
      return { type: "timeout_error", message: "Request timeout" };
    case 529:
      return { type: "overloaded_error", message: "Overloaded" };
    default:
      return status >= 500
        ? { type: "api_error", message: "Internal server error" }
        : { type: "invalid_request_error", message: "Invalid request." };
  }
}

async function sendError(res: ServerResponse, ctx: ReplyContext, script: ErrorScript): Promise<void> {
  const error = { ...defaultError(script.status), ...script.error };
  const headers = anthropicHeaders(ctx, "application/json");
  const retryAfter =
    script.retryAfterSeconds === undefined
      ? script.status === 429 || script.status === 529
        ? 1
        : undefined
      : script.retryAfterSeconds;
  if (retryAfter !== undefined && retryAfter !== null) headers["retry-after"] = String(retryAfter);
  if (script.exhausted !== undefined) {
    headers[`anthropic-ratelimit-${script.exhausted.limit}-remaining`] = "0";
    headers[`anthropic-ratelimit-${script.exhausted.limit}-reset`] = script.exhausted.resetAt
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }
  const body = JSON.stringify({ type: "error", error, request_id: requestId(ctx) });
  await deliver(res, script, script.status, { ...headers, ...script.headers }, [body], "end");
}

async function sendReply(res: ServerResponse, ctx: ReplyContext, script: ReplyScript): Promise<void> {
  const request = ctx.request.body as {
    model?: unknown;
    stream?: unknown;
    messages?: unknown;
    system?: unknown;
  };
  const stream = script.stream ?? request.stream === true;
  const model = script.model ?? (typeof request.model === "string" ? request.model : "claude-fake-0");
  const texts = typeof script.content === "string" ? splitWords(script.content) : (script.content ?? []);
  const toolUses = (script.toolUses ?? []).map((use, i) => ({
    id: use.id ?? `toolu_01Fake${ctx.sequence}x${i}`,
    name: use.name,
    pieces: Array.isArray(use.input) ? use.input : chop(JSON.stringify(use.input), 6),
  }));
  const stopReason =
    script.stopReason === undefined ? (toolUses.length > 0 ? "tool_use" : "end_turn") : script.stopReason;
  const outputTokens = texts.length + toolUses.reduce((n, use) => n + use.pieces.length + 1, 0);
  const usage: Required<FakeUsage> = {
    input_tokens: estimateInputTokens(request.messages, request.system),
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    ...script.usage,
  };
  const id = `msg_01Fake${ctx.sequence.toString().padStart(18, "0")}`;
  const stopSequence = stopReason === "stop_sequence" ? (script.stopSequence ?? null) : null;

  if (!stream) {
    const content: Record<string, unknown>[] = [];
    if (texts.length > 0) content.push({ type: "text", text: texts.join("") });
    for (const use of toolUses)
      content.push({
        type: "tool_use",
        id: use.id,
        name: use.name,
        input: JSON.parse(use.pieces.join("") || "{}"),
      });
    const message = {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      usage: { ...usage, service_tier: "standard" },
    };
    const headers = { ...anthropicHeaders(ctx, "application/json"), ...script.headers };
    await deliver(res, script, 200, headers, [JSON.stringify(message)], "end");
    return;
  }

  const frames: { text: string; token: boolean }[] = [];
  const event = (type: string, data: Record<string, unknown>, token = false): void => {
    frames.push({ text: `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`, token });
  };
  event("message_start", {
    message: {
      id,
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens: 1,
        service_tier: "standard",
      },
    },
  });
  let index = 0;
  const ping = (): void => {
    if (index === 0) event("ping", {});
  };
  if (texts.length > 0 || toolUses.length === 0) {
    event("content_block_start", { index, content_block: { type: "text", text: "" } });
    ping();
    for (const text of texts)
      event("content_block_delta", { index, delta: { type: "text_delta", text } }, true);
    event("content_block_stop", { index });
    index += 1;
  }
  for (const use of toolUses) {
    event("content_block_start", {
      index,
      content_block: { type: "tool_use", id: use.id, name: use.name, input: {} },
    });
    ping();
    // The API opens each tool input with an empty fragment.
    event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } });
    for (const piece of use.pieces)
      event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: piece } }, true);
    event("content_block_stop", { index });
    index += 1;
  }
  event("message_delta", {
    delta:
      stopReason === null
        ? { stop_sequence: null }
        : { stop_reason: stopReason, stop_sequence: stopSequence },
    usage: { output_tokens: usage.output_tokens },
  });
  if (!script.omitStop) event("message_stop", {});

  let end: "end" | "hang" | "drop" = "end";
  let out = frames.map((f) => f.text);
  const cut = script.hangAfterTokens ?? script.dropAfterTokens ?? script.errorAfterTokens?.tokens;
  if (cut !== undefined) {
    out = frames.slice(0, cutAfterTokens(frames, cut)).map((f) => f.text);
    if (script.hangAfterTokens !== undefined) end = "hang";
    else if (script.dropAfterTokens !== undefined) end = "drop";
    else {
      const error = { type: "overloaded_error", message: "Overloaded", ...script.errorAfterTokens?.error };
      out.push(`event: error\ndata: ${JSON.stringify({ type: "error", error })}\n\n`);
    }
  }
  const headers = {
    ...anthropicHeaders(ctx, "text/event-stream; charset=utf-8"),
    "cache-control": "no-cache",
    ...script.headers,
  };
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

/** Deterministic stand-in for a tokenizer: about four characters a token, at least one. */
function estimateInputTokens(messages: unknown, system: unknown): number {
  let chars = typeof system === "string" ? system.length : 0;
  if (Array.isArray(messages))
    for (const message of messages) {
      const content = (message as { content?: unknown } | null)?.content;
      if (typeof content === "string") chars += content.length;
      else if (Array.isArray(content))
        for (const block of content) {
          const text = (block as { text?: unknown; content?: unknown } | null)?.text;
          if (typeof text === "string") chars += text.length;
        }
    }
  return Math.max(1, Math.ceil(chars / 4));
}

function splitWords(text: string): string[] {
  return text.match(/\s*\S+|\s+/gu) ?? [];
}

function chop(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}
