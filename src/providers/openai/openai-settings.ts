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
      /**
       * Whether to ask for usage in the stream (`stream_options: {include_usage: true}`). Mistral's
       * API refuses the key (422 extra_forbidden) and sends usage in its last chunk anyway: `false`
       * there. https://docs.mistral.ai/api/#tag/chat
       */
      stream_usage: z.boolean().default(true),
      /**
       * Azure OpenAI: `base_url` is the resource endpoint (`https://NAME.openai.azure.com`), the key
       * goes in the `api-key` header, and calls go to the deployment named by the target's model:
       * `{base_url}/openai/deployments/{model}/chat/completions?api-version={api_version}`. With
       * `api_version: v1`, Azure's v1 API instead: `{base_url}/openai/v1/chat/completions`, the
       * model in the body.
       * https://learn.microsoft.com/azure/ai-services/openai/reference
       */
      azure: z
        .strictObject({
          api_version: z
            .string()
            .regex(
              /^(?:v1|\d{4}-\d{2}-\d{2}(?:-preview)?)$/,
              'must be "v1" or a date version such as 2024-10-21',
            )
            .default("2024-10-21"),
        })
        .optional(),
    })
    .prefault({}),
});

/** What the OpenAI-compatible adapter is built from. */
export interface OpenAiAdapterSettings extends HttpProviderSettings {
  maxTokensField: "max_tokens" | "max_completion_tokens";
  assistantPrefix?: "none" | "vllm";
  /** Send `stream_options.include_usage` (default true). */
  streamUsage?: boolean;
  /** Azure OpenAI's URLs and `api-key` header, with this `api-version` ("v1": the v1 API). */
  azure?: { apiVersion: string };
}
