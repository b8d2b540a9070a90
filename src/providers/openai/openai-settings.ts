import { z } from "zod";
import { type HttpProviderSettings, httpSettingsShape } from "../http/http-settings.js";

/**
 * The policy keys of `kind: openai-compatible`: the shared HTTP keys (`base_url` up to `/v1`, as
 * OpenAI's SDKs take it) plus the `openai:` block of quirks that differ by deployment.
 */
export const openAiSettingsSchema = z.strictObject({
  ...httpSettingsShape,
  openai: z
    .strictObject({
      /**
       * Where the output cap goes: `max_tokens` (vLLM, Ollama, Mistral, OpenAI's non-reasoning
       * models) or `max_completion_tokens` (OpenAI's reasoning models refuse `max_tokens`).
       */
      max_tokens_field: z.enum(["max_tokens", "max_completion_tokens"]).default("max_tokens"),
      /**
       * How the server continues a partial assistant answer (a route's `resume_on_fallback`):
       * `vllm` (a final assistant message with `continue_final_message: true` and
       * `add_generation_prompt: false`), or `none` (OpenAI's API has no such option).
       */
      assistant_prefix: z.enum(["none", "vllm"]).default("none"),
    })
    .prefault({}),
});

/** What the OpenAI-compatible adapter is built from. */
export interface OpenAiAdapterSettings extends HttpProviderSettings {
  maxTokensField: "max_tokens" | "max_completion_tokens";
  assistantPrefix?: "none" | "vllm";
}
