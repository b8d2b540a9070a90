import { z } from "zod";
import { type HttpProviderSettings, httpSettingsShape } from "../http/http-settings.js";

/**
 * Ollama's `keep_alive`: a Go duration ("5m", "1h30m", "0" to unload at once) or a number of
 * seconds (negative: keep loaded forever), as the API takes it.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 */
const keepAlive = z.union([
  z.string().regex(/^(?:0|-?(?:\d*\.?\d+(?:h|m|s|ms|us|µs|ns))+)$/, "must be a Go duration such as 5m or 1h"),
  z.int(),
]);

/**
 * The policy keys of `kind: ollama`: the shared HTTP keys (`base_url` is the host,
 * `http://localhost:11434`, as Ollama's own clients take it; `/api/chat` is appended; `api_key` is
 * only needed for ollama.com and goes out as a bearer token) plus the `ollama:` block.
 */
export const ollamaSettingsSchema = z.strictObject({
  ...httpSettingsShape,
  ollama: z
    .strictObject({
      /**
       * The context window to load the model with (`options.num_ctx`). Unset, the server's default
       * applies, and Ollama silently drops the oldest messages of a conversation that does not fit.
       */
      num_ctx: z.int().positive().max(10_000_000).optional(),
      /** How long the model stays loaded after a call (`keep_alive`); unset, the server's default (5m). */
      keep_alive: keepAlive.optional(),
    })
    .prefault({}),
});

/** What the Ollama adapter is built from. */
export interface OllamaAdapterSettings extends HttpProviderSettings {
  numCtx?: number;
  keepAlive?: string | number;
}
