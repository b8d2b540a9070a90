import { completionToParts } from "../completion.js";
import { createHttpClient, endpointUrl } from "../http/http-client.js";
import { streamingAnswer } from "../http/streaming-answer.js";
import { abortError, ProviderError } from "../provider-error.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { classifyHttpError } from "./bedrock-errors.js";
import {
  type BedrockAdapterSettings,
  bedrockSettingsSchema,
  toBedrockAdapterSettings,
} from "./bedrock-settings.js";
import { createRequestSigner } from "./bedrock-signing.js";
import {
  type BedrockStreamOptions,
  decodeBedrockStream,
  fromConverseResponse,
} from "./from-bedrock-response.js";
import { BEDROCK_PRICES } from "./prices.js";
import { toBedrockRequest } from "./to-bedrock-request.js";

/** What ConverseStream answers with. https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_ResponseSyntax */
const EVENT_STREAM = "application/vnd.amazon.eventstream";

/**
 * The path segment of a model id, inference profile id or ARN, encoded as the AWS SDKs do it
 * (RFC 3986: `encodeURIComponent` plus `!'()*`): `anthropic.claude-3-5-sonnet-20240620-v1:0` →
 * `anthropic.claude-3-5-sonnet-20240620-v1%3A0`; an ARN's `/` becomes `%2F`.
 */
export function encodeModelId(model: string): string {
  return encodeURIComponent(model).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Adapter for AWS Bedrock Runtime's ConverseStream (`kind: bedrock`):
 * `POST {endpoint}/model/{modelId}/converse-stream`, SigV4-signed for service `bedrock` in the
 * provider's region, answered with an `application/vnd.amazon.eventstream` body.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 *
 * Connections come from the provider's keep-alive pool (http/keep-alive-pool.ts). Every request
 * is signed just before it is sent (a signature is valid for 15 minutes from its `x-amz-date`).
 * A server that answers with a whole Converse JSON body instead is replayed as stream parts.
 *
 * The stream throws `ProviderError` (see bedrock-errors.ts and http/http-errors.ts for the
 * classes), for HTTP errors and for exceptions delivered inside the stream alike. Aborting
 * `call.signal` destroys the upstream request, so the server sees its connection close and stops
 * generating; the call then fails with the class implied by the signal's reason. Stopping
 * iteration early closes the connection too, unless the answer was complete (then its last bytes
 * are drained and the socket reused).
 */
export function createBedrockAdapter(settings: BedrockAdapterSettings): ProviderAdapter {
  const http = createHttpClient(settings);
  const sign = createRequestSigner(settings.region, settings.credentials);
  // The provider's own headers are signed too (the client sends them lowercased, as here).
  const headersToSign: Record<string, string> = { "content-type": "application/json", accept: EVENT_STREAM };
  for (const [name, value] of Object.entries(settings.headers)) headersToSign[name.toLowerCase()] = value;

  async function* stream(call: ProviderCall): AsyncGenerator<StreamPart, void> {
    const signal = http.callSignal(call.signal);
    if (signal.aborted) throw abortError(signal);
    const { body, jsonToolName } = toBedrockRequest(call);
    const options: BedrockStreamOptions = jsonToolName === undefined ? {} : { jsonToolName };
    const url = new URL(endpointUrl(settings.baseUrl, `model/${encodeModelId(call.model)}/converse-stream`));
    let signed: Record<string, string>;
    try {
      // The signed payload is the body as the client serialises it: JSON.stringify, the same text.
      signed = await sign({ url, body: JSON.stringify(body), headers: headersToSign });
    } catch (cause) {
      throw new ProviderError("auth", "request could not be signed (AWS credentials)", { cause });
    }
    const response = await http.postJson(url.toString(), body, {
      signal,
      accept: EVENT_STREAM,
      headers: signed,
    });
    yield* streamingAnswer(response, signal, {
      streamName: "an event stream",
      streamTypes: [EVENT_STREAM],
      classifyHttpError,
      fromJson: (json) => completionToParts(fromConverseResponse(json, options)),
      decode: (bytes) => decodeBedrockStream(bytes, options),
    });
  }

  return { stream, close: () => http.close() };
}

/**
 * `kind: bedrock`: AWS Bedrock Runtime's Converse API. The common `region` key names the
 * endpoint and the signing region; the credential keys (and `region`, so `${AWS_REGION}` may
 * be used) leave the provider out while their variables are unset.
 */
export const bedrockKind = defineProviderKind({
  kind: "bedrock",
  genAiProviderName: "aws.bedrock",
  prices: BEDROCK_PRICES,
  settingsSchema: bedrockSettingsSchema,
  credentialKeys: ["access_key_id", "secret_access_key", "region"],
  regionProblem: (region) =>
    /^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(region)
      ? undefined
      : `required for kind bedrock: the AWS region (e.g. us-east-1), which names the endpoint and signs the calls${region === "" ? "" : `; "${region}" is not one`}`,
  createAdapter: (provider, settings) =>
    createBedrockAdapter(toBedrockAdapterSettings(provider.name, provider.region, settings)),
});
