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
import { completionToParts, decodeOpenAiStream, fromOpenAiResponse } from "./from-openai-response.js";
import { classifyHttpError } from "./openai-errors.js";
import { type OpenAiAdapterSettings, openAiSettingsSchema } from "./openai-settings.js";
import { toOpenAiRequest } from "./to-openai-request.js";

/** Largest JSON answer (to a stream request) we buffer. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** How much of an error body we keep for `cause`; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Adapter for the OpenAI chat-completions wire protocol (`kind: openai-compatible`): OpenAI itself,
 * Azure-style gateways, vLLM, Ollama's /v1, OpenRouter, Mistral.
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
  const url = endpointUrl(settings.baseUrl, "chat/completions");
  const http = createHttpClient(settings, {
    // https://platform.openai.com/docs/api-reference/authentication
    headers:
      settings.apiKey === undefined || settings.apiKey === ""
        ? {}
        : { authorization: `Bearer ${settings.apiKey}` },
  });

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    const body = toOpenAiRequest(call, {
      maxTokensField: settings.maxTokensField,
      ...(settings.assistantPrefix && { assistantPrefix: settings.assistantPrefix }),
    });
    const response = await http.postJson(url, body, { signal, accept: "text/event-stream" });
    let answered = false;
    try {
      if (!isSuccessStatus(response.statusCode)) throw await httpFailure(response);
      if (mediaType(response.headers) === "application/json") {
        yield* completionToParts(await jsonInsteadOfStream(response));
        return;
      }
      // destroyOnReturn: false leaves what happens to the body to disposeBody, not to the
      // iterator being returned early.
      for await (const part of decodeOpenAiStream(response.body.iterator({ destroyOnReturn: false }))) {
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

/**
 * A JSON body where an event stream was asked for: either an error envelope (OpenRouter answers
 * 200 with one; fromOpenAiResponse throws it classified) or a server that ignored `stream: true`.
 */
async function jsonInsteadOfStream(response: HttpResponse): Promise<Completion> {
  const read = await readText(response.body, MAX_JSON_BODY_BYTES);
  if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
  return fromOpenAiResponse(parseJson(read.text, "upstream answer is neither an event stream nor JSON"));
}

/**
 * `kind: openai-compatible`: OpenAI and every server speaking its chat-completions dialect (vLLM,
 * Ollama's /v1, OpenRouter, Mistral, Azure-style gateways) are configurations of this one kind.
 */
export const openAiCompatibleKind = defineProviderKind({
  kind: "openai-compatible",
  settingsSchema: openAiSettingsSchema,
  credentialKeys: ["api_key"],
  continuesAnswers: (settings) => settings.openai.assistant_prefix !== "none",
  createAdapter: (provider, settings) =>
    createOpenAiAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      maxTokensField: settings.openai.max_tokens_field,
      assistantPrefix: settings.openai.assistant_prefix,
    }),
});
