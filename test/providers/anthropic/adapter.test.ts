import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { anthropicKind, createAnthropicAdapter } from "../../../src/providers/anthropic/adapter.js";
import type { AnthropicAdapterSettings } from "../../../src/providers/anthropic/anthropic-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import { providerKind } from "../../../src/providers/registry.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import { DEFAULT_REPLY, type FakeAnthropic, startFakeAnthropic } from "../../fakes/fake-anthropic-server.js";
import { collect, thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url));

/** A 1×1 PNG. */
const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const PNG_URL = `data:image/png;base64,${PNG_BYTES.toString("base64")}`;

function settings(
  baseUrl: string,
  overrides: Partial<AnthropicAdapterSettings> = {},
): AnthropicAdapterSettings {
  return {
    name: "fake-anthropic",
    baseUrl,
    apiKey: "sk-ant-test-key",
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "claude-sonnet-4-5",
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

describe("anthropicKind", () => {
  it("is registered, takes the host as base_url by default and leaves out a provider without a key", () => {
    expect(providerKind("anthropic")).toBe(anthropicKind);
    expect(anthropicKind.credentialKeys).toEqual(["api_key"]);
    expect(anthropicKind.settingsSchema.parse({ api_key: "k" })).toMatchObject({
      base_url: "https://api.anthropic.com",
      anthropic: { version: "2023-06-01", max_tokens_default: 4096, json_mode: "tool" },
    });
    expect(() => anthropicKind.settingsSchema.parse({ anthropic: { versoin: "x" } })).toThrow();
    expect(() => anthropicKind.settingsSchema.parse({ anthropic: { max_tokens_default: 0 } })).toThrow();
  });
});

describe("createAnthropicAdapter", () => {
  let fake: FakeAnthropic;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-ant-test-key" });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });

  function connect(overrides: Partial<AnthropicAdapterSettings> = {}): ProviderAdapter {
    adapter = createAnthropicAdapter(settings(fake.url, overrides));
    return adapter;
  }

  describe("request", () => {
    it("posts a streaming Messages request to /v1/messages with x-api-key and anthropic-version", async () => {
      await collect(
        connect({ headers: { "anthropic-beta": "prompt-caching-2024-07-31" } }).stream(
          call({
            messages: [
              { role: "system", content: "Be brief." },
              { role: "user", content: "Say hello" },
            ],
            temperature: 0.2,
            stop: ["END"],
          }),
        ),
      );
      const [request] = fake.requests;
      expect(request?.method).toBe("POST");
      expect(request?.path).toBe("/v1/messages");
      expect(request?.headers["x-api-key"]).toBe("sk-ant-test-key");
      expect(request?.headers["anthropic-version"]).toBe("2023-06-01");
      expect(request?.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.headers.accept).toBe("text/event-stream");
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.body).toEqual({
        model: "claude-sonnet-4-5",
        max_tokens: 4096,
        system: "Be brief.",
        messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
        temperature: 0.2,
        stop_sequences: ["END"],
        stream: true,
      });
    });

    it("sends a user's images as image blocks before the text: inline bytes as base64, a URL as is", async () => {
      await collect(
        connect().stream(
          call({
            messages: [
              {
                role: "user",
                content: "What differs?",
                images: [{ url: PNG_URL }, { url: "https://example.com/b.png" }],
              },
            ],
          }),
        ),
      );
      const body = fake.requests[0]?.body as {
        messages: {
          content: { type: string; source?: { type: string; media_type?: string; data?: string } }[];
        }[];
      };
      const [inline, byUrl, question] = body.messages[0]?.content ?? [];
      expect(inline).toMatchObject({ type: "image", source: { type: "base64", media_type: "image/png" } });
      expect(Buffer.from(inline?.source?.data ?? "", "base64").equals(PNG_BYTES)).toBe(true);
      expect(byUrl).toEqual({ type: "image", source: { type: "url", url: "https://example.com/b.png" } });
      expect(question).toEqual({ type: "text", text: "What differs?" });
    });

    it("sends the configured version and default max_tokens, the call's max tokens first", async () => {
      const claude = connect({ version: "2024-01-01", maxTokensDefault: 321 });
      await collect(claude.stream(call()));
      await collect(claude.stream(call({ maxTokens: 12 })));
      expect(fake.requests[0]?.headers["anthropic-version"]).toBe("2024-01-01");
      expect(fake.requests[0]?.body).toMatchObject({ max_tokens: 321 });
      expect(fake.requests[1]?.body).toMatchObject({ max_tokens: 12 });
    });

    it("appends /v1/messages to a base_url with a trailing slash", async () => {
      await collect(connect().stream(call()));
      adapter = createAnthropicAdapter(settings(`${fake.url}/`));
      await collect(adapter.stream(call()));
      expect(fake.requests.map((r) => r.path)).toEqual(["/v1/messages", "/v1/messages"]);
    });
  });

  describe("stream", () => {
    it("streams text, usage with cache counts, and one response-end", async () => {
      fake.script({
        type: "reply",
        content: ["Hel", "lo"],
        usage: {
          input_tokens: 5,
          cache_read_input_tokens: 1000,
          cache_creation_input_tokens: 20,
          output_tokens: 2,
        },
      });
      const usage = {
        inputTokens: 1025,
        outputTokens: 2,
        cachedInputTokens: 1000,
        cacheWriteInputTokens: 20,
      };
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Hel" },
        { type: "text-delta", delta: "lo" },
        { type: "usage", usage },
        { type: "response-end", finishReason: "stop", usage },
      ]);
    });

    it("sends tools and streams tool calls with id and name on the first piece", async () => {
      fake.script({ type: "reply", toolUses: [{ id: "toolu_9", name: "lookup", input: ['{"q":', '"x"}'] }] });
      const parts = await collect(
        connect().stream(
          call({ tools: [{ name: "lookup", description: "Look up", parameters: { type: "object" } }] }),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        tools: [{ name: "lookup", description: "Look up", input_schema: { type: "object" } }],
      });
      expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
        { type: "tool-call-delta", index: 0, id: "toolu_9", name: "lookup", argumentsDelta: "" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"q":' },
        { type: "tool-call-delta", index: 0, argumentsDelta: '"x"}' },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("answers JSON mode through the forced tool, as text", async () => {
      fake.script({ type: "reply", toolUses: [{ name: "json_answer", input: { city: "Paris" } }] });
      const parts = await collect(connect().stream(call({ responseFormat: { type: "json_object" } })));
      expect(fake.requests[0]?.body).toMatchObject({ tool_choice: { type: "tool", name: "json_answer" } });
      expect(JSON.parse(text(parts))).toEqual({ city: "Paris" });
      expect(parts.some((p) => p.type === "tool-call-delta")).toBe(false);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "stop" });
    });

    it.each([
      ["max_tokens", "length"],
      ["refusal", "content_filter"],
      ["stop_sequence", "stop"],
      ["pause_turn", "stop"],
    ])("maps stop_reason %s to %s", async (stopReason, finishReason) => {
      fake.script({ type: "reply", content: ["a"], stopReason, stopSequence: "END" });
      expect((await collect(connect().stream(call()))).at(-1)).toMatchObject({
        type: "response-end",
        finishReason,
      });
    });

    it("reassembles events split every 3 bytes, inside multi-byte characters", async () => {
      const content = ["Grüße", " 👋🏽", " 日本語", " ok"];
      fake.script({ type: "reply", content, splitEvery: 3 });
      const parts = await collect(connect().stream(call()));
      expect(text(parts)).toBe(content.join(""));
      expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
    });

    it.each(["text.sse", "tool-call.sse"])(
      "replays the recorded %s split at odd offsets over a socket",
      async (name) => {
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
        if (name === "text.sse") {
          expect(text(parts)).toBe("Héllo 👋 世界!");
          expect(end).toMatchObject({ type: "response-end", finishReason: "stop" });
        } else
          expect(end).toMatchObject({
            type: "response-end",
            finishReason: "tool_calls",
            usage: { inputTokens: 2520, outputTokens: 89, cachedInputTokens: 2048 },
          });
      },
    );

    it("replays a whole Message answered to a stream request, tool calls as one piece each", async () => {
      fake.script({
        type: "reply",
        stream: false,
        content: "Checking.",
        toolUses: [{ id: "toolu_1", name: "get_weather", input: { city: "Paris" } }],
        usage: { input_tokens: 3, output_tokens: 2 },
      });
      const usage = { inputTokens: 3, outputTokens: 2, cachedInputTokens: 0, cacheWriteInputTokens: 0 };
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Checking." },
        {
          type: "tool-call-delta",
          index: 0,
          id: "toolu_1",
          name: "get_weather",
          argumentsDelta: '{"city":"Paris"}',
        },
        { type: "usage", usage },
        { type: "response-end", finishReason: "tool_calls", usage },
      ]);
    });

    it("rejects a stream that ends without message_stop as protocol, after the text it got", async () => {
      fake.script({ type: "reply", content: ["a", "b"], omitStop: true });
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
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it.each([
      ["overloaded_error", "overloaded", true],
      ["api_error", "server", true],
      ["rate_limit_error", "rate_limited", true],
      ["invalid_request_error", "invalid_request", false],
    ])("rejects an %s event mid-stream as %s", async (type, errorClass, retryable) => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: { type, message: "x" } },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.message).toBe(`upstream reported an error (${type})`);
    });

    it("aborts mid-stream: rejects as cancelled and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: ["one", " two", " three"], hangAfterTokens: 2 });
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
      const request = fake.requests[0];
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("closes the upstream connection when the consumer stops reading early", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], hangAfterTokens: 2 });
      for await (const part of connect().stream(call())) if (part.type === "text-delta") break;
      const request = fake.requests[0];
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("reuses one keep-alive connection for sequential streams", async () => {
      const claude = connect();
      expect(text(await collect(claude.stream(call())))).toBe(DEFAULT_REPLY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(text(await collect(claude.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
    });
  });

  describe("failures before the stream starts", () => {
    it("rejects 429 as rate_limited with retryAfterMs from retry-after", async () => {
      fake.script({ type: "error", status: 429, retryAfterSeconds: 7 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err).toMatchObject({
        errorClass: "rate_limited",
        retryable: true,
        retryAfterMs: 7000,
        status: 429,
      });
      expect(err.message).toBe("upstream returned HTTP 429 (rate_limit_error)");
    });

    it("rejects 429 without retry-after with the wait from the spent limit's reset header", async () => {
      const resetAt = new Date(Date.now() + 30_000);
      fake.script({
        type: "error",
        status: 429,
        retryAfterSeconds: null,
        exhausted: { limit: "output-tokens", resetAt },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("rate_limited");
      expect(err.retryAfterMs).toBeGreaterThan(25_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
    });

    it.each([
      [400, undefined, "invalid_request", false],
      [401, undefined, "auth", false],
      [402, undefined, "auth", false],
      [403, undefined, "auth", false],
      [404, undefined, "invalid_request", false],
      [413, undefined, "context_length", false],
      [500, undefined, "server", true],
      [504, undefined, "timeout", true],
      [529, undefined, "overloaded", true],
      [400, "prompt is too long: 210012 tokens > 200000 maximum", "context_length", false],
    ] as const)("rejects HTTP %i (%s) as %s", async (status, message, errorClass, retryable) => {
      fake.script({ type: "error", status, ...(message && { error: { message } }) });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err).toMatchObject({ errorClass, retryable, status });
      if (message) expect(err.message).not.toContain("too long");
    });

    it("rejects a wrong key as auth, without the upstream message", async () => {
      const err = await thrownBy(collect(connect({ apiKey: "sk-ant-wrong" }).stream(call())), ProviderError);
      expect(err.errorClass).toBe("auth");
      expect(err.message).toBe("upstream returned HTTP 401 (authentication_error)");
      expect(JSON.stringify(err.cause)).toContain("invalid x-api-key");
    });

    it("keeps words an upstream echoed in its error fields out of the message", async () => {
      fake.script({
        type: "error",
        status: 400,
        error: { type: "project_nightingale", message: "acme merger" },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.message).toBe("upstream returned HTTP 400 (unrecognised error type)");
    });

    it("rejects a 200 that is neither an event stream nor JSON as protocol", async () => {
      fake.script({ type: "raw", contentType: "text/html", body: "<html>Gateway says hi</html>" });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.message).not.toContain("Gateway");
    });

    it("rejects an error body answered with 200 by its class", async () => {
      fake.script({
        type: "raw",
        body: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe(
        "overloaded",
      );
    });

    it("rejects an unreachable server as connect", async () => {
      adapter = createAnthropicAdapter(settings(`http://127.0.0.1:${await closedPort()}`));
      expect((await thrownBy(collect(adapter.stream(call())), ProviderError)).errorClass).toBe("connect");
    });

    it("aborts while waiting for a slow first byte, and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
      const controller = new AbortController();
      const pending = collect(connect().stream(call({ signal: controller.signal })));
      const [request] = await fake.waitForRequests(1);
      controller.abort();
      expect((await thrownBy(pending, ProviderError)).errorClass).toBe("cancelled");
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("rejects tool call arguments that are not an object as invalid_request, without a request", async () => {
      const err = await thrownBy(
        collect(
          connect().stream(
            call({
              messages: [
                { role: "assistant", content: "", toolCalls: [{ id: "t", name: "f", arguments: "7" }] },
              ],
            }),
          ),
        ),
        ProviderError,
      );
      expect(err.errorClass).toBe("invalid_request");
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe("close", () => {
    it("aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const claude = connect();
      const iterator = claude.stream(call())[Symbol.asyncIterator]();
      await iterator.next();
      await claude.close();
      expect((await thrownBy(iterator.next(), ProviderError)).errorClass).toBe("cancelled");
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect((await thrownBy(collect(claude.stream(call())), ProviderError)).errorClass).toBe("cancelled");
    });
  });
});
