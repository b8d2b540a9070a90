import { completionToParts } from "../completion.js";
import { createHttpClient, endpointUrl, type HttpResponse } from "../http/http-client.js";
import { classifyTransportError } from "../http/http-errors.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { disposeBody, isSuccessStatus, mediaType, parseJson, readText } from "../http/response-body.js";
import { type ProviderError, protocolError } from "../provider-error.js";
import {
  type Completion,
  defineProviderKind,
  type ProviderAdapter,
  type ProviderCall,
  type StreamPart,
} from "../types.js";
import { classifyHttpError } from "./anthropic-errors.js";
import {
  type AnthropicAdapterSettings,
  anthropicSettingsSchema,
  DEFAULT_ANTHROPIC_VERSION,
} from "./anthropic-settings.js";
import {
  type AnswerOptions,
  decodeAnthropicStream,
  fromAnthropicMessage,
} from "./from-anthropic-response.js";
import { ANTHROPIC_PRICES } from "./prices.js";
import { toAnthropicRequest } from "./to-anthropic-request.js";

/** Largest JSON answer (to a stream request) we buffer. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** How much of an error body we keep for `cause`; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Adapter for Anthropic's Messages API (`kind: anthropic`): POST `<base_url>/v1/messages` with
 * `x-api-key` and `anthropic-version`, streaming server-sent events.
 * https://docs.anthropic.com/en/api/messages
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 *
 * Connections come from the provider's keep-alive pool (http/keep-alive-pool.ts). Every call
 * streams; a proxy that answers with a whole JSON Message instead is replayed as stream parts, and
 * an error body in a 200 fails the call with its class. The stream throws `ProviderError` (see
 * anthropic-errors.ts and http/http-errors.ts for the classes), an `error` event mid-stream
 * included. Aborting `call.signal` destroys the upstream request, so the server sees its connection
 * close and stops generating; the call then fails with the class implied by the signal's reason.
 * Stopping iteration early closes the connection too, unless the answer was complete (then its
 * last bytes are drained and the socket reused).
 */
export function createAnthropicAdapter(settings: AnthropicAdapterSettings): ProviderAdapter {
  const url = endpointUrl(settings.baseUrl, "v1/messages");
  const http = createHttpClient(settings, {
    // https://docs.anthropic.com/en/api/overview#authentication
    headers: {
      "anthropic-version": settings.version ?? DEFAULT_ANTHROPIC_VERSION,
      ...(settings.apiKey !== undefined && settings.apiKey !== "" && { "x-api-key": settings.apiKey }),
    },
  });

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    const { body, jsonToolName } = toAnthropicRequest(call, {
      ...(settings.maxTokensDefault !== undefined && { maxTokensDefault: settings.maxTokensDefault }),
      ...(settings.jsonMode !== undefined && { jsonMode: settings.jsonMode }),
    });
    const answer: AnswerOptions = jsonToolName === undefined ? {} : { jsonToolName };
    const response = await http.postJson(url, body, { signal, accept: "text/event-stream" });
    let answered = false;
    try {
      if (!isSuccessStatus(response.statusCode)) throw await httpFailure(response);
      if (mediaType(response.headers) === "application/json") {
        yield* completionToParts(await jsonInsteadOfStream(response, answer));
        return;
      }
      // destroyOnReturn: false leaves what happens to the body to disposeBody, not to the
      // iterator being returned early.
      for await (const part of decodeAnthropicStream(
        response.body.iterator({ destroyOnReturn: false }),
        answer,
      )) {
        if (part.type === "response-end") answered = true;
        yield part;
      }
    } catch (err) {
      throw classifyTransportError(err, "body", signal);
    } finally {
      disposeBody(response.body, { answered, signal });
    }
  }

  return { stream, close: () => http.close() };
}

async function httpFailure(response: HttpResponse): Promise<ProviderError> {
  const { text } = await readText(response.body, MAX_ERROR_BODY_BYTES);
  return classifyHttpError(response.statusCode, response.headers, text);
}

async function jsonInsteadOfStream(response: HttpResponse, answer: AnswerOptions): Promise<Completion> {
  const read = await readText(response.body, MAX_JSON_BODY_BYTES);
  if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
  return fromAnthropicMessage(
    parseJson(read.text, "upstream answer is neither an event stream nor JSON"),
    answer,
  );
}

/** `kind: anthropic`: Anthropic's Messages API, and gateways that speak it. */
export const anthropicKind = defineProviderKind({
  kind: "anthropic",
  takesImageUrls: true,
  prices: ANTHROPIC_PRICES,
  settingsSchema: anthropicSettingsSchema,
  credentialKeys: ["api_key"],
  createAdapter: (provider, settings) =>
    createAnthropicAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      version: settings.anthropic.version,
      maxTokensDefault: settings.anthropic.max_tokens_default,
      jsonMode: settings.anthropic.json_mode,
    }),
});
