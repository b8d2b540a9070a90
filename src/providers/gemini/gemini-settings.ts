import { z } from "zod";
import { type HttpProviderSettings, httpSettingsShape } from "../http/http-settings.js";

/** Where Google's SDKs point by default: the Gemini Developer API, up to the API version. */
export const DEFAULT_GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

/**
 * How JSON Schemas (tool parameters, a `json_schema` response format) travel:
 * - `openapi` (default): converted to Gemini's `Schema`, the OpenAPI 3.0 subset every Gemini model
 *   and every proxy of the API accepts (`parameters`, `responseSchema`); see toGeminiSchema for what
 *   is converted and what is dropped.
 * - `json_schema`: sent as JSON Schema (`parametersJsonSchema`, `responseJsonSchema`), which newer
 *   models take whole; only `$schema` is removed.
 * https://ai.google.dev/api/caching#Schema
 * https://ai.google.dev/api/caching#FunctionDeclaration
 */
export type GeminiSchemaFormat = "openapi" | "json_schema";

/**
 * The policy keys of `kind: gemini`: the shared HTTP keys, `base_url` up to the API version as
 * Google's SDKs take it (defaulting to the public endpoint), plus the `gemini:` block.
 */
export const geminiSettingsSchema = z.strictObject({
  ...httpSettingsShape,
  base_url: httpSettingsShape.base_url.default(DEFAULT_GEMINI_BASE_URL),
  gemini: z
    .strictObject({
      schema_format: z.enum(["openapi", "json_schema"]).default("openapi"),
    })
    .prefault({}),
});

/** What the Gemini adapter is built from. */
export interface GeminiAdapterSettings extends HttpProviderSettings {
  schemaFormat: GeminiSchemaFormat;
}
