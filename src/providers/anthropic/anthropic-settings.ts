import { z } from "zod";
import { type HttpProviderSettings, httpSettingsShape } from "../http/http-settings.js";

/** The API version every request names unless the policy overrides it. https://docs.anthropic.com/en/api/versioning */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";
/** Output cap sent when the call sets none: Anthropic requires `max_tokens` on every request. */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * The policy keys of `kind: anthropic`: the shared HTTP keys, with `base_url` the host as
 * Anthropic's SDKs take it (`https://api.anthropic.com`, the default; `/v1/messages` is appended),
 * plus the `anthropic:` block.
 */
export const anthropicSettingsSchema = z.strictObject({
  ...httpSettingsShape,
  base_url: httpSettingsShape.base_url.default("https://api.anthropic.com"),
  anthropic: z
    .strictObject({
      /** The `anthropic-version` header. */
      version: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date like 2023-06-01")
        .default(DEFAULT_ANTHROPIC_VERSION),
      /** `max_tokens` for calls whose route sets no cap (the API refuses a request without one). */
      max_tokens_default: z.int().positive().max(1_000_000).default(DEFAULT_MAX_TOKENS),
      /**
       * How JSON output (a call's response format) is asked for: `tool` (default; every model) forces a
       * tool whose input schema is the requested schema and streams its input as the answer text;
       * `output_config` sends a JSON schema as the API's native `output_config.format` (newer models
       * only), JSON mode without a schema still going through the tool.
       */
      json_mode: z.enum(["tool", "output_config"]).default("tool"),
    })
    .prefault({}),
});

/** What the Anthropic adapter is built from. */
export interface AnthropicAdapterSettings extends HttpProviderSettings {
  /** The `anthropic-version` header; default {@link DEFAULT_ANTHROPIC_VERSION}. */
  version?: string;
  /** Default {@link DEFAULT_MAX_TOKENS}. */
  maxTokensDefault?: number;
  /** Default "tool". */
  jsonMode?: "tool" | "output_config";
}
