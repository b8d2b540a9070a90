import { describe, expect, it } from "vitest";
import {
  classifyOllamaHttpError,
  classifyOllamaStreamError,
  ollamaErrorText,
} from "../../../src/providers/ollama/ollama-errors.js";

const body = (error: string) => JSON.stringify({ error });

describe("classifyOllamaHttpError", () => {
  it.each([
    [400, body("invalid options"), "invalid_request", false, "upstream returned HTTP 400"],
    [
      404,
      body("model 'llama9' not found"),
      "invalid_request",
      false,
      "upstream returned HTTP 404 (model not found)",
    ],
    [
      400,
      body('"gemma:2b" does not support tools'),
      "invalid_request",
      false,
      "upstream returned HTTP 400 (model does not support tools)",
    ],
    [
      400,
      body("the input length exceeds the context length"),
      "context_length",
      false,
      "upstream returned HTTP 400 (context length exceeded)",
    ],
    [
      500,
      body("input after truncation exceeds maximum context length"),
      "context_length",
      false,
      "upstream returned HTTP 500 (context length exceeded)",
    ],
    [
      500,
      body("llama runner process has terminated: exit status 2"),
      "server",
      true,
      "upstream returned HTTP 500",
    ],
    [502, body("remote model is unavailable"), "server", true, "upstream returned HTTP 502"],
    [
      503,
      body("server busy, please try again.  maximum pending requests exceeded"),
      "overloaded",
      true,
      "upstream returned HTTP 503",
    ],
    [401, body("unauthorized"), "auth", false, "upstream returned HTTP 401 (unauthorized)"],
    [429, body("too many requests"), "rate_limited", true, "upstream returned HTTP 429"],
    [502, "<html>bad gateway</html>", "server", true, "upstream returned HTTP 502"],
  ] as const)("HTTP %i %s is %s", (status, text, errorClass, retryable, message) => {
    const err = classifyOllamaHttpError(status, {}, text);
    expect(err.errorClass).toBe(errorClass);
    expect(err.retryable).toBe(retryable);
    expect(err.status).toBe(status);
    expect(err.message).toBe(message);
    expect(err.cause).toEqual({ status, body: text });
  });

  it("keeps retry-after on 429", () => {
    expect(classifyOllamaHttpError(429, { "retry-after": "3" }, body("too many requests")).retryAfterMs).toBe(
      3000,
    );
  });

  it("never puts the upstream's text in the message", () => {
    const err = classifyOllamaHttpError(404, {}, body("model 'project_nightingale' not found"));
    expect(err.message).not.toContain("project_nightingale");
  });
});

describe("classifyOllamaStreamError", () => {
  it("classifies an error line as server, or context_length when it says so", () => {
    const crash = classifyOllamaStreamError({ error: "an error was encountered while running the model" });
    expect(crash.errorClass).toBe("server");
    expect(crash.retryable).toBe(true);
    expect(crash.message).toBe("upstream reported an error");
    expect(
      classifyOllamaStreamError({ error: "the prompt is longer than the context length" }).errorClass,
    ).toBe("context_length");
  });

  it("is a protocol error for something that is not an error body", () => {
    expect(classifyOllamaStreamError({ foo: 1 }).errorClass).toBe("protocol");
  });
});

describe("ollamaErrorText", () => {
  it("reads Ollama's string and an OpenAI-style object", () => {
    expect(ollamaErrorText({ error: "boom" })).toBe("boom");
    expect(ollamaErrorText({ error: { message: "boom" } })).toBe("boom");
    expect(ollamaErrorText({ done: true })).toBeUndefined();
  });
});
