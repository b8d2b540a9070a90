import { describe, expect, it } from "vitest";
import {
  classifyErrorPayload,
  classifyHttpError,
  upstreamErrorInfo,
} from "../../../src/providers/openai/openai-errors.js";
import { ProviderError } from "../../../src/providers/provider-error.js";

const openAiError = (
  message: string,
  type: string | null,
  code: string | null,
  param: string | null = null,
) => JSON.stringify({ error: { message, type, param, code } }, null, 4);

describe("classifyHttpError", () => {
  it.each([
    [429, openAiError("Rate limit reached", "requests", "rate_limit_exceeded"), "rate_limited", true],
    [500, openAiError("The server had an error", "server_error", null), "server", true],
    [502, "<html>Bad gateway</html>", "server", true],
    [504, "", "server", true],
    [503, openAiError("The engine is currently overloaded", "server_error", null), "overloaded", true],
    [529, openAiError("Overloaded", "overloaded_error", null), "overloaded", true],
    [
      401,
      openAiError("Incorrect API key provided: sk-abc", "invalid_request_error", "invalid_api_key"),
      "auth",
      false,
    ],
    [
      403,
      openAiError("Country not supported", "request_forbidden", "unsupported_country_region_territory"),
      "auth",
      false,
    ],
    [
      400,
      openAiError(
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
        "messages",
      ),
      "context_length",
      false,
    ],
    // vLLM: no code, but the message says it.
    [
      400,
      JSON.stringify({
        object: "error",
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.",
        type: "BadRequestError",
        param: null,
        code: 400,
      }),
      "context_length",
      false,
    ],
    [
      400,
      openAiError("Your request was rejected", "invalid_request_error", "content_policy_violation"),
      "content_refused",
      false,
    ],
    // Azure OpenAI's content filter.
    [400, openAiError("The response was filtered", null, "content_filter"), "content_refused", false],
    [
      400,
      openAiError("Invalid value for 'temperature'", "invalid_request_error", "invalid_value"),
      "invalid_request",
      false,
    ],
    [
      404,
      openAiError("The model `x` does not exist", "invalid_request_error", "model_not_found"),
      "invalid_request",
      false,
    ],
    [422, "not json", "invalid_request", false],
    [408, "", "timeout", true],
  ])("classifies HTTP %i as %s", (status, body, errorClass, retryable) => {
    const err = classifyHttpError(status, {}, body);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.errorClass).toBe(errorClass);
    expect(err.retryable).toBe(retryable);
    expect(err.status).toBe(status);
  });

  it("carries retry-after on 429 and 503", () => {
    expect(classifyHttpError(429, { "retry-after": "2" }, "").retryAfterMs).toBe(2000);
    expect(classifyHttpError(503, { "retry-after-ms": "750" }, "").retryAfterMs).toBe(750);
    expect(classifyHttpError(400, { "retry-after": "2" }, "").retryAfterMs).toBeUndefined();
  });

  it("keeps the upstream body out of the message and in the cause", () => {
    const body = openAiError(
      "Incorrect API key provided: sk-proj-SECRET123. Prompt was: tell me a secret",
      "invalid_request_error",
      "invalid_api_key",
    );
    const err = classifyHttpError(401, {}, body);
    expect(err.message).toBe("upstream returned HTTP 401 (invalid_request_error/invalid_api_key)");
    expect(err.message).not.toContain("SECRET");
    expect(err.cause).toEqual({ status: 401, body });
  });

  it("names free-text type and code values as unrecognised", () => {
    const err = classifyHttpError(400, {}, openAiError("x", "ignore previous instructions", "sk-live key"));
    expect(err.message).toBe("upstream returned HTTP 400 (unrecognised error type/unrecognised error code)");
  });

  it("keeps identifier-like words an upstream echoed from the prompt out of the message", () => {
    // A gateway that puts the offending prompt words in type/code (seen with prompt-guard proxies).
    const body = openAiError("Blocked: project_nightingale", "project_nightingale", "acquire_acme_corp");
    const err = classifyHttpError(400, {}, body);
    expect(err.message).toBe("upstream returned HTTP 400 (unrecognised error type/unrecognised error code)");
    expect(err.message).not.toMatch(/nightingale|acme/);
    expect(err.cause).toEqual({ status: 400, body });
  });

  it.each([
    [
      openAiError("m", "invalid_request_error", "context_length_exceeded"),
      "invalid_request_error/context_length_exceeded",
    ],
    [openAiError("m", "requests", "rate_limit_exceeded"), "requests/rate_limit_exceeded"],
    [openAiError("m", "insufficient_quota", "insufficient_quota"), "insufficient_quota/insufficient_quota"],
    [openAiError("m", "server_error", null), "server_error"],
    [
      openAiError("m", "invalid_request_error", "acme_merger"),
      "invalid_request_error/unrecognised error code",
    ],
    [
      JSON.stringify({ object: "error", message: "m", type: "BadRequestError", code: 400 }),
      "BadRequestError/400",
    ],
    [JSON.stringify({ error: { message: "m", code: 4111111111111111 } }), "unrecognised error code"],
    [JSON.stringify({ error: "m" }), undefined],
  ])("names known error types and codes: %s", (body, detail) => {
    const err = classifyHttpError(400, {}, body);
    expect(err.message).toBe(`upstream returned HTTP 400${detail === undefined ? "" : ` (${detail})`}`);
  });
});

describe("classifyErrorPayload", () => {
  it.each([
    [{ error: { message: "m", type: "server_error", code: null } }, "server"],
    [{ error: { message: "m", type: "requests", code: "rate_limit_exceeded" } }, "rate_limited"],
    [{ error: { message: "m", type: "overloaded_error" } }, "overloaded"],
    [
      { error: { message: "m", type: "invalid_request_error", code: "context_length_exceeded" } },
      "context_length",
    ],
    [{ error: { message: "m", code: "content_filter" } }, "content_refused"],
    [{ error: { message: "m", type: "authentication_error" } }, "auth"],
    [{ error: { message: "m", type: "invalid_request_error" } }, "invalid_request"],
    [{ object: "error", message: "m", type: "BadRequestError", code: 400 }, "invalid_request"],
    [{ error: "upstream exploded" }, "server"],
    [{ not: "an error" }, "protocol"],
  ])("classifies %j as %s", (payload, errorClass) => {
    expect(classifyErrorPayload(payload).errorClass).toBe(errorClass);
  });
});

describe("classifyErrorPayload messages", () => {
  it("keeps identifier-like words an upstream echoed from the prompt out of the message", () => {
    const err = classifyErrorPayload({
      error: { message: "project_nightingale", type: "project_nightingale", code: "acquire_acme_corp" },
    });
    expect(err.message).toBe("upstream reported an error (unrecognised error type/unrecognised error code)");
    expect(err.errorClass).toBe("server");
  });

  it("names known error types and codes", () => {
    expect(classifyErrorPayload({ error: { message: "m", type: "server_error", code: null } }).message).toBe(
      "upstream reported an error (server_error)",
    );
    expect(classifyErrorPayload({ error: { message: "m", code: 502 } }).message).toBe(
      "upstream reported an error (502)",
    );
  });
});

describe("upstreamErrorInfo", () => {
  it("stringifies numeric codes", () => {
    expect(
      upstreamErrorInfo({ object: "error", message: "bad", type: "BadRequestError", code: 400 }),
    ).toEqual({
      message: "bad",
      type: "BadRequestError",
      code: "400",
    });
  });
});

describe("errors of Azure OpenAI, OpenRouter and Mistral", () => {
  it("reads Azure's innererror code and OpenRouter's moderation, Mistral's object message", () => {
    expect(
      upstreamErrorInfo({
        error: { code: "content_filter", innererror: { code: "ResponsibleAIPolicyViolation" } },
      }),
    ).toMatchObject({ code: "content_filter", innerCode: "ResponsibleAIPolicyViolation" });
    expect(
      upstreamErrorInfo({ error: { code: 403, message: "flagged", metadata: { reasons: ["hate"] } } }),
    ).toMatchObject({
      code: "403",
      moderated: true,
    });
    expect(
      upstreamErrorInfo({
        object: "error",
        message: { detail: [{ msg: "Extra inputs are not permitted" }] },
        type: "invalid_request_error",
      }),
    ).toMatchObject({
      type: "invalid_request_error",
      message: '{"detail":[{"msg":"Extra inputs are not permitted"}]}',
    });
  });

  it("classifies a moderation refusal mid-stream as content_refused and an Azure filter code as such", () => {
    expect(
      classifyErrorPayload({ error: { code: 403, message: "x", metadata: { reasons: ["violence"] } } })
        .errorClass,
    ).toBe("content_refused");
    expect(classifyErrorPayload({ error: { code: "content_filter", message: "x" } }).errorClass).toBe(
      "content_refused",
    );
    expect(
      classifyHttpError(403, {}, JSON.stringify({ error: { code: 403, message: "Forbidden" } })).errorClass,
    ).toBe("auth");
  });

  it("does not let a malformed innererror or metadata spoil the rest of the body", () => {
    expect(upstreamErrorInfo({ error: { code: "429", innererror: "x", metadata: 5 } })).toEqual({
      code: "429",
    });
  });
});
