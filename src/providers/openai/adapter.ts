import { completionToParts } from "../completion.js";
import { createHttpClient, endpointUrl } from "../http/http-client.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { streamingAnswer } from "../http/streaming-answer.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { decodeOpenAiStream, fromOpenAiResponse } from "./from-openai-response.js";
import { classifyHttpError } from "./openai-errors.js";
import { type OpenAiAdapterSettings, openAiSettingsSchema } from "./openai-settings.js";
import { OPENAI_PRICES } from "./prices.js";
import { toOpenAiRequest } from "./to-openai-request.js";

/**
 * Adapter for the OpenAI chat-completions wire protocol (`kind: openai-compatible`): OpenAI itself,
 * Azure OpenAI (`settings.azure`: deployment URLs, `api-key`), vLLM, Ollama's /v1, OpenRouter (its
 * `: OPENROUTER PROCESSING` comments and mid-stream error chunks), Mistral (`streamUsage: false`).
 * https://platform.openai.com/docs/api-reference/chat/create
 *
 * Connections come from the provider's keep-alive pool (http/keep-alive-pool.ts): at most
 * `settings.maxConnections` sockets, each given `settings.connectTimeoutMs` to connect.
 *
 * Every call streams (`stream: true`, usage asked for); a server that answers with a plain JSON
 * chat.completion instead is replayed as stream parts, and an error envelope in a 200 fails the
 * call with its class. The stream throws `ProviderError` (see openai-errors.ts and
 * http/http-errors.ts for the classes). Aborting `call.signal` destroys the upstream request, so
 * the server sees its connection close and stops generating; the call then fails with the class
 * implied by the signal's reason (a ProviderError reason is rethrown as is, otherwise
 * "cancelled", or "timeout" for a TimeoutError). Stopping iteration early closes the connection
 * too, unless the answer was complete (then its last bytes are drained and the socket reused).
 *
 * @throws Error at construction when `settings.baseUrl` is missing (a policy error, not a call failure).
 */
export function createOpenAiAdapter(settings: OpenAiAdapterSettings): ProviderAdapter {
  if (settings.baseUrl === undefined || settings.baseUrl === "") {
    throw new Error(`provider "${settings.name}": kind openai-compatible needs a baseUrl`);
  }
  const baseUrl = settings.baseUrl;
  const azure = settings.azure;
  const urlFor = (model: string): string => chatCompletionsUrl(baseUrl, model, azure);
  const http = createHttpClient(settings, { headers: authHeaders(settings.apiKey, azure !== undefined) });

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    const body = toOpenAiRequest(call, {
      maxTokensField: settings.maxTokensField,
      ...(settings.assistantPrefix && { assistantPrefix: settings.assistantPrefix }),
      ...(settings.streamUsage !== undefined && { streamUsage: settings.streamUsage }),
    });
    const response = await http.postJson(urlFor(call.model), body, { signal, accept: "text/event-stream" });
    yield* streamingAnswer(response, signal, {
      streamName: "an event stream",
      classifyHttpError,
      // An error envelope (OpenRouter answers 200 with one) is thrown by fromOpenAiResponse, classified.
      fromJson: (json) => completionToParts(fromOpenAiResponse(json)),
      decode: decodeOpenAiStream,
    });
  }

  return { stream, close: () => http.close() };
}

/**
 * Where a call goes. OpenAI and the compatible servers: `{base_url}/chat/completions`. Azure
 * OpenAI: the deployment named by the target's model,
 * `{base_url}/openai/deployments/{model}/chat/completions?api-version=…`, or with api-version "v1"
 * Azure's v1 API, `{base_url}/openai/v1/chat/completions`.
 * https://learn.microsoft.com/azure/ai-services/openai/reference#chat-completions
 * https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle
 */
export function chatCompletionsUrl(baseUrl: string, model: string, azure?: { apiVersion: string }): string {
  if (azure === undefined) return endpointUrl(baseUrl, "chat/completions");
  if (azure.apiVersion === "v1") return endpointUrl(baseUrl, "openai/v1/chat/completions");
  const path = `openai/deployments/${encodeURIComponent(model)}/chat/completions`;
  return `${endpointUrl(baseUrl, path)}?api-version=${encodeURIComponent(azure.apiVersion)}`;
}

/**
 * The key as OpenAI takes it (`Authorization: Bearer`), or as Azure OpenAI takes a resource key
 * (`api-key`); none when the provider has no key (a local vLLM).
 * https://platform.openai.com/docs/api-reference/authentication
 * https://learn.microsoft.com/azure/ai-services/openai/reference#authentication
 */
function authHeaders(apiKey: string | undefined, azure: boolean): Record<string, string> {
  if (apiKey === undefined || apiKey === "") return {};
  return azure ? { "api-key": apiKey } : { authorization: `Bearer ${apiKey}` };
}

/**
 * `kind: openai-compatible`: OpenAI and every server speaking its chat-completions dialect (vLLM,
 * Ollama's /v1, OpenRouter, Mistral, Azure-style gateways) are configurations of this one kind.
 */
export const openAiCompatibleKind = defineProviderKind({
  kind: "openai-compatible",
  genAiProviderName: "openai",
  takesImageUrls: true,
  prices: OPENAI_PRICES,
  settingsSchema: openAiSettingsSchema,
  credentialKeys: ["api_key"],
  continuesAnswers: (settings) => settings.openai.assistant_prefix !== "none",
  createAdapter: (provider, settings) =>
    createOpenAiAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      maxTokensField: settings.openai.max_tokens_field,
      assistantPrefix: settings.openai.assistant_prefix,
      streamUsage: settings.openai.stream_usage,
      ...(settings.openai.azure !== undefined && {
        azure: { apiVersion: settings.openai.azure.api_version },
      }),
    }),
});
