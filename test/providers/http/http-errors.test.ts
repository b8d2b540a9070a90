import { describe, expect, it } from "vitest";
import {
  classifyTransportError,
  errorClassForStatus,
  headerValue,
  httpStatusError,
  parseGoDuration,
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
    expect(parseRetryAfterMs({ "retry-after": "1.1" }, now)).toBe(1100);
  });

  it("reads retry-after as an HTTP date, never negative", () => {
    expect(parseRetryAfterMs({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfterMs({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }, now)).toBe(0);
  });

  it("returns undefined when absent or unreadable", () => {
    expect(parseRetryAfterMs({}, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after-ms": "-5" }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after-ms": "12abc" }, now)).toBeUndefined();
  });

  it("falls through an unreadable form to the next one", () => {
    expect(parseRetryAfterMs({ "retry-after-ms": "soon", "retry-after": "3" }, now)).toBe(3000);
    expect(parseRetryAfterMs({ "retry-after": "soon", "x-ratelimit-reset-tokens": "2s" }, now)).toBe(2000);
    expect(
      parseRetryAfterMs(
        { "x-ratelimit-reset-tokens": "soon", "anthropic-ratelimit-tokens-reset": "2025-01-01T00:00:04Z" },
        now,
      ),
    ).toBe(4000);
  });

  it("treats a wait of more than 24 hours as unreadable", () => {
    expect(parseRetryAfterMs({ "retry-after-ms": "86400000" }, now)).toBe(86_400_000);
    expect(parseRetryAfterMs({ "retry-after-ms": "86400001", "retry-after": "5" }, now)).toBe(5000);
    expect(parseRetryAfterMs({ "retry-after": "86401" }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "retry-after": "Thu, 02 Jan 2025 00:00:01 GMT" }, now)).toBeUndefined();
    expect(parseRetryAfterMs({ "x-ratelimit-reset-tokens": "25h" }, now)).toBeUndefined();
    expect(
      parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "2025-01-02T00:00:01Z" }, now),
    ).toBeUndefined();
  });

  it("prefers retry-after to the rate-limit reset headers, and OpenAI's resets to Anthropic's", () => {
    const resets = {
      "x-ratelimit-reset-tokens": "1m0s",
      "anthropic-ratelimit-tokens-reset": "2025-01-01T00:02:00Z",
    };
    expect(parseRetryAfterMs({ ...resets, "retry-after": "7" }, now)).toBe(7000);
    expect(parseRetryAfterMs(resets, now)).toBe(60_000);
  });

  describe("OpenAI's x-ratelimit-reset-* (Go durations until the limit is full again)", () => {
    it("reads the reset of the limit whose remaining count is 0", () => {
      const resets = { "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s" };
      expect(parseRetryAfterMs({ ...resets, "x-ratelimit-remaining-requests": "0" }, now)).toBe(1000);
      expect(
        parseRetryAfterMs(
          { ...resets, "x-ratelimit-remaining-requests": "59", "x-ratelimit-remaining-tokens": "0" },
          now,
        ),
      ).toBe(360_000);
    });

    it("takes the later reset when both limits are spent, since the earlier would meet the other", () => {
      const headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-requests": "20ms",
        "x-ratelimit-reset-tokens": "1.5s",
      };
      expect(parseRetryAfterMs(headers, now)).toBe(1500);
    });

    it("takes the later reset when no remaining count reads 0", () => {
      const resets = { "x-ratelimit-reset-requests": "120ms", "x-ratelimit-reset-tokens": "0.5s" };
      expect(parseRetryAfterMs(resets, now)).toBe(500);
      expect(parseRetryAfterMs({ ...resets, "x-ratelimit-remaining-requests": "n/a" }, now)).toBe(500);
      expect(
        parseRetryAfterMs(
          { ...resets, "x-ratelimit-remaining-requests": "3", "x-ratelimit-remaining-tokens": "120" },
          now,
        ),
      ).toBe(500);
    });

    it("uses whichever reset reads when only one does", () => {
      expect(parseRetryAfterMs({ "x-ratelimit-reset-requests": "1h2m3.5s" }, now)).toBe(3_723_500);
      expect(
        parseRetryAfterMs({ "x-ratelimit-reset-requests": "garbage", "x-ratelimit-reset-tokens": "2s" }, now),
      ).toBe(2000);
    });

    it("does not stand in another limit's reset for a spent limit whose reset is unreadable", () => {
      const headers = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "-1s",
        "x-ratelimit-reset-tokens": "2s",
      };
      expect(parseRetryAfterMs(headers, now)).toBeUndefined();
    });
  });

  describe("Anthropic's anthropic-ratelimit-*-reset (RFC 3339 times when the limit is full again)", () => {
    const resets = {
      "anthropic-ratelimit-requests-reset": "2025-01-01T00:00:01Z",
      "anthropic-ratelimit-tokens-reset": "2025-01-01T00:00:20Z",
      "anthropic-ratelimit-input-tokens-reset": "2025-01-01T00:00:20Z",
      "anthropic-ratelimit-output-tokens-reset": "2025-01-01T00:00:45.500Z",
    };

    it("reads the reset of the limit whose remaining count is 0, relative to now", () => {
      expect(parseRetryAfterMs({ ...resets, "anthropic-ratelimit-requests-remaining": "0" }, now)).toBe(1000);
      expect(
        parseRetryAfterMs(
          {
            ...resets,
            "anthropic-ratelimit-requests-remaining": "49",
            "anthropic-ratelimit-input-tokens-remaining": "0",
          },
          now,
        ),
      ).toBe(20_000);
    });

    it("takes the latest reset among the spent limits", () => {
      const headers = {
        ...resets,
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-remaining": "0",
      };
      expect(parseRetryAfterMs(headers, now)).toBe(45_500);
    });

    it("takes the latest reset when no remaining count reads 0", () => {
      expect(parseRetryAfterMs(resets, now)).toBe(45_500);
    });

    it("reads a time with an offset, and a time in the past as 0", () => {
      expect(
        parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "2025-01-01T01:00:30+01:00" }, now),
      ).toBe(30_000);
      expect(parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "2024-12-31T23:59:00Z" }, now)).toBe(0);
    });

    it("ignores resets that are not RFC 3339 times", () => {
      expect(parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "soon" }, now)).toBeUndefined();
      expect(parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "5" }, now)).toBeUndefined();
      expect(
        parseRetryAfterMs({ "anthropic-ratelimit-tokens-reset": "Wed, 01 Jan 2025 00:00:30 GMT" }, now),
      ).toBeUndefined();
    });
  });
});

describe("parseGoDuration", () => {
  it.each([
    ["0", 0],
    ["1s", 1000],
    ["6m0s", 360_000],
    ["20ms", 20],
    ["120ms", 120],
    ["0.5s", 500],
    ["7.66s", 7660],
    ["1h2m3.5s", 3_723_500],
    ["2m59.56s", 179_560],
  ] as const)("reads %s as %i ms", (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it("rounds a fraction of a millisecond up", () => {
    expect(parseGoDuration("500us")).toBe(1);
    expect(parseGoDuration("1ms500µs")).toBe(2);
    expect(parseGoDuration("1ns")).toBe(0);
  });

  it.each(["", "soon", "5", "-1s", "+1s", "1.5.5s", "1d", "1 s", "s", "1sx"])("does not read %j", (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
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
