import { createHttpClient, endpointUrl } from "../http/http-client.js";
import { toHttpProviderSettings } from "../http/http-settings.js";
import { streamingAnswer } from "../http/streaming-answer.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { decodeGeminiStream, fromGeminiJson } from "./from-gemini-response.js";
import { classifyHttpError } from "./gemini-errors.js";
import { type GeminiAdapterSettings, geminiSettingsSchema } from "./gemini-settings.js";
import { GEMINI_PRICES } from "./prices.js";
import { toGeminiRequest } from "./to-gemini-request.js";

/**
 * Adapter for the Gemini API (`kind: gemini`, generativelanguage.googleapis.com).
 * https://ai.google.dev/api/generate-content
 *
 * Every call streams: `POST {base_url}/models/{model}:streamGenerateContent?alt=sse`, the key in
 * the `x-goog-api-key` header (never in the query string, so it stays out of access logs). A model
 * named with a resource prefix (`tunedModels/…`, `models/…`) is used as named; a bare name gets
 * `models/`. A server that answers with JSON instead (a GenerateContentResponse, an array of them,
 * or a Google error) is replayed as stream parts or fails with the error's class.
 * https://ai.google.dev/api#authentication
 *
 * The stream throws `ProviderError` (see gemini-errors.ts, from-gemini-response.ts and
 * http/http-errors.ts for the classes). Aborting `call.signal` destroys the upstream request, so
 * the server sees its connection close and stops generating; the call then fails with the class
 * implied by the signal's reason. Stopping iteration early closes the connection too, unless the
 * body had already ended.
 */
export function createGeminiAdapter(settings: GeminiAdapterSettings): ProviderAdapter {
  const http = createHttpClient(settings, {
    headers: settings.apiKey === undefined ? {} : { "x-goog-api-key": settings.apiKey },
  });

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    const body = toGeminiRequest(call, { schemaFormat: settings.schemaFormat });
    const url = endpointUrl(settings.baseUrl, `${modelPath(call.model)}:streamGenerateContent?alt=sse`);
    const response = await http.postJson(url, body, { signal, accept: "text/event-stream" });
    yield* streamingAnswer(response, signal, {
      streamName: "an event stream",
      // A missing content type is read as the event stream that was asked for.
      streamTypes: ["text/event-stream", ""],
      classifyHttpError,
      fromJson: fromGeminiJson,
      decode: decodeGeminiStream,
    });
  }

  return { stream, close: () => http.close() };
}

/** `models/{model}`, or the model's own resource name; each segment percent-encoded. */
function modelPath(model: string): string {
  const path = model.includes("/") ? model : `models/${model}`;
  return path.split("/").map(encodeURIComponent).join("/");
}

/** `kind: gemini`: Google's Gemini API (AI Studio keys), or a proxy speaking it. */
export const geminiKind = defineProviderKind({
  kind: "gemini",
  genAiProviderName: "gcp.gemini",
  prices: GEMINI_PRICES,
  settingsSchema: geminiSettingsSchema,
  credentialKeys: ["api_key"],
  createAdapter: (provider, settings) =>
    createGeminiAdapter({
      ...toHttpProviderSettings(provider.name, settings),
      schemaFormat: settings.gemini.schema_format,
    }),
});
