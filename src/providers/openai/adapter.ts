import { Agent, type Dispatcher, request } from "undici";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { abortError, ProviderError } from "../provider-error.js";
import {
  type Completion,
  defineProviderKind,
  type ProviderAdapter,
  type ProviderCall,
  type StreamPart,
} from "../types.js";
import { completionToParts, decodeOpenAiStream, fromOpenAiResponse } from "./from-openai-response.js";
import {
  classifyErrorPayload,
  classifyHttpError,
  classifyTransportError,
  protocolError,
  upstreamErrorInfo,
} from "./openai-errors.js";
import { type OpenAiAdapterSettings, openAiSettingsSchema } from "./openai-settings.js";
import { toOpenAiRequest } from "./to-openai-request.js";

/** Largest unary answer we buffer. */
const MAX_UNARY_BODY_BYTES = 32 * 1024 * 1024;
/** How much of an error body we keep for `cause`; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * The pipeline's budgets, delivered through `call.signal`, are the real clocks. These only bound a
 * call nobody is watching, and must not cut off a long reasoning-model answer.
 */
const IDLE_LIMIT_MS = 10 * 60 * 1000;

type ResponseData = Dispatcher.ResponseData;

/**
 * Adapter for the OpenAI chat-completions wire protocol (`kind: openai-compatible`): OpenAI itself,
 * Azure-style gateways, vLLM, Ollama's /v1, OpenRouter, Mistral.
 * https://platform.openai.com/docs/api-reference/chat/create
 *
 * One undici Agent per adapter is the keep-alive pool: at most `settings.maxConnections` sockets,
 * each given `settings.connectTimeoutMs` to connect.
 *
 * Every method throws `ProviderError` (see openai-errors.ts for the classes). Aborting
 * `call.signal` destroys the upstream request, so the server sees its connection close and stops
 * generating; the call then fails with the class implied by the signal's reason (a ProviderError
 * reason is rethrown as is, otherwise "cancelled", or "timeout" for a TimeoutError).
 *
 * @throws Error at construction when `settings.baseUrl` is missing (a policy error, not a call failure).
 */
export function createOpenAiAdapter(settings: OpenAiAdapterSettings): ProviderAdapter {
  if (settings.baseUrl === undefined || settings.baseUrl === "") {
    throw new Error(`provider "${settings.name}": kind openai-compatible needs a baseUrl`);
  }
  const url = `${settings.baseUrl.replace(/\/+$/, "")}/chat/completions`;
  const agent = new Agent({
    connections: settings.maxConnections,
    connect: { timeout: settings.connectTimeoutMs },
    headersTimeout: IDLE_LIMIT_MS,
    bodyTimeout: IDLE_LIMIT_MS,
  });
  const closing = new AbortController();
  let closed: Promise<void> | undefined;

  const baseHeaders: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "switchyard",
  };
  for (const [name, value] of Object.entries(settings.headers)) baseHeaders[name.toLowerCase()] = value;
  if (settings.apiKey !== undefined && settings.apiKey !== "") {
    baseHeaders.authorization = `Bearer ${settings.apiKey}`;
  }

  function callSignal(call: ProviderCall): AbortSignal {
    return AbortSignal.any([call.signal, closing.signal]);
  }

  async function send(call: ProviderCall, stream: boolean, signal: AbortSignal): Promise<ResponseData> {
    if (signal.aborted) throw abortError(signal);
    const body = JSON.stringify(toOpenAiRequest(call, { stream, maxTokensField: settings.maxTokensField }));
    try {
      return await request(url, {
        dispatcher: agent,
        method: "POST",
        headers: { ...baseHeaders, accept: stream ? "text/event-stream" : "application/json" },
        body,
        signal,
      });
    } catch (err) {
      throw classifyTransportError(err, "request", signal);
    }
  }

  async function complete(call: ProviderCall): Promise<Completion> {
    const signal = callSignal(call);
    const response = await send(call, false, signal);
    let text: string;
    try {
      if (!isSuccess(response.statusCode)) throw await httpFailure(response);
      const read = await readText(response.body, MAX_UNARY_BODY_BYTES);
      if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
      text = read.text;
    } catch (err) {
      throw classifyTransportError(err, "body", signal);
    } finally {
      if (!response.body.readableEnded) response.body.destroy();
    }
    return fromOpenAiResponse(parseJson(text, "upstream answer is not JSON"));
  }

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = callSignal(call);
    const response = await send(call, true, signal);
    let answered = false;
    try {
      if (!isSuccess(response.statusCode)) throw await httpFailure(response);
      if (contentType(response).includes("application/json")) {
        yield* completionToParts(await jsonInsteadOfStream(response));
        return;
      }
      // destroyOnReturn: false leaves what happens to the body to the finally below, not to the
      // iterator being returned early.
      for await (const part of decodeOpenAiStream(response.body.iterator({ destroyOnReturn: false }))) {
        if (part.type === "response-end") answered = true;
        yield part;
      }
    } catch (err) {
      throw classifyTransportError(err, "body", signal);
    } finally {
      if (!response.body.readableEnded) {
        // The consumer may stop at the end marker while the body's last bytes are still on the
        // way: let them arrive (for a reusable socket), bounded. Any other early stop (consumer
        // quit, error, abort) must close the connection so the upstream stops generating.
        if (answered && !signal.aborted) releaseAfterDrain(response.body);
        else response.body.destroy();
      }
    }
  }

  return {
    complete,
    stream,
    close() {
      closed ??= (async () => {
        closing.abort(new ProviderError("cancelled", "provider adapter closed"));
        await agent.destroy();
      })();
      return closed;
    },
  };
}

/** How long a finished stream's connection may take to deliver its last bytes before it is cut. */
const DRAIN_GRACE_MS = 1000;

function releaseAfterDrain(body: ResponseData["body"]): void {
  const cut = setTimeout(() => body.destroy(), DRAIN_GRACE_MS);
  cut.unref();
  body.once("close", () => clearTimeout(cut));
  body.on("error", () => {});
  body.resume();
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function contentType(response: ResponseData): string {
  const value = response.headers["content-type"];
  return (Array.isArray(value) ? value[0] : value)?.toLowerCase() ?? "";
}

async function httpFailure(response: ResponseData): Promise<ProviderError> {
  const { text } = await readText(response.body, MAX_ERROR_BODY_BYTES);
  return classifyHttpError(response.statusCode, response.headers, text);
}

/**
 * A JSON body where an event stream was asked for: either an error envelope (OpenRouter answers
 * 200 with one) or a server that ignored `stream: true`.
 */
async function jsonInsteadOfStream(response: ResponseData): Promise<Completion> {
  const read = await readText(response.body, MAX_UNARY_BODY_BYTES);
  if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
  const body = parseJson(read.text, "upstream answer is neither an event stream nor JSON");
  if (upstreamErrorInfo(body) !== undefined) throw classifyErrorPayload(body);
  return fromOpenAiResponse(body);
}

function parseJson(text: string, message: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw protocolError(message, { body: text, cause });
  }
}

/** Reads at most `limit` bytes; a longer body is cut off and destroyed rather than buffered. */
async function readText(
  body: ResponseData["body"],
  limit: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = limit - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      body.destroy();
      return { text: Buffer.concat(chunks).toString("utf8"), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { text: Buffer.concat(chunks).toString("utf8"), truncated: false };
}

/**
 * `kind: openai-compatible`: OpenAI and every server speaking its chat-completions dialect (vLLM,
 * Ollama's /v1, OpenRouter, Mistral, Azure-style gateways) are configurations of this one kind.
 */
export const openAiCompatibleKind = defineProviderKind({
  kind: "openai-compatible",
  settingsSchema: openAiSettingsSchema,
  credentialKeys: ["api_key"],
  createAdapter: (provider, settings) =>
    createOpenAiAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      maxTokensField: settings.openai.max_tokens_field,
    }),
});
