import { createHttpClient, endpointUrl, type HttpResponse } from "../http/http-client.js";
import { classifyTransportError } from "../http/http-errors.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { disposeBody, isSuccessStatus, mediaType, parseJson, readText } from "../http/response-body.js";
import { type ProviderError, protocolError } from "../provider-error.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { createOllamaChunkMapper, decodeOllamaStream } from "./from-ollama-response.js";
import { classifyOllamaHttpError } from "./ollama-errors.js";
import { type OllamaAdapterSettings, ollamaSettingsSchema } from "./ollama-settings.js";
import { toOllamaRequest } from "./to-ollama-request.js";

/** Largest JSON answer (to a stream request) we buffer. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** How much of an error body we keep for `cause`; the rest is discarded. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Adapter for Ollama's native chat API (`kind: ollama`): POST {base_url}/api/chat, streamed as
 * NDJSON. https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 *
 * Connections come from the provider's keep-alive pool (http/keep-alive-pool.ts): at most
 * `settings.maxConnections` sockets, each given `settings.connectTimeoutMs` to connect.
 *
 * Every call streams (`stream: true`); a server that answers with one JSON object instead (what
 * `stream: false` gives) is mapped the same way, and a `{"error":…}` body in a 200 fails the call
 * with its class. The stream throws `ProviderError` (see ollama-errors.ts and http/http-errors.ts
 * for the classes). Aborting `call.signal` destroys the upstream request, so the server sees its
 * connection close and stops generating; the call then fails with the class implied by the signal's
 * reason (a ProviderError reason is rethrown as is, otherwise "cancelled", or "timeout" for a
 * TimeoutError). Stopping iteration early closes the connection too, unless the answer was complete
 * (then its last bytes are drained and the socket reused).
 *
 * @param options.newToolCallId For tests: makes the ids of tool calls Ollama sent without one.
 * @throws Error at construction when `settings.baseUrl` is missing (a policy error, not a call failure).
 */
export function createOllamaAdapter(
  settings: OllamaAdapterSettings,
  options: { newToolCallId?: () => string } = {},
): ProviderAdapter {
  if (settings.baseUrl === undefined || settings.baseUrl === "") {
    throw new Error(`provider "${settings.name}": kind ollama needs a baseUrl`);
  }
  const url = endpointUrl(settings.baseUrl, "api/chat");
  const http = createHttpClient(settings, {
    // Only ollama.com asks for a key: https://github.com/ollama/ollama/blob/main/docs/api/authentication.mdx
    headers:
      settings.apiKey === undefined || settings.apiKey === ""
        ? {}
        : { authorization: `Bearer ${settings.apiKey}` },
  });
  const mapping = options.newToolCallId === undefined ? {} : { newToolCallId: options.newToolCallId };

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    const body = toOllamaRequest(call, {
      ...(settings.numCtx !== undefined && { numCtx: settings.numCtx }),
      ...(settings.keepAlive !== undefined && { keepAlive: settings.keepAlive }),
    });
    const response = await http.postJson(url, body, { signal, accept: "application/x-ndjson" });
    let answered = false;
    try {
      if (!isSuccessStatus(response.statusCode)) throw await httpFailure(response);
      if (mediaType(response.headers) === "application/json") {
        const parts = createOllamaChunkMapper(mapping).push(await jsonInsteadOfStream(response));
        if (parts.at(-1)?.type !== "response-end") throw protocolError("upstream answer is not final");
        yield* parts;
        return;
      }
      // destroyOnReturn: false leaves what happens to the body to disposeBody, not to the
      // iterator being returned early.
      for await (const part of decodeOllamaStream(
        response.body.iterator({ destroyOnReturn: false }),
        mapping,
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
  return classifyOllamaHttpError(response.statusCode, response.headers, text);
}

/** A JSON body where NDJSON was asked for: a whole answer, or an error (both one JSON object). */
async function jsonInsteadOfStream(response: HttpResponse): Promise<unknown> {
  const read = await readText(response.body, MAX_JSON_BODY_BYTES);
  if (read.truncated) throw protocolError("upstream answer exceeds the size limit");
  return parseJson(read.text, "upstream answer is neither NDJSON nor JSON");
}

/** `kind: ollama`: a local or remote Ollama server (or ollama.com) through its native /api/chat. */
export const ollamaKind = defineProviderKind({
  kind: "ollama",
  settingsSchema: ollamaSettingsSchema,
  credentialKeys: ["api_key"],
  createAdapter: (provider, settings) =>
    createOllamaAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      ...(settings.ollama.num_ctx !== undefined && { numCtx: settings.ollama.num_ctx }),
      ...(settings.ollama.keep_alive !== undefined && { keepAlive: settings.ollama.keep_alive }),
    }),
});
