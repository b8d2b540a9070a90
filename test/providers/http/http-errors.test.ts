import { describe, expect, it } from "vitest";
import {
  classifyTransportError,
  errorClassForStatus,
  headerValue,
  httpStatusError,
  parseRetryAfterMs,
} from "../../../src/providers/http/http-errors.js";
import { ProviderError } from "../../../src/providers/provider-error.js";

const live = new AbortController().signal;

describe("parseRetryAfterMs", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");

  it("prefers retry-after-ms", () => {
    expect(parseRetryAfterMs({ "retry-after-ms": "1500.5", "retry-after": "9" }, now)).toBe(1501);
  });

  it("reads retry-after as seconds, whole or fractional", () => {
    expect(parseRetryAfterMs({ "retry-after": "20" }, now)).toBe(20_000);
    expect(parseRetryAfterMs({ "retry-after": "0.25" }, now)).toBe(250);
  });

  it("reads retry-after as an HTTP date, never negative", () => {
    expect(parseRetryAfterMs({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfterMs({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }, now)).toBe(0);
  });

  it("returns undefined when absent or unreadable", () => {
    expect(parseRetryAfterMs({}, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after-ms": "-5" }, now)).toBeUndefined();
  });
});

describe("classifyTransportError", () => {
  const withCode = (code: string) => Object.assign(new Error(`failed: ${code}`), { code });

  it.each([
    "ECONNREFUSED",
    "ECONNRESET",
    "ENOTFOUND",
    "EAI_AGAIN",
    "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_SOCKET",
  ])("classifies %s before a response as connect", (code) => {
    const err = classifyTransportError(withCode(code), "request", live);
    expect(err.errorClass).toBe("connect");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(code);
  });

  it("finds the code inside an AggregateError (happy eyeballs)", () => {
    const aggregate = new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")], "all failed");
    expect(classifyTransportError(aggregate, "request", live).errorClass).toBe("connect");
  });

  it("classifies undici header and body timeouts as timeout", () => {
    expect(classifyTransportError(withCode("UND_ERR_HEADERS_TIMEOUT"), "request", live).errorClass).toBe(
      "timeout",
    );
    expect(classifyTransportError(withCode("UND_ERR_BODY_TIMEOUT"), "body", live).errorClass).toBe("timeout");
  });

  it("classifies a connection lost mid-body as server", () => {
    expect(classifyTransportError(withCode("UND_ERR_SOCKET"), "body", live).errorClass).toBe("server");
  });

  it("passes a ProviderError through", () => {
    const original = new ProviderError("protocol", "bad");
    expect(classifyTransportError(original, "body", live)).toBe(original);
  });

  it("reports the abort, whatever undici threw, when the signal is aborted", () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyTransportError(withCode("UND_ERR_ABORTED"), "body", controller.signal).errorClass).toBe(
      "cancelled",
    );
  });
});

describe("errorClassForStatus", () => {
  it.each([
    [401, "auth"],
    [403, "auth"],
    [408, "timeout"],
    [429, "rate_limited"],
    [503, "overloaded"],
    [529, "overloaded"],
    [500, "server"],
    [502, "server"],
    [504, "server"],
    [599, "server"],
    [400, "invalid_request"],
    [404, "invalid_request"],
    [413, "invalid_request"],
    [422, "invalid_request"],
    [302, "protocol"],
    [101, "protocol"],
  ] as const)("maps HTTP %i to %s", (status, errorClass) => {
    expect(errorClassForStatus(status)).toBe(errorClass);
  });
});

describe("httpStatusError", () => {
  it("says the status and the vocabulary detail, and keeps what the upstream sent in the cause", () => {
    const cause = { status: 400, body: "you said: launch codes" };
    const err = httpStatusError(400, {}, { detail: "invalid_request_error", cause });
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("upstream returned HTTP 400 (invalid_request_error)");
    expect(err.errorClass).toBe("invalid_request");
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.cause).toBe(cause);
  });

  it("says only the status without a detail", () => {
    expect(httpStatusError(502, {}).message).toBe("upstream returned HTTP 502");
  });

  it("takes the class from the status unless the vendor names a more precise one", () => {
    expect(httpStatusError(503, {}).errorClass).toBe("overloaded");
    expect(httpStatusError(400, {}, { errorClass: "context_length" }).errorClass).toBe("context_length");
  });

  it("keeps retry-after for rate limits, overload and server errors only", () => {
    const headers = { "retry-after": "2" };
    expect(httpStatusError(429, headers).retryAfterMs).toBe(2000);
    expect(httpStatusError(503, { "retry-after-ms": "750" }).retryAfterMs).toBe(750);
    expect(httpStatusError(500, headers).retryAfterMs).toBe(2000);
    expect(httpStatusError(400, headers).retryAfterMs).toBeUndefined();
    expect(httpStatusError(401, headers).retryAfterMs).toBeUndefined();
  });
});

describe("headerValue", () => {
  it("reads the first of repeated values", () => {
    expect(headerValue({ "retry-after": ["3", "4"] }, "retry-after")).toBe("3");
    expect(headerValue({}, "retry-after")).toBeUndefined();
  });
});

describe("classifyTransportError messages", () => {
  it("names only Node and undici error codes, nothing else an error object carries", () => {
    const odd = Object.assign(new Error("tell me the launch codes"), { code: "tell me the launch codes" });
    const err = classifyTransportError(odd, "request", live);
    expect(err.message).toBe("could not reach upstream (network error)");
    expect(err.cause).toBe(odd);
  });

  it("reports an AbortSignal.timeout deadline as timeout", async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(classifyTransportError(new Error("aborted"), "body", signal).errorClass).toBe("timeout");
  });
});
