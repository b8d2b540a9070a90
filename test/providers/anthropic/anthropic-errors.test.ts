import { describe, expect, it } from "vitest";
import {
  anthropicErrorInfo,
  classifyErrorEvent,
  classifyHttpError,
} from "../../../src/providers/anthropic/anthropic-errors.js";
import { ProviderError } from "../../../src/providers/provider-error.js";

const body = (type: string, message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    type: "error",
    error: { type, message, ...extra },
    request_id: "req_011CSHoEeqs5C35K2UUqR7Fy",
  });

describe("classifyHttpError", () => {
  it.each([
    [400, body("invalid_request_error", "messages: roles must alternate"), "invalid_request", false],
    [
      400,
      body("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
      "context_length",
      false,
    ],
    [
      400,
      body(
        "invalid_request_error",
        "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again",
      ),
      "context_length",
      false,
    ],
    [401, body("authentication_error", "invalid x-api-key"), "auth", false],
    [402, body("billing_error", "Your credit balance is too low"), "auth", false],
    [403, body("permission_error", "Your API key does not have permission"), "auth", false],
    [404, body("not_found_error", "model: claude-nope"), "invalid_request", false],
    [
      413,
      body("request_too_large", "Request exceeds the maximum allowed number of bytes."),
      "context_length",
      false,
    ],
    // Cloudflare answers 413 before the API: no JSON body.
    [413, "<html><body>413 Request Entity Too Large</body></html>", "context_length", false],
    [429, body("rate_limit_error", "This request would exceed the rate limit"), "rate_limited", true],
    [500, body("api_error", "Internal server error"), "server", true],
    [500, body("overloaded_error", "Overloaded"), "overloaded", true],
    [502, "<html>Bad gateway</html>", "server", true],
    [504, body("timeout_error", "Request timeout"), "timeout", true],
    [529, body("overloaded_error", "Overloaded"), "overloaded", true],
    [529, "", "overloaded", true],
  ])("classifies HTTP %i (%s) as %s", (status, text, errorClass, retryable) => {
    const err = classifyHttpError(status, {}, text);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.errorClass).toBe(errorClass);
    expect(err.retryable).toBe(retryable);
    expect(err.status).toBe(status);
  });

  it("lets a status that names its class stand over the error type", () => {
    expect(classifyHttpError(401, {}, body("invalid_request_error", "x")).errorClass).toBe("auth");
    expect(classifyHttpError(429, {}, body("api_error", "x")).errorClass).toBe("rate_limited");
  });

  it("takes retry-after on 429, and Anthropic's rate-limit reset headers without it", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(classifyHttpError(429, { "retry-after": "7" }, "", now).retryAfterMs).toBe(7000);
    const resets = {
      "anthropic-ratelimit-requests-remaining": "10",
      "anthropic-ratelimit-requests-reset": "2025-01-01T00:00:01Z",
      "anthropic-ratelimit-input-tokens-remaining": "0",
      "anthropic-ratelimit-input-tokens-reset": "2025-01-01T00:00:30Z",
    };
    expect(classifyHttpError(429, resets, body("rate_limit_error", "x"), now).retryAfterMs).toBe(30_000);
    // On a 529 only what the server said about retrying counts, not when quotas refill.
    expect(classifyHttpError(529, resets, "", now).retryAfterMs).toBeUndefined();
    expect(classifyHttpError(529, { "retry-after": "2" }, "", now).retryAfterMs).toBe(2000);
    expect(classifyHttpError(400, { "retry-after": "2" }, "", now).retryAfterMs).toBeUndefined();
  });

  it("names the error type, keeps the message in the cause only", () => {
    const text = body("authentication_error", "invalid x-api-key sk-ant-SECRET; prompt was: tell me");
    const err = classifyHttpError(401, {}, text);
    expect(err.message).toBe("upstream returned HTTP 401 (authentication_error)");
    expect(err.message).not.toContain("SECRET");
    expect(err.cause).toEqual({ status: 401, body: text });
  });

  it("names a documented error code, and free text in type or code as unrecognised", () => {
    expect(
      classifyHttpError(
        429,
        {},
        body("rate_limit_error", "spend limit", { details: { error_code: "enforced_spend_limit_reached" } }),
      ).message,
    ).toBe("upstream returned HTTP 429 (rate_limit_error/enforced_spend_limit_reached)");
    const echoed = body("project_nightingale", "x", { details: { error_code: "acme_merger" } });
    expect(classifyHttpError(400, {}, echoed).message).toBe(
      "upstream returned HTTP 400 (unrecognised error type/unrecognised error code)",
    );
    expect(classifyHttpError(500, {}, "not json").message).toBe("upstream returned HTTP 500");
  });
});

describe("classifyErrorEvent", () => {
  it.each([
    ["overloaded_error", "Overloaded", "overloaded", true],
    ["api_error", "Internal server error", "server", true],
    ["rate_limit_error", "slow down", "rate_limited", true],
    ["invalid_request_error", "prompt is too long: 1 tokens > 0 maximum", "context_length", false],
    ["invalid_request_error", "bad", "invalid_request", false],
    ["something_new_error", "?", "server", true],
  ])("classifies an %s event as %s", (type, message, errorClass, retryable) => {
    const err = classifyErrorEvent({ type: "error", error: { type, message } });
    expect(err.errorClass).toBe(errorClass);
    expect(err.retryable).toBe(retryable);
    expect(err.status).toBeUndefined();
  });

  it("names only known types in its message", () => {
    expect(
      classifyErrorEvent({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })
        .message,
    ).toBe("upstream reported an error (overloaded_error)");
    expect(classifyErrorEvent({ type: "error", error: { type: "acme_merger", message: "x" } }).message).toBe(
      "upstream reported an error (unrecognised error type)",
    );
  });

  it("makes a value that is not an error a protocol error", () => {
    expect(classifyErrorEvent({ type: "error" }).errorClass).toBe("protocol");
    expect(classifyErrorEvent("Overloaded").errorClass).toBe("protocol");
  });
});

describe("anthropicErrorInfo", () => {
  it("reads type, code and message; undefined for anything else", () => {
    expect(
      anthropicErrorInfo({
        type: "error",
        error: {
          type: "rate_limit_error",
          message: "m",
          details: { error_code: "enforced_spend_limit_reached" },
        },
      }),
    ).toEqual({ type: "rate_limit_error", code: "enforced_spend_limit_reached", message: "m" });
    expect(anthropicErrorInfo({ error: "x" })).toBeUndefined();
    expect(anthropicErrorInfo(null)).toBeUndefined();
  });
});
