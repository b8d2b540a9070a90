import { describe, expect, it } from "vitest";
import {
  classifyErrorPayload,
  classifyHttpError,
  googleErrorInfo,
  parseProtobufDuration,
} from "../../../src/providers/gemini/gemini-errors.js";

const googleError = (code: number, status: string, message: string, details?: unknown[]) => ({
  error: { code, message, status, ...(details && { details }) },
});
const body = (value: unknown) => JSON.stringify(value, null, 2);
const retryInfo = (retryDelay: string) => ({
  "@type": "type.googleapis.com/google.rpc.RetryInfo",
  retryDelay,
});
const errorInfo = (reason: string) => ({
  "@type": "type.googleapis.com/google.rpc.ErrorInfo",
  reason,
  domain: "googleapis.com",
  metadata: { service: "generativelanguage.googleapis.com" },
});

describe("classifyHttpError", () => {
  it.each([
    [
      400,
      googleError(400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
      "invalid_request",
      false,
    ],
    [
      400,
      googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
        errorInfo("API_KEY_INVALID"),
      ]),
      "auth",
      false,
    ],
    [
      400,
      googleError(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
      "auth",
      false,
    ],
    [
      400,
      googleError(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
      ),
      "context_length",
      false,
    ],
    [
      401,
      googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
      "auth",
      false,
    ],
    [403, googleError(403, "PERMISSION_DENIED", "The caller does not have permission"), "auth", false],
    [
      404,
      googleError(404, "NOT_FOUND", "models/gemini-5 is not found for API version v1beta"),
      "invalid_request",
      false,
    ],
    [429, googleError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota"), "rate_limited", true],
    [500, googleError(500, "INTERNAL", "An internal error has occurred."), "server", true],
    [
      503,
      googleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
      "overloaded",
      true,
    ],
    [
      504,
      googleError(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
      "timeout",
      true,
    ],
    [502, "<html>Bad gateway</html>", "server", true],
  ] as const)("classifies HTTP %i %j as %s", (status, payload, errorClass, retryable) => {
    const error = classifyHttpError(status, {}, typeof payload === "string" ? payload : body(payload));
    expect(error.errorClass).toBe(errorClass);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
  });

  it("reads a body wrapped in an array, as the stream endpoint sends it", () => {
    const error = classifyHttpError(429, {}, `[${body(googleError(429, "RESOURCE_EXHAUSTED", "quota"))}\n]`);
    expect(error.errorClass).toBe("rate_limited");
    expect(error.message).toBe("upstream returned HTTP 429 (RESOURCE_EXHAUSTED)");
  });

  it("takes retryAfterMs from RetryInfo, unless a retry-after header says otherwise", () => {
    const payload = body(googleError(429, "RESOURCE_EXHAUSTED", "quota", [retryInfo("7.2s")]));
    expect(classifyHttpError(429, {}, payload).retryAfterMs).toBe(7200);
    expect(classifyHttpError(429, { "retry-after": "3" }, payload).retryAfterMs).toBe(3000);
    expect(
      classifyHttpError(429, {}, body(googleError(429, "RESOURCE_EXHAUSTED", "quota"))).retryAfterMs,
    ).toBeUndefined();
    // Not for an error that is not worth waiting on.
    expect(
      classifyHttpError(400, {}, body(googleError(400, "INVALID_ARGUMENT", "x", [retryInfo("7s")])))
        .retryAfterMs,
    ).toBeUndefined();
  });

  it("names the status and reason, never Google's free text", () => {
    const error = classifyHttpError(
      400,
      {},
      body(
        googleError(400, "INVALID_ARGUMENT", "API key not valid: AIzaSyFAKE", [errorInfo("API_KEY_INVALID")]),
      ),
    );
    expect(error.message).toBe("upstream returned HTTP 400 (INVALID_ARGUMENT/API_KEY_INVALID)");
    expect(JSON.stringify(error.cause)).toContain("AIzaSyFAKE");
    const echoed = classifyHttpError(
      400,
      {},
      body(
        googleError(400, "project_nightingale", "you asked about project_nightingale", [
          errorInfo("acme_merger"),
        ]),
      ),
    );
    expect(echoed.message).toBe("upstream returned HTTP 400 (unrecognised status/unrecognised reason)");
  });
});

describe("classifyErrorPayload", () => {
  it.each([
    [googleError(503, "UNAVAILABLE", "overloaded"), "overloaded"],
    [googleError(429, "RESOURCE_EXHAUSTED", "quota"), "rate_limited"],
    [googleError(500, "INTERNAL", "oops"), "server"],
    [googleError(400, "INVALID_ARGUMENT", "bad"), "invalid_request"],
    [{ error: { message: "no code", status: "UNAVAILABLE" } }, "overloaded"],
    [{ error: { message: "nothing to go on" } }, "server"],
    [[googleError(504, "DEADLINE_EXCEEDED", "late")], "timeout"],
  ] as const)("classifies %j as %s", (payload, errorClass) => {
    const error = classifyErrorPayload(payload);
    expect(error.errorClass).toBe(errorClass);
    expect(error.message).toMatch(/^upstream reported an error/);
  });

  it("keeps RetryInfo and calls a non-error value protocol", () => {
    expect(
      classifyErrorPayload(googleError(429, "RESOURCE_EXHAUSTED", "q", [retryInfo("2s")])).retryAfterMs,
    ).toBe(2000);
    expect(classifyErrorPayload({ foo: 1 }).errorClass).toBe("protocol");
  });
});

describe("googleErrorInfo", () => {
  it("reads code, status, reason and retry delay", () => {
    expect(
      googleErrorInfo(
        googleError(429, "RESOURCE_EXHAUSTED", "m", [errorInfo("RATE_LIMIT_EXCEEDED"), retryInfo("1s")]),
      ),
    ).toEqual({
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      message: "m",
      reason: "RATE_LIMIT_EXCEEDED",
      retryDelayMs: 1000,
    });
    expect(googleErrorInfo({ candidates: [] })).toBeUndefined();
  });
});

describe("parseProtobufDuration", () => {
  it.each([
    ["7s", 7000],
    ["0.5s", 500],
    ["1.000340012s", 1001],
    ["0s", 0],
    ["7", undefined],
    ["-1s", undefined],
    ["1m", undefined],
    ["100000s", undefined],
  ] as const)("reads %s as %s ms", (text, ms) => {
    expect(parseProtobufDuration(text)).toBe(ms);
  });
});
