import { createHttpClient, endpointUrl } from "../http/http-client.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { streamingAnswer } from "../http/streaming-answer.js";
import { protocolError } from "../provider-error.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { createOllamaChunkMapper, decodeOllamaStream } from "./from-ollama-response.js";
import { classifyOllamaHttpError } from "./ollama-errors.js";
import { type OllamaAdapterSettings, ollamaSettingsSchema } from "./ollama-settings.js";
import { toOllamaRequest } from "./to-ollama-request.js";

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
    yield* streamingAnswer(response, signal, {
      streamName: "NDJSON",
      classifyHttpError: classifyOllamaHttpError,
      // A whole answer, or an error (both one JSON object, the stream's last line).
      fromJson: (json) => {
        const parts = createOllamaChunkMapper(mapping).push(json);
        if (parts.at(-1)?.type !== "response-end") throw protocolError("upstream answer is not final");
        return parts;
      },
      decode: (bytes) => decodeOllamaStream(bytes, mapping),
    });
  }

  return { stream, close: () => http.close() };
}

/** `kind: ollama`: a local or remote Ollama server (or ollama.com) through its native /api/chat. */
export const ollamaKind = defineProviderKind({
  kind: "ollama",
  genAiProviderName: "ollama",
  settingsSchema: ollamaSettingsSchema,
  credentialKeys: ["api_key"],
  createAdapter: (provider, settings) =>
    createOllamaAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      ...(settings.ollama.num_ctx !== undefined && { numCtx: settings.ollama.num_ctx }),
      ...(settings.ollama.keep_alive !== undefined && { keepAlive: settings.ollama.keep_alive }),
    }),
});
