import { describe, expect, it } from "vitest";
import {
  awsErrorType,
  classifyHttpError,
  classifyStreamException,
  withoutCredentials,
} from "../../../src/providers/bedrock/bedrock-errors.js";

const NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/";
const body = (message: string) => JSON.stringify({ message });

describe("awsErrorType", () => {
  it("reads x-amzn-errortype without its namespace", () => {
    expect(awsErrorType({ "x-amzn-errortype": `ThrottlingException:${NAMESPACE}` }, {})).toBe(
      "ThrottlingException",
    );
  });

  it("falls back to the body's __type or code, without a namespace prefix", () => {
    expect(awsErrorType({}, { __type: "com.amazon.coral.validate#ValidationException" })).toBe(
      "ValidationException",
    );
    expect(awsErrorType({}, { code: "AccessDeniedException" })).toBe("AccessDeniedException");
    expect(awsErrorType({}, { message: "x" })).toBeUndefined();
  });
});

describe("classifyHttpError", () => {
  // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors
  it.each([
    [
      400,
      "ValidationException",
      "Malformed input request: extraneous key [foo] is not permitted",
      "invalid_request",
      false,
    ],
    [400, "ValidationException", "Input is too long for requested model.", "context_length", false],
    [
      400,
      "ValidationException",
      "The model returned the following errors: prompt is too long: 210000 tokens > 200000 maximum",
      "context_length",
      false,
    ],
    [400, "ValidationException", "too many input tokens", "context_length", false],
    [
      403,
      "AccessDeniedException",
      "You don't have access to the model with the specified model ID.",
      "auth",
      false,
    ],
    [
      403,
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
      "auth",
      false,
    ],
    [403, "InvalidSignatureException", "The request signature we calculated does not match", "auth", false],
    [403, "ExpiredTokenException", "The security token included in the request is expired", "auth", false],
    [404, "ResourceNotFoundException", "Could not resolve the foundation model", "invalid_request", false],
    [408, "ModelTimeoutException", "Model has timed out", "timeout", true],
    [424, "ModelErrorException", "The model produced an error", "server", true],
    [429, "ThrottlingException", "Too many requests, please wait before trying again.", "rate_limited", true],
    [429, "ServiceQuotaExceededException", "quota", "rate_limited", true],
    [429, "ModelNotReadyException", "Model is not ready", "overloaded", true],
    [500, "InternalServerException", "internal", "server", true],
    [503, "ServiceUnavailableException", "Bedrock is unable to process your request.", "overloaded", true],
    [503, "ModelNotReadyException", "Model is not ready", "overloaded", true],
  ] as const)("classifies HTTP %i %s (%s) as %s", (status, type, message, errorClass, retryable) => {
    const err = classifyHttpError(status, { "x-amzn-errortype": `${type}:${NAMESPACE}` }, body(message));
    expect(err.errorClass).toBe(errorClass);
    expect(err.retryable).toBe(retryable);
    expect(err.status).toBe(status);
    expect(err.message).toBe(`upstream returned HTTP ${status} (${type})`);
  });

  it("falls back to the status when the type is missing or unknown", () => {
    expect(classifyHttpError(502, {}, "<html>Bad gateway</html>").errorClass).toBe("server");
    expect(classifyHttpError(400, {}, body("Input is too long for requested model.")).errorClass).toBe(
      "context_length",
    );
    const unknown = classifyHttpError(418, { "x-amzn-errortype": "project_nightingale" }, body("x"));
    expect(unknown.errorClass).toBe("invalid_request");
    expect(unknown.message).toBe("upstream returned HTTP 418 (unrecognised error type)");
  });

  it("keeps the upstream message out of the error message, in cause only", () => {
    const err = classifyHttpError(
      400,
      { "x-amzn-errortype": "ValidationException" },
      body("you asked about acme_merger"),
    );
    expect(err.message).not.toContain("acme_merger");
    expect(JSON.stringify(err.cause)).toContain("acme_merger");
  });

  it("reads retry-after on a throttle when one is sent", () => {
    const err = classifyHttpError(
      429,
      { "x-amzn-errortype": "ThrottlingException", "retry-after": "3" },
      body("slow"),
      0,
    );
    expect(err.retryAfterMs).toBe(3000);
  });
});

describe("classifyStreamException", () => {
  // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
  it.each([
    ["throttlingException", "rate_limited"],
    ["modelStreamErrorException", "server"],
    ["internalServerException", "server"],
    ["serviceUnavailableException", "overloaded"],
    ["validationException", "invalid_request"],
    ["modelTimeoutException", "timeout"],
  ] as const)("classifies %s as %s", (type, errorClass) => {
    const err = classifyStreamException(type, { message: "details" });
    expect(err.errorClass).toBe(errorClass);
    expect(err.message).toBe(`upstream reported an error (${type})`);
    expect(err.status).toBeUndefined();
  });

  it("reads a context-length validation exception", () => {
    expect(
      classifyStreamException("validationException", { message: "Input is too long for requested model." })
        .errorClass,
    ).toBe("context_length");
  });

  it("names an unknown type as unrecognised, class server", () => {
    const err = classifyStreamException("acme_merger", { message: "x" });
    expect(err.errorClass).toBe("server");
    expect(err.message).toBe("upstream reported an error (unrecognised error type)");
  });
});

describe("withoutCredentials", () => {
  it("keeps no session token, signature or access key id of a signature-mismatch body", () => {
    const body = JSON.stringify({
      message:
        "The request signature we calculated does not match. The Canonical String for this request should have been\nPOST\n/model/x/converse-stream\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20261130T000000Z\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0123456789abcdef",
    });
    const kept = withoutCredentials(body);
    expect(kept).not.toContain("IQoJb3JpZ2luX2VjEXAMPLETOKEN");
    expect(kept).not.toContain("0123456789abcdef");
    expect(kept).not.toContain("AKIDEXAMPLE");
    expect(kept).toContain("does not match");
  });
});
