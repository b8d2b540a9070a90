import { completionToParts } from "../completion.js";
import { createHttpClient, endpointUrl } from "../http/http-client.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { streamingAnswer } from "../http/streaming-answer.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
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
    yield* streamingAnswer(response, signal, {
      streamName: "an event stream",
      classifyHttpError,
      fromJson: (json) => completionToParts(fromAnthropicMessage(json, answer)),
      decode: (bytes) => decodeAnthropicStream(bytes, answer),
    });
  }

  return { stream, close: () => http.close() };
}

/** `kind: anthropic`: Anthropic's Messages API, and gateways that speak it. */
export const anthropicKind = defineProviderKind({
  kind: "anthropic",
  genAiProviderName: "anthropic",
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
