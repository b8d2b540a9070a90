/**
 * A fake AWS Bedrock Runtime on a real socket (127.0.0.1, random port), speaking the Converse
 * wire the way bedrock-runtime.<region>.amazonaws.com does:
 *
 * - `POST /model/{modelId}/converse-stream`: `200` with `content-type:
 *   application/vnd.amazon.eventstream`, a chunked body of binary event-stream messages (prelude
 *   with total and headers lengths, prelude CRC32, string headers `:event-type`, `:content-type`,
 *   `:message-type`, a JSON payload padded with Bedrock's `p` field, message CRC32), in the order
 *   messageStart, contentBlockStart (tool uses), contentBlockDelta…, contentBlockStop,
 *   messageStop, metadata; exceptions inside the stream as `:message-type: exception` messages
 *   with `:exception-type` (throttlingException, modelStreamErrorException…).
 * - `POST /model/{modelId}/converse`: the whole answer as JSON.
 * - Errors: `{"message": …}` bodies with `x-amzn-errortype: <Type>:http://internal.amazon.com/coral/com.amazon.bedrock/`
 *   and `x-amzn-requestid`, at the status the reference gives each type.
 * - SigV4: every request's `authorization` header is checked, and its signature recomputed here
 *   (independently of @smithy/signature-v4, from the algorithm as AWS documents it) with the
 *   fake's credentials; a bad one is answered 403 as AWS does.
 *
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 * https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html
 *
 * Usage mirrors fake-openai-server.ts: `fake.script(...)`, `fake.requests[i]` (with
 * `signature: "valid" | …`), `socketClosed`, `closedBeforeResponseEnd`.
 */
import { createHash, createHmac, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { EventStreamCodec, type MessageHeaders } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { type Delivery, deliver } from "./delivery.js";
import { type RecordedRequest as BaseRecordedRequest, startRecordingServer } from "./recording-server.js";

/** AWS's documented example credentials (never valid anywhere). */
export const TEST_CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
} as const;
export const TEST_REGION = "us-east-1";
export const DEFAULT_REPLY = "Hello from the fake Bedrock server.";
/** `/model/{modelId}/converse` and `/model/{modelId}/converse-stream`. */
const CONVERSE_PATH = /^\/model\/([^/?]+)\/(converse|converse-stream)$/;

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/";

export interface FakeBedrockUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export interface FakeToolUse {
  /** Default `tooluse_<n>`. */
  toolUseId?: string;
  name: string;
  /** The input's JSON text, whole (streamed in 6-character pieces) or in the pieces to stream. */
  input: string | string[];
}

export type { Delivery } from "./delivery.js";

/** An in-stream exception. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html */
export interface FakeStreamException {
  /** The union member, e.g. "throttlingException", "modelStreamErrorException". */
  type: string;
  message?: string;
}

export interface ReplyScript extends Delivery {
  type: "reply";
  /** Text, or the exact deltas to stream it in; a string is split into words. */
  content?: string | string[];
  toolUses?: FakeToolUse[];
  /** Default "tool_use" with tool uses, else "end_turn". */
  stopReason?: string;
  /** Default derived from the request. null: no usage in metadata (and none in a JSON answer). */
  usage?: FakeBedrockUsage | null;
  /** Force a stream (true) or a JSON body (false); default follows the path. */
  stream?: boolean;
  tokenDelayMs?: number;
  /** Stream only: end the body cleanly without messageStop (and metadata). */
  omitMessageStop?: boolean;
  /** Stream only: no metadata event after messageStop. */
  omitMetadata?: boolean;
  /** Stream only: after this many token messages, keep the response open until the client leaves. */
  hangAfterTokens?: number;
  /** Stream only: after this many token messages, destroy the socket. */
  dropAfterTokens?: number;
  /** Stream only: after `tokens` token messages, send this exception and end. */
  exceptionAfterTokens?: { tokens: number } & FakeStreamException;
}

/** An AWS error response before any stream: status, `x-amzn-errortype`, `{"message"}`. */
export interface ErrorScript extends Delivery {
  type: "error";
  status: number;
  /** Default per status (see defaultErrorType). */
  errorType?: string;
  message?: string;
}

/** Exact bytes. */
export interface RawScript extends Delivery {
  type: "raw";
  status?: number;
  /** Default "application/vnd.amazon.eventstream". */
  contentType?: string;
  body: string | Uint8Array;
  end?: "end" | "hang" | "drop";
}

export interface HandlerScript {
  type: "handler";
  handle(request: RecordedRequest, res: ServerResponse): void | Promise<void>;
}

export type ScriptedResponse = ReplyScript | ErrorScript | RawScript | HandlerScript;

/** What the fake made of a request's SigV4 signature. */
export type SignatureVerdict =
  | "valid"
  | "missing"
  | "malformed"
  | "unknown-key"
  | "wrong-scope"
  | "wrong-payload-hash"
  | "wrong-session-token"
  | "mismatch";

/** A request as the fake saw it (see recording-server.ts), with its model and signature check. */
export interface RecordedRequest extends BaseRecordedRequest {
  /** The model id, decoded from the path. */
  modelId?: string;
  signature: SignatureVerdict;
}

export interface FakeBedrockOptions {
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  /** Answer even when the signature is wrong (to look at what was sent). Default false. */
  acceptBadSignatures?: boolean;
  fallback?: (request: RecordedRequest) => ScriptedResponse;
}

export interface FakeBedrock {
  /** The endpoint, e.g. "http://127.0.0.1:41234" (what `base_url` takes). */
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  readonly connectionCount: number;
  readonly pendingScripts: number;
  script(...responses: ScriptedResponse[]): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeBedrock(options: FakeBedrockOptions = {}): Promise<FakeBedrock> {
  const credentials = options.credentials ?? TEST_CREDENTIALS;
  const region = options.region ?? TEST_REGION;
  const queue: ScriptedResponse[] = [];
  const fallback =
    options.fallback ?? (() => ({ type: "reply", content: DEFAULT_REPLY }) as ScriptedResponse);
  let sequence = 0;

  const recording = await startRecordingServer<RecordedRequest>({
    name: "fake Bedrock",
    extra: (req, raw) => {
      const path = req.url ?? "";
      const match = CONVERSE_PATH.exec(path.split("?")[0] ?? "");
      return {
        ...(match?.[1] !== undefined && { modelId: safeDecode(match[1]) }),
        signature: verifySignature(req.method ?? "", path, req.headers, raw, credentials, region),
      };
    },
    respond: (recorded, req, res) => handle(recorded, req, res),
  });
  const { requests } = recording;

  async function handle(recorded: RecordedRequest, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = recorded.body;
    const match = CONVERSE_PATH.exec(recorded.path.split("?")[0] ?? "");
    sequence += 1;

    if (recorded.signature !== "valid" && !options.acceptBadSignatures) {
      const [errorType, message] = signatureError(recorded.signature);
      return sendError(res, { type: "error", status: 403, errorType, message });
    }
    if (req.method !== "POST" || match === null) {
      return sendError(res, {
        type: "error",
        status: 404,
        errorType: "UnknownOperationException",
        message: "",
      });
    }
    if (body === null || typeof body !== "object") {
      return sendError(res, {
        type: "error",
        status: 400,
        errorType: "SerializationException",
        message: "Unable to parse request body",
      });
    }
    const scripted = queue.shift() ?? fallback(recorded);
    switch (scripted.type) {
      case "reply":
        return sendReply(res, recorded, scripted, sequence, match[2] === "converse-stream");
      case "error":
        return sendError(res, scripted);
      case "raw":
        return deliver(
          res,
          scripted,
          scripted.status ?? 200,
          { "content-type": scripted.contentType ?? EVENT_STREAM, ...requestIdHeader(), ...scripted.headers },
          [typeof scripted.body === "string" ? Buffer.from(scripted.body) : scripted.body],
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

const EVENT_STREAM = "application/vnd.amazon.eventstream";

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function requestIdHeader(): Record<string, string> {
  return { "x-amzn-requestid": randomUUID() };
}

// ---------------------------------------------------------------------------------------------
// SigV4, recomputed from the documented algorithm.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

/** RFC 3986 unreserved characters stay; every other byte is %XX (upper-case hex), as SigV4 encodes. */
export function sigV4Encode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The SigV4 signature of a request as AWS computes it for services other than S3: the path as
 * sent, each segment URI-encoded once more; the query sorted; the signed headers lowercased,
 * trimmed, inner spaces collapsed, sorted; the payload's SHA-256.
 */
export function sigV4Signature(input: {
  method: string;
  path: string;
  headers: Record<string, string>;
  signedHeaders: string[];
  payload: Uint8Array | string;
  amzDate: string;
  region: string;
  service: string;
  secretAccessKey: string;
}): string {
  const [rawPath = "/", rawQuery = ""] = input.path.split("?");
  const canonicalUri = rawPath
    .split("/")
    .map((segment) => sigV4Encode(segment))
    .join("/");
  const canonicalQuery = rawQuery
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const [key = "", value = ""] = pair.split("=");
      return [sigV4Encode(safeDecode(key)), sigV4Encode(safeDecode(value))] as const;
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
  const names = [...input.signedHeaders].sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${(input.headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payloadHash = createHash("sha256").update(input.payload).digest("hex");
  const canonicalRequest = [
    input.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    names.join(";"),
    payloadHash,
  ].join("\n");
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    input.amzDate,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  const hmac = (key: string | Buffer, data: string): Buffer =>
    createHmac("sha256", key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, date), input.region), input.service),
    "aws4_request",
  );
  return createHmac("sha256", signingKey).update(stringToSign).digest("hex");
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

function verifySignature(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  payload: Buffer,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
): SignatureVerdict {
  const authorization = headers.authorization;
  if (authorization === undefined) return "missing";
  const match = AUTHORIZATION.exec(authorization);
  const amzDate = headers["x-amz-date"];
  if (match === null || typeof amzDate !== "string" || !/^\d{8}T\d{6}Z$/.test(amzDate)) return "malformed";
  const [, keyId, date, scopeRegion, service, signedList = "", signature] = match;
  if (keyId !== credentials.accessKeyId) return "unknown-key";
  if (date !== amzDate.slice(0, 8) || scopeRegion !== region || service !== "bedrock") return "wrong-scope";
  const signedHeaders = signedList.split(";");
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")) return "malformed";
  const contentSha = headers["x-amz-content-sha256"];
  if (contentSha !== undefined && contentSha !== createHash("sha256").update(payload).digest("hex"))
    return "wrong-payload-hash";
  if (credentials.sessionToken !== undefined) {
    if (
      headers["x-amz-security-token"] !== credentials.sessionToken ||
      !signedHeaders.includes("x-amz-security-token")
    )
      return "wrong-session-token";
  }
  const flat: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headers[name];
    flat[name] = Array.isArray(value) ? value.join(",") : (value ?? "");
  }
  const expected = sigV4Signature({
    method,
    path,
    headers: flat,
    signedHeaders,
    payload,
    amzDate,
    region,
    service: "bedrock",
    secretAccessKey: credentials.secretAccessKey,
  });
  return expected === signature ? "valid" : "mismatch";
}

/** What AWS answers for each signature problem (the front end's 403s). */
function signatureError(verdict: SignatureVerdict): [string, string] {
  switch (verdict) {
    case "missing":
      return ["MissingAuthenticationTokenException", "Missing Authentication Token"];
    case "unknown-key":
      return ["UnrecognizedClientException", "The security token included in the request is invalid."];
    case "malformed":
      return ["IncompleteSignatureException", "Authorization header requires 'Credential' parameter."];
    default:
      return [
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      ];
  }
}

// ---------------------------------------------------------------------------------------------
// Responses.

/** The type and message each status gets by default. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors */
function defaultError(status: number): [string, string] {
  switch (status) {
    case 400:
      return ["ValidationException", "The provided model identifier is invalid."];
    case 403:
      return ["AccessDeniedException", "You don't have access to the model with the specified model ID."];
    case 404:
      return [
        "ResourceNotFoundException",
        "Could not resolve the foundation model from the provided model identifier.",
      ];
    case 408:
      return [
        "ModelTimeoutException",
        "Model has timed out in processing the request. Try your request again.",
      ];
    case 424:
      return ["ModelErrorException", "The model produced an error while processing the request."];
    case 429:
      return ["ThrottlingException", "Too many requests, please wait before trying again."];
    case 503:
      return ["ServiceUnavailableException", "Bedrock is unable to process your request."];
    default:
      return [
        "InternalServerException",
        "The server encountered an internal error while processing the request.",
      ];
  }
}

async function sendError(res: ServerResponse, script: ErrorScript): Promise<void> {
  const [defaultType, defaultMessage] = defaultError(script.status);
  const errorType = script.errorType ?? defaultType;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...requestIdHeader(),
    "x-amzn-errortype": `${errorType}:${ERROR_NAMESPACE}`,
    ...script.headers,
  };
  const body = JSON.stringify({ message: script.message ?? defaultMessage });
  await deliver(res, script, script.status, headers, [Buffer.from(body)], "end");
}

/** One event-stream message, encoded as Bedrock sends it (payload padded with `p`). */
export function encodeEvent(eventType: string, payload: Record<string, unknown>): Uint8Array {
  return codec.encode({
    headers: stringHeaders({
      ":event-type": eventType,
      ":content-type": "application/json",
      ":message-type": "event",
    }),
    body: fromUtf8(JSON.stringify({ ...payload, p: padding(eventType) })),
  });
}

/** An exception message inside a stream. */
export function encodeException(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: stringHeaders({
      ":exception-type": type,
      ":content-type": "application/json",
      ":message-type": "exception",
    }),
    body: fromUtf8(JSON.stringify({ message })),
  });
}

function stringHeaders(values: Record<string, string>): MessageHeaders {
  const headers: MessageHeaders = {};
  for (const [name, value] of Object.entries(values)) headers[name] = { type: "string", value };
  return headers;
}

/** Bedrock pads payloads with a field `p` of letters so lengths leak less; clients ignore it. */
function padding(seed: string): string {
  return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0".slice(0, 5 + (seed.length % 20));
}

async function sendReply(
  res: ServerResponse,
  request: RecordedRequest,
  script: ReplyScript,
  sequence: number,
  streamPath: boolean,
): Promise<void> {
  const stream = script.stream ?? streamPath;
  const tokens = typeof script.content === "string" ? splitWords(script.content) : (script.content ?? []);
  const toolUses = (script.toolUses ?? []).map((use, i) => ({
    toolUseId: use.toolUseId ?? `tooluse_${sequence}_${i}`,
    name: use.name,
    pieces: typeof use.input === "string" ? chop(use.input, 6) : use.input,
  }));
  const stopReason = script.stopReason ?? (toolUses.length > 0 ? "tool_use" : "end_turn");
  const outputTokens = tokens.length + toolUses.reduce((n, use) => n + use.pieces.length, 0);
  const usage =
    script.usage === null
      ? undefined
      : (script.usage ?? {
          inputTokens: estimateInputTokens(request.body),
          outputTokens: Math.max(1, outputTokens),
        });
  const fullUsage =
    usage === undefined
      ? undefined
      : {
          ...usage,
          totalTokens:
            usage.inputTokens +
            usage.outputTokens +
            (usage.cacheReadInputTokens ?? 0) +
            (usage.cacheWriteInputTokens ?? 0),
        };

  if (!stream) {
    const content: unknown[] = [];
    if (tokens.length > 0) content.push({ text: tokens.join("") });
    for (const use of toolUses)
      content.push({
        toolUse: { toolUseId: use.toolUseId, name: use.name, input: JSON.parse(use.pieces.join("") || "{}") },
      });
    const answer: Record<string, unknown> = {
      output: { message: { role: "assistant", content } },
      stopReason,
      metrics: { latencyMs: 123 },
    };
    if (fullUsage !== undefined) answer.usage = fullUsage;
    await deliver(
      res,
      script,
      200,
      { "content-type": "application/json", ...requestIdHeader(), ...script.headers },
      [Buffer.from(JSON.stringify(answer))],
      "end",
    );
    return;
  }

  const messages: { bytes: Uint8Array; token: boolean }[] = [];
  const push = (eventType: string, payload: Record<string, unknown>, token = false): void => {
    messages.push({ bytes: encodeEvent(eventType, payload), token });
  };
  push("messageStart", { role: "assistant" });
  let blockIndex = 0;
  if (tokens.length > 0) {
    for (const token of tokens)
      push("contentBlockDelta", { contentBlockIndex: blockIndex, delta: { text: token } }, true);
    push("contentBlockStop", { contentBlockIndex: blockIndex });
    blockIndex += 1;
  }
  for (const use of toolUses) {
    push("contentBlockStart", {
      contentBlockIndex: blockIndex,
      start: { toolUse: { toolUseId: use.toolUseId, name: use.name } },
    });
    for (const piece of use.pieces)
      push(
        "contentBlockDelta",
        { contentBlockIndex: blockIndex, delta: { toolUse: { input: piece } } },
        true,
      );
    push("contentBlockStop", { contentBlockIndex: blockIndex });
    blockIndex += 1;
  }
  if (!script.omitMessageStop) {
    push("messageStop", { stopReason });
    if (!script.omitMetadata)
      push("metadata", { ...(fullUsage !== undefined && { usage: fullUsage }), metrics: { latencyMs: 321 } });
  }

  let end: "end" | "hang" | "drop" = "end";
  let out = messages.map((m) => m.bytes);
  const cut = script.hangAfterTokens ?? script.dropAfterTokens ?? script.exceptionAfterTokens?.tokens;
  if (cut !== undefined) {
    out = messages.slice(0, cutAfterTokens(messages, cut)).map((m) => m.bytes);
    if (script.hangAfterTokens !== undefined) end = "hang";
    else if (script.dropAfterTokens !== undefined) end = "drop";
    else if (script.exceptionAfterTokens !== undefined)
      out.push(
        encodeException(
          script.exceptionAfterTokens.type,
          script.exceptionAfterTokens.message ??
            "The system encountered an unexpected error during processing. Try your request again.",
        ),
      );
  }
  await deliver(
    res,
    script,
    200,
    { "content-type": EVENT_STREAM, ...requestIdHeader(), ...script.headers },
    out,
    end,
    script.tokenDelayMs ?? 0,
  );
}

function cutAfterTokens(messages: { token: boolean }[], count: number): number {
  let seen = 0;
  let keep = messages.findIndex((m) => m.token);
  if (keep === -1) return Math.min(1, messages.length);
  for (const [i, m] of messages.entries()) {
    if (!m.token) continue;
    if (seen === count) break;
    seen += 1;
    keep = i + 1;
  }
  return keep;
}

/** About four characters a token over the text blocks and system prompt, at least one. */
function estimateInputTokens(body: unknown): number {
  const request = body as
    | { messages?: { content?: { text?: unknown }[] }[]; system?: { text?: unknown }[] }
    | undefined;
  let chars = 0;
  for (const block of request?.system ?? []) if (typeof block.text === "string") chars += block.text.length;
  for (const message of request?.messages ?? [])
    for (const block of message.content ?? []) if (typeof block.text === "string") chars += block.text.length;
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
