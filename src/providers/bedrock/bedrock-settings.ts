import { z } from "zod";
import { type HttpProviderSettings, httpSettingsShape } from "../http/http-settings.js";

/** AWS access key ids, secret keys and session tokens: printable ASCII, no whitespace. */
const credential = z
  .string()
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces (a trailing newline from a key file?)");

/**
 * The policy keys of `kind: bedrock` (Bedrock Runtime's Converse API), beside the common
 * `region` (required here: it names the endpoint and signs every request, and it is where the
 * data goes, which data classes with `regions` check).
 *
 * Credentials are the standard AWS ones, usually interpolated from the standard environment
 * variables (`${AWS_ACCESS_KEY_ID}`, `${AWS_SECRET_ACCESS_KEY}`, `${AWS_SESSION_TOKEN}`); they are
 * credential keys of the kind, so a laptop without them leaves the provider out.
 * https://docs.aws.amazon.com/sdkref/latest/guide/environment-variables.html
 */
export const bedrockSettingsSchema = z.strictObject({
  /**
   * Overrides the endpoint `https://bedrock-runtime.<region>.amazonaws.com` (a VPC endpoint, a
   * FIPS endpoint, a proxy, a test server); the host, as the AWS SDKs' `endpoint` takes it.
   * https://docs.aws.amazon.com/general/latest/gr/bedrock.html
   */
  base_url: httpSettingsShape.base_url.optional(),
  access_key_id: credential.optional(),
  secret_access_key: credential.optional(),
  /**
   * For temporary credentials (STS, SSO, an assumed role); empty means none, so
   * `${AWS_SESSION_TOKEN:-}` works with long-term keys too. Not a credential key: an unset
   * `${AWS_SESSION_TOKEN}` without the `:-` is a policy error, not a reason to leave Bedrock out.
   */
  session_token: z.union([z.literal(""), credential]).optional(),
  headers: httpSettingsShape.headers,
  max_connections: httpSettingsShape.max_connections,
  connect_timeout_ms: httpSettingsShape.connect_timeout_ms,
});

/** AWS credentials as SigV4 takes them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the Bedrock adapter is built from. `baseUrl` is resolved (the regional endpoint by default). */
export interface BedrockAdapterSettings extends HttpProviderSettings {
  /** The AWS region requests are signed for, e.g. "us-east-1". */
  region: string;
  credentials: AwsCredentials;
}

/** The regional Bedrock Runtime endpoint. https://docs.aws.amazon.com/general/latest/gr/bedrock.html */
export function defaultBedrockEndpoint(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/**
 * The adapter settings of a provider block.
 * @throws Error when the region or a credential is missing (a policy error, not a call failure;
 *   a credential whose variable is unset never gets here: that provider is left out).
 */
export function toBedrockAdapterSettings(
  name: string,
  region: string,
  parsed: z.output<typeof bedrockSettingsSchema>,
): BedrockAdapterSettings {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(region))
    throw new Error(`provider "${name}": kind bedrock needs an AWS region (e.g. us-east-1)`);
  if (parsed.access_key_id === undefined || parsed.secret_access_key === undefined) {
    throw new Error(
      `provider "${name}": kind bedrock needs access_key_id and secret_access_key (e.g. \${AWS_ACCESS_KEY_ID})`,
    );
  }
  return {
    name,
    baseUrl: parsed.base_url ?? defaultBedrockEndpoint(region),
    headers: parsed.headers,
    maxConnections: parsed.max_connections,
    connectTimeoutMs: parsed.connect_timeout_ms,
    region,
    credentials: {
      accessKeyId: parsed.access_key_id,
      secretAccessKey: parsed.secret_access_key,
      ...(parsed.session_token !== undefined &&
        parsed.session_token !== "" && { sessionToken: parsed.session_token }),
    },
  };
}
