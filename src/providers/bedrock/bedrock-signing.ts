import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentials } from "./bedrock-settings.js";

/** The SigV4 signing name of Bedrock Runtime (not `bedrock-runtime`). https://docs.aws.amazon.com/general/latest/gr/bedrock.html */
export const BEDROCK_SIGNING_NAME = "bedrock";

/** Signs one request: returns the headers to send with it (`host` left out: the HTTP client sets it to the same value). */
export type RequestSigner = (request: {
  url: URL;
  body: string;
  headers: Record<string, string>;
  signingDate?: Date;
}) => Promise<Record<string, string>>;

/**
 * A SigV4 signer for Bedrock Runtime requests, by `@smithy/signature-v4` as the AWS SDKs sign
 * them: `x-amz-date`, `x-amz-content-sha256` (the payload's SHA-256), `x-amz-security-token` for
 * temporary credentials, and `authorization: AWS4-HMAC-SHA256 Credential=…/<date>/<region>/bedrock/aws4_request,
 * SignedHeaders=…, Signature=…`. Every header given is signed (with `host`), so custom headers
 * cannot be changed in transit either. The path is signed as sent (already percent-encoded:
 * the model id's `:` as `%3A`), which the signer encodes once more for the canonical request,
 * as SigV4 wants for every service but S3.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export function createRequestSigner(region: string, credentials: AwsCredentials): RequestSigner {
  const signer = new SignatureV4({
    service: BEDROCK_SIGNING_NAME,
    region,
    credentials,
    sha256: Hash.bind(null, "sha256"),
  });
  return async ({ url, body, headers, signingDate }) => {
    const request = new HttpRequest({
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port !== "" && { port: Number(url.port) }),
      path: url.pathname,
      headers: { ...headers, host: url.host },
      body,
    });
    const signed = await signer.sign(request, signingDate === undefined ? {} : { signingDate });
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name.toLowerCase() !== "host") out[name.toLowerCase()] = value;
    }
    return out;
  };
}
