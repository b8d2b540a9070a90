import { z } from "zod";

/** RFC 9110 token: what an HTTP header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** No control characters: undici refuses them at send time, which would look like the caller's fault. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL_CHARACTER = /[\x00-\x08\x0a-\x1f\x7f]/;
const headerValue = z
  .string()
  .refine(
    (value) => !CONTROL_CHARACTER.test(value),
    "must not contain control characters (a trailing newline from a key file?)",
  );
/** Bounded well under Node's 32-bit timer limit (a larger value would fire at once). */
const durationMs = z.int().positive().max(3_600_000, "must be at most 3600000 (one hour)");

/**
 * The policy keys every HTTP-based provider kind shares: where it is, how we authenticate, how
 * many connections we keep. A kind spreads this shape into its own settings schema.
 */
export const httpSettingsShape = {
  base_url: z.url({ protocol: /^https?$/ }),
  /** Usually `${SOME_KEY}`; a kind lists it among its credential keys. */
  api_key: headerValue.optional(),
  /** Extra request headers (e.g. OpenRouter's HTTP-Referer). */
  headers: z
    .record(z.string(), headerValue)
    .superRefine((headers, context) => {
      for (const name of Object.keys(headers))
        if (!HEADER_NAME.test(name))
          context.addIssue({
            code: "custom",
            path: [name],
            message: "must be an HTTP header name (a token)",
          });
    })
    .default({}),
  /** Upper bound on open keep-alive connections to this provider. */
  max_connections: z.int().positive().default(64),
  /** Time to establish a TCP/TLS connection before the attempt fails as `connect`. */
  connect_timeout_ms: durationMs.default(2_000),
};

/** The shared HTTP settings of one provider, as its adapter takes them. */
export interface HttpProviderSettings {
  /** The provider's name in the policy (for error messages). */
  name: string;
  /** Base URL as the provider's SDKs spell it, e.g. "https://api.openai.com/v1". */
  baseUrl: string;
  /** Absent when the provider needs none (a local vLLM). */
  apiKey?: string;
  headers: Record<string, string>;
  maxConnections: number;
  connectTimeoutMs: number;
}

/** Maps the parsed policy keys of `httpSettingsShape` to HttpProviderSettings. */
export function toHttpProviderSettings(
  name: string,
  parsed: z.output<z.ZodObject<typeof httpSettingsShape>>,
): HttpProviderSettings {
  return {
    name,
    baseUrl: parsed.base_url,
    headers: parsed.headers,
    maxConnections: parsed.max_connections,
    connectTimeoutMs: parsed.connect_timeout_ms,
    ...(parsed.api_key !== undefined && parsed.api_key !== "" && { apiKey: parsed.api_key }),
  };
}
