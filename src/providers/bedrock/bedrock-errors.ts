import type { ErrorClass } from "../../core/types.js";
import {
  errorBodyJson,
  errorClassForStatus,
  headerValue,
  httpStatusError,
  type ResponseHeaders,
} from "../http/http-errors.js";
import { ProviderError } from "../provider-error.js";
import { errorBodySchema } from "./bedrock-schemas.js";

/**
 * The error types Bedrock Runtime (and the AWS front end that authenticates its requests) send,
 * by lowercased name, with their class. In HTTP errors they are PascalCase
 * (`ThrottlingException`); inside a stream the `:exception-type` header names the union member,
 * lowerCamelCase (`throttlingException`); both read the same here. They are the only upstream
 * words an error message may carry: anything else may be the prompt echoed back (DESIGN
 * invariant 10) and is named "unrecognised error type".
 *
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
 * https://docs.aws.amazon.com/bedrock/latest/userguide/troubleshooting-api-error-codes.html
 */
const KNOWN_ERROR_TYPES: ReadonlyMap<string, { name: string; errorClass: ErrorClass | "validation" }> =
  new Map(
    (
      [
        // 400; "Input is too long for requested model" and its kin are context_length.
        ["ValidationException", "validation"],
        ["SerializationException", "invalid_request"],
        // 403 from Bedrock, and the signing/credential errors of the AWS front end.
        ["AccessDeniedException", "auth"],
        ["UnrecognizedClientException", "auth"],
        ["InvalidSignatureException", "auth"],
        ["IncompleteSignatureException", "auth"],
        ["MissingAuthenticationTokenException", "auth"],
        ["ExpiredTokenException", "auth"],
        ["InvalidClientTokenId", "auth"],
        ["SignatureDoesNotMatch", "auth"],
        // 404: an unknown model id or inference profile.
        ["ResourceNotFoundException", "invalid_request"],
        // 408.
        ["ModelTimeoutException", "timeout"],
        // 424: the model failed on this request, or mid-stream.
        ["ModelErrorException", "server"],
        ["ModelStreamErrorException", "server"],
        // 429.
        ["ThrottlingException", "rate_limited"],
        ["ServiceQuotaExceededException", "rate_limited"],
        ["TooManyRequestsException", "rate_limited"],
        // 429 per the reference ("not ready to serve inference requests"): capacity, not our quota.
        ["ModelNotReadyException", "overloaded"],
        // 500.
        ["InternalServerException", "server"],
        ["InternalFailure", "server"],
        // 503.
        ["ServiceUnavailableException", "overloaded"],
        ["ServiceUnavailable", "overloaded"],
      ] as const
    ).map(([name, errorClass]) => [name.toLowerCase(), { name, errorClass }]),
  );

/**
 * What Bedrock says when the prompt does not fit the model: "Input is too long for requested
 * model.", "too many input tokens", Anthropic's "prompt is too long", and the like.
 */
const CONTEXT_LENGTH_MESSAGE =
  /input is too long|too many (input )?tokens|prompt is too long|context (window|length)|maximum context|exceeds? the (model'?s? )?(max(imum)? )?(input|token|context)/i;

/**
 * The bare error type of an AWS error, as the SDKs read it: the `x-amzn-errortype` header (e.g.
 * `ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/`), else the body's
 * `code` or `__type`; anything after a `:` and before a `#` is dropped.
 * https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization
 */
export function awsErrorType(headers: ResponseHeaders, body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  const raw =
    headerValue(headers, "x-amzn-errortype") ??
    (parsed.success ? (parsed.data.code ?? parsed.data.__type) : undefined);
  if (raw === undefined) return undefined;
  const bare = raw.split(":")[0]?.split("#").at(-1)?.trim() ?? "";
  return bare === "" ? undefined : bare;
}

/** The `message` of an AWS JSON error body (kept for classification and `cause` only). */
function awsErrorMessage(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  return parsed.success ? (parsed.data.message ?? parsed.data.Message) : undefined;
}

/**
 * Classifies a non-2xx response by its error type (known types decide, whatever the status),
 * else by status. `bodyText` (possibly truncated) goes into `cause` only; the message carries the
 * status and the error type when it is a known one.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors
 */
export function classifyHttpError(
  status: number,
  headers: ResponseHeaders,
  bodyText: string,
  nowMs: number = Date.now(),
): ProviderError {
  const body = errorBodyJson(bodyText);
  const type = awsErrorType(headers, body);
  const known = type === undefined ? undefined : KNOWN_ERROR_TYPES.get(type.toLowerCase());
  const fromStatus = errorClassForStatus(status);
  const errorClass = resolve(
    known?.errorClass ?? (fromStatus === "invalid_request" ? "validation" : fromStatus),
    body,
  );
  return httpStatusError(status, headers, {
    errorClass,
    detail: describe(type, known?.name),
    cause: { status, body: withoutCredentials(bodyText) },
    nowMs,
  });
}

/**
 * An AWS error body as kept for logs: a signature mismatch echoes the canonical request, session
 * token included, and the string it signed; neither is kept.
 */
export function withoutCredentials(body: string): string {
  return body
    .replace(/(x-amz-security-token[:=]\s*)[^\s&"'\\]+/gi, "$1[REDACTED]")
    .replace(/(Signature=)[0-9a-f]+/gi, "$1[REDACTED]")
    .replace(/(Credential=)[^\s,/"']+/gi, "$1[REDACTED]");
}

/**
 * Classifies an exception delivered inside a ConverseStream body: a message whose
 * `:message-type` is `exception`, its `:exception-type` header naming the member of the
 * ConverseStreamOutput union (`throttlingException`, `modelStreamErrorException`,
 * `validationException`…), its payload `{"message": …}`; or a generic event-stream `error`
 * message (`:error-code`). With no HTTP status, the type decides; an unknown one is "server".
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 */
export function classifyStreamException(type: string | undefined, payload: unknown): ProviderError {
  const known = type === undefined ? undefined : KNOWN_ERROR_TYPES.get(type.toLowerCase());
  const errorClass = resolve(known?.errorClass ?? "server", payload);
  const detail = describe(type, type === undefined || known === undefined ? undefined : type);
  return new ProviderError(errorClass, `upstream reported an error${detail === "" ? "" : ` (${detail})`}`, {
    cause: { type, body: payload },
  });
}

/** A validation error is context_length when its message says the input does not fit. */
function resolve(errorClass: ErrorClass | "validation", body: unknown): ErrorClass {
  if (errorClass !== "validation") return errorClass;
  return CONTEXT_LENGTH_MESSAGE.test(awsErrorMessage(body) ?? "") ? "context_length" : "invalid_request";
}

/** The type as the message may show it: its known spelling, or "unrecognised error type". */
function describe(type: string | undefined, knownSpelling: string | undefined): string {
  if (type === undefined) return "";
  return knownSpelling ?? "unrecognised error type";
}
