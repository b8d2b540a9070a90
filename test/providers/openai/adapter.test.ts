import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOpenAiAdapter } from "../../../src/providers/openai/adapter.js";
import type { OpenAiAdapterSettings } from "../../../src/providers/openai/openai-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import { DEFAULT_REPLY, type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { collect, thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url));

function settings(baseUrl: string, overrides: Partial<OpenAiAdapterSettings> = {}): OpenAiAdapterSettings {
  return {
    name: "fake-openai",
    baseUrl,
    apiKey: "sk-test-key",
    maxTokensField: "max_tokens",
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "Say hello" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}

function text(parts: StreamPart[]): string {
  return parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join("");
}

describe("createOpenAiAdapter", () => {
  let fake: FakeOpenAi;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });

  function connect(overrides: Partial<OpenAiAdapterSettings> = {}): ProviderAdapter {
    adapter = createOpenAiAdapter(settings(fake.url, overrides));
    return adapter;
  }

  it("refuses settings without a baseUrl", () => {
    expect(() => createOpenAiAdapter(settings("", {}))).toThrow(/baseUrl/);
  });

  describe("request", () => {
    it("posts a streaming chat-completions request with the provider's headers", async () => {
      const openai = connect({ headers: { "HTTP-Referer": "https://switchyard.test" } });
      await collect(openai.stream(call({ maxTokens: 64, temperature: 0.2 })));

      const [request] = fake.requests;
      expect(request?.method).toBe("POST");
      expect(request?.path).toBe("/v1/chat/completions");
      expect(request?.headers.authorization).toBe("Bearer sk-test-key");
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.headers.accept).toBe("text/event-stream");
      expect(request?.headers["http-referer"]).toBe("https://switchyard.test");
      expect(request?.body).toEqual({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Say hello" }],
        max_tokens: 64,
        temperature: 0.2,
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it("sends the cap as max_completion_tokens when the provider is configured so", async () => {
      await collect(connect({ maxTokensField: "max_completion_tokens" }).stream(call({ maxTokens: 64 })));
      expect(fake.requests[0]?.body).toMatchObject({ max_completion_tokens: 64 });
      expect(fake.requests[0]?.body).not.toHaveProperty("max_tokens");
    });

    it("sends no authorization header when the provider has no key", async () => {
      await collect(connect({ apiKey: undefined }).stream(call()));
      expect(fake.requests[0]?.headers.authorization).toBeUndefined();
    });
  });

  describe("failures before the stream starts", () => {
    it("rejects 429 as rate_limited, retryable, with retryAfterMs from retry-after", async () => {
      fake.script({ type: "error", status: 429, retryAfterSeconds: 7 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("rate_limited");
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(7000);
      expect(err.status).toBe(429);
      expect(err.message).not.toContain("Rate limit reached");
    });

    it("prefers retry-after-ms", async () => {
      fake.script({ type: "error", status: 429, retryAfterSeconds: 7, retryAfterMs: 1234 });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).retryAfterMs).toBe(1234);
    });

    it.each([
      [500, "server", true],
      [503, "overloaded", true],
      [404, "invalid_request", false],
    ] as const)("rejects HTTP %i as %s", async (status, errorClass, retryable) => {
      fake.script({ type: "error", status });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.status).toBe(status);
    });

    it("rejects 401 as auth, not retryable, without the upstream message", async () => {
      fake.script({ type: "error", status: 401 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("auth");
      expect(err.retryable).toBe(false);
      expect(err.message).toBe("upstream returned HTTP 401 (invalid_request_error/invalid_api_key)");
      expect(JSON.stringify(err.cause)).toContain("Incorrect API key");
    });

    it("rejects 400 context_length_exceeded as context_length", async () => {
      fake.script({
        type: "error",
        status: 400,
        error: {
          message:
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens.",
          param: "messages",
          code: "context_length_exceeded",
        },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("context_length");
      expect(err.retryable).toBe(false);
    });

    it("rejects a 200 that is neither an event stream nor JSON as protocol", async () => {
      fake.script({
        type: "raw",
        contentType: "text/html",
        body: "<html><body>Gateway says hi</body></html>",
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.retryable).toBe(true);
      expect(err.message).not.toContain("Gateway");
    });

    it("rejects a 200 with JSON of the wrong shape as protocol", async () => {
      fake.script({ type: "raw", body: JSON.stringify({ result: "hello" }) });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("protocol");
    });

    it("rejects an unreachable server as connect", async () => {
      const port = await closedPort();
      adapter = createOpenAiAdapter(settings(`http://127.0.0.1:${port}/v1`));
      const err = await thrownBy(collect(adapter.stream(call())), ProviderError);
      expect(err.errorClass).toBe("connect");
      expect(err.retryable).toBe(true);
    });

    it("aborts while waiting for a slow first byte, and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
      const controller = new AbortController();
      const pending = collect(connect().stream(call({ signal: controller.signal })));
      const [request] = await fake.waitForRequests(1);
      controller.abort();
      const err = await thrownBy(pending, ProviderError);
      expect(err.errorClass).toBe("cancelled");
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });
  });

  describe("stream", () => {
    it("fails a stream that breaks its protocol without leaving an error nobody handles (it would end the process)", async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.prependListener("uncaughtException", onUncaught);
      try {
        fake.script({
          type: "raw",
          contentType: "text/event-stream",
          body: 'data: {"foo":1}\n\ndata: [DONE]\n\n',
        });
        const error = await thrownBy(collect(connect().stream(call())), ProviderError);
        expect(error.errorClass).toBe("protocol");
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(uncaught).toEqual([]);
      } finally {
        process.off("uncaughtException", onUncaught);
      }
    });

    it("streams text, usage and one response-end", async () => {
      fake.script({ type: "reply", content: ["Hel", "lo", " wor", "ld"] });
      const parts = await collect(connect().stream(call()));

      expect(parts).toEqual([
        { type: "text-delta", delta: "Hel" },
        { type: "text-delta", delta: "lo" },
        { type: "text-delta", delta: " wor" },
        { type: "text-delta", delta: "ld" },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 4 } },
        { type: "response-end", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 4 } },
      ]);
    });

    it("sends tools and streams tool calls with id and name on the first piece", async () => {
      fake.script({
        type: "reply",
        toolCalls: [{ id: "call_9", name: "lookup", arguments: ['{"q":', '"x"}'] }],
      });
      const parts = await collect(
        connect().stream(
          call({ tools: [{ name: "lookup", description: "Look up", parameters: { type: "object" } }] }),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        tools: [{ type: "function", function: { name: "lookup" } }],
      });
      expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
        { type: "tool-call-delta", index: 0, id: "call_9", name: "lookup", argumentsDelta: "" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"q":' },
        { type: "tool-call-delta", index: 0, argumentsDelta: '"x"}' },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("reassembles frames split at awkward byte boundaries, inside multi-byte characters", async () => {
      const content = ["Grüße", " 👋🏽", " 日本語", " ok"];
      const bytes = Buffer.from(content.join(""), "utf8");
      expect(bytes.length).toBeGreaterThan(0);
      fake.script({ type: "reply", content, splitEvery: 3 });
      const parts = await collect(connect().stream(call()));
      expect(text(parts)).toBe(content.join(""));
      expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
    });

    it.each(["text.sse", "tool-call.sse"])("replays the recorded %s split at odd offsets", async (name) => {
      const body = fixture(name);
      const splitAt = [
        1,
        2,
        5,
        6,
        7,
        131,
        300,
        301,
        302,
        303,
        777,
        body.indexOf("👋") + 1,
        body.indexOf("世") + 2,
      ];
      fake.script({ type: "raw", contentType: "text/event-stream; charset=utf-8", body, splitAt });
      const parts = await collect(connect().stream(call()));
      const end = parts.at(-1);
      expect(end?.type).toBe("response-end");
      if (name === "text.sse") expect(text(parts)).toBe("Héllo 👋 世界!");
      else
        expect(end).toMatchObject({
          finishReason: "tool_calls",
          usage: { inputTokens: 82, outputTokens: 36 },
        });
    });

    it("rejects a stream that ends without [DONE] as protocol, after the text it got", async () => {
      fake.script({ type: "reply", content: ["a", "b"], omitDone: true });
      const seen: StreamPart[] = [];
      const err = await thrownBy(
        (async () => {
          for await (const part of connect().stream(call())) seen.push(part);
        })(),
        ProviderError,
      );
      expect(err.errorClass).toBe("protocol");
      expect(err.retryable).toBe(true);
      expect(text(seen)).toBe("ab");
      expect(seen.some((p) => p.type === "response-end")).toBe(false);
    });

    it("rejects a connection reset mid-stream as server", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], dropAfterTokens: 1 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("server");
    });

    it("rejects an error frame mid-stream with its class", async () => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: { type: "requests", code: "rate_limit_exceeded" } },
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe(
        "rate_limited",
      );
    });

    it("rejects 429 before the stream starts as rate_limited with retryAfterMs", async () => {
      fake.script({ type: "error", status: 429, retryAfterSeconds: 3 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("rate_limited");
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(3000);
    });

    it("replays a plain JSON answer to a stream request as stream parts", async () => {
      fake.script({
        type: "reply",
        content: "whole answer",
        stream: false,
        usage: { prompt_tokens: 3, completion_tokens: 2 },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "whole answer" },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 2 } },
        { type: "response-end", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 2 } },
      ]);
    });

    it("replays a plain JSON answer without usage with no usage at all", async () => {
      fake.script({ type: "reply", content: "whole answer", stream: false, usage: null });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "whole answer" },
        { type: "response-end", finishReason: "stop" },
      ]);
    });

    it("streams an answer whose usage cannot be trusted, without usage", async () => {
      const frame = (body: object) => `data: ${JSON.stringify(body)}\n\n`;
      fake.script({
        type: "raw",
        contentType: "text/event-stream",
        body:
          frame({ choices: [{ index: 0, delta: { content: "ok" }, finish_reason: "stop" }] }) +
          frame({ choices: [], usage: { prompt_tokens: -1, completion_tokens: 0.5, total_tokens: "x" } }) +
          "data: [DONE]\n\n",
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "ok" },
        { type: "response-end", finishReason: "stop" },
      ]);
    });

    it("rejects a stream of unrecognised chunks ended by [DONE] as protocol", async () => {
      fake.script({
        type: "raw",
        contentType: "text/event-stream",
        body: 'data: {"foo":1}\n\ndata: {"id":"x","choices":[]}\n\ndata: [DONE]\n\n',
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.retryable).toBe(true);
    });

    it("accepts an empty answer that says why it stopped", async () => {
      fake.script({ type: "reply", content: [], finishReason: "length", usage: null });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "response-end", finishReason: "length" },
      ]);
    });

    it("replays a plain JSON answer with tool calls", async () => {
      fake.script({
        type: "reply",
        stream: false,
        toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
      });
      const parts = await collect(connect().stream(call()));
      expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
        {
          type: "tool-call-delta",
          index: 0,
          id: "call_1",
          name: "get_weather",
          argumentsDelta: '{"city":"Paris"}',
        },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("rejects a JSON error envelope answered with 200 by its class", async () => {
      fake.script({
        type: "raw",
        body: JSON.stringify({ error: { message: "Provider returned error", code: 502 } }),
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it("aborts mid-stream: rejects as cancelled and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: ["one", " two", " three", " four"], hangAfterTokens: 2 });
      const controller = new AbortController();
      const iterator = connect()
        .stream(call({ signal: controller.signal }))
        [Symbol.asyncIterator]();
      expect(await iterator.next()).toEqual({ done: false, value: { type: "text-delta", delta: "one" } });
      expect(await iterator.next()).toEqual({ done: false, value: { type: "text-delta", delta: " two" } });

      const next = iterator.next();
      controller.abort();
      const err = await thrownBy(next, ProviderError);
      expect(err.errorClass).toBe("cancelled");
      expect(err.retryable).toBe(false);

      const request = fake.requests[0];
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("keeps the class of a ProviderError abort reason (budget timeout)", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const controller = new AbortController();
      const budget = new ProviderError("timeout", "token gap budget exceeded");
      const iterator = connect()
        .stream(call({ signal: controller.signal }))
        [Symbol.asyncIterator]();
      await iterator.next();
      setTimeout(() => controller.abort(budget), 20);
      const err = await thrownBy(iterator.next(), ProviderError);
      expect(err).toBe(budget);
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
    });

    it("closes the upstream connection when the consumer stops reading early", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], hangAfterTokens: 2 });
      for await (const part of connect().stream(call())) {
        if (part.type === "text-delta") break;
      }
      const request = fake.requests[0];
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("reuses one keep-alive connection for sequential streams", async () => {
      const openai = connect();
      expect(text(await collect(openai.stream(call())))).toBe(DEFAULT_REPLY);
      await undiciReuseDelay();
      expect(text(await collect(openai.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
      expect(fake.requests[0]?.connectionId).toBe(fake.requests[1]?.connectionId);
    });

    it("keeps the connection when the consumer stops at the end marker", async () => {
      // The end of the HTTP body comes 100 ms after [DONE], as from a server that flushes late.
      fake.script({
        type: "handler",
        handle(_request, response) {
          const chunk = (delta: object, finish: string | null) =>
            `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
          response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
          response.write(`${chunk({ content: "done" }, null)}${chunk({}, "stop")}data: [DONE]\n\n`);
          setTimeout(() => response.end(), 100);
        },
      });
      const openai = connect();
      for await (const part of openai.stream(call())) if (part.type === "response-end") break;
      // The body's last bytes drain in the background; then the socket goes back to the pool.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(text(await collect(openai.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
      expect(fake.requests[0]?.closedBeforeResponseEnd).toBe(false);
    });

    it("rejects immediately when the signal is already aborted, without a request", async () => {
      const controller = new AbortController();
      controller.abort();
      const err = await thrownBy(
        collect(connect().stream(call({ signal: controller.signal }))),
        ProviderError,
      );
      expect(err.errorClass).toBe("cancelled");
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe("error messages carry no upstream text", () => {
    // Words of the prompt, echoed back by an upstream in the fields of its error body.
    const echoed = {
      message: "you asked about project_nightingale",
      type: "project_nightingale",
      code: "acme_merger",
    };
    const prompt = call({ messages: [{ role: "user", content: "project_nightingale acme_merger" }] });

    it("in an HTTP error", async () => {
      fake.script({ type: "error", status: 400, error: echoed });
      const err = await thrownBy(collect(connect().stream(prompt)), ProviderError);
      expect(err.message).toBe(
        "upstream returned HTTP 400 (unrecognised error type/unrecognised error code)",
      );
      expect(JSON.stringify(err.cause)).toContain("project_nightingale");
    });

    it("in an error event mid-stream", async () => {
      fake.script({ type: "reply", content: ["a", "b"], errorAfterTokens: { tokens: 1, error: echoed } });
      const err = await thrownBy(collect(connect().stream(prompt)), ProviderError);
      expect(err.message).toBe(
        "upstream reported an error (unrecognised error type/unrecognised error code)",
      );
    });

    it("in an error envelope answered with 200", async () => {
      fake.script({ type: "raw", body: JSON.stringify({ error: echoed }) });
      const err = await thrownBy(collect(connect().stream(prompt)), ProviderError);
      expect(err.message).toBe(
        "upstream reported an error (unrecognised error type/unrecognised error code)",
      );
    });
  });

  describe("close", () => {
    it("aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const openai = connect();
      const iterator = openai.stream(call())[Symbol.asyncIterator]();
      await iterator.next();
      await openai.close();
      expect((await thrownBy(iterator.next(), ProviderError)).errorClass).toBe("cancelled");
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect((await thrownBy(collect(openai.stream(call())), ProviderError)).errorClass).toBe("cancelled");
    });
  });
});

/**
 * undici hands a socket back to the pool one event-loop turn after a response completes (so a
 * server that closes despite keep-alive is noticed first); a call made in that same turn would
 * open a second connection.
 */
function undiciReuseDelay(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
