import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createOllamaAdapter, ollamaKind } from "../../../src/providers/ollama/adapter.js";
import type { OllamaAdapterSettings } from "../../../src/providers/ollama/ollama-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import { DEFAULT_REPLY, type FakeOllama, startFakeOllama } from "../../fakes/fake-ollama-server.js";
import { collect, thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/ollama/${name}`, import.meta.url));

/** A 1×1 PNG. */
const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const PNG_URL = `data:image/png;base64,${PNG_BYTES.toString("base64")}`;

function settings(baseUrl: string, overrides: Partial<OllamaAdapterSettings> = {}): OllamaAdapterSettings {
  return {
    name: "fake-ollama",
    baseUrl,
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "llama3.2",
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

describe("createOllamaAdapter", () => {
  let fake: FakeOllama;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeOllama({ models: ["llama3.2", "qwen3"] });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });

  function connect(overrides: Partial<OllamaAdapterSettings> = {}): ProviderAdapter {
    let n = 0;
    adapter = createOllamaAdapter(settings(fake.url, overrides), { newToolCallId: () => `gen_${n++}` });
    return adapter;
  }

  it("refuses settings without a baseUrl", () => {
    expect(() => createOllamaAdapter(settings(""))).toThrow(/baseUrl/);
  });

  it("is registered as kind ollama with its settings parsed from the policy keys", () => {
    const parsed = ollamaKind.settingsSchema.parse({
      base_url: "http://localhost:11434",
      ollama: { num_ctx: 8192, keep_alive: "10m" },
    });
    expect(parsed).toMatchObject({
      base_url: "http://localhost:11434",
      ollama: { num_ctx: 8192, keep_alive: "10m" },
    });
    expect(() =>
      ollamaKind.settingsSchema.parse({ base_url: "http://x", ollama: { num_ctxx: 1 } }),
    ).toThrow();
    expect(() =>
      ollamaKind.settingsSchema.parse({ base_url: "http://x", ollama: { keep_alive: "forever" } }),
    ).toThrow();
    expect(ollamaKind.credentialKeys).toEqual(["api_key"]);
  });

  describe("request", () => {
    it("posts a streaming /api/chat request with options, num_ctx and keep_alive", async () => {
      await collect(
        connect({ numCtx: 4096, keepAlive: "10m" }).stream(
          call({ maxTokens: 64, temperature: 0.2, stop: ["END"] }),
        ),
      );
      const [request] = fake.requests;
      expect(request?.method).toBe("POST");
      expect(request?.path).toBe("/api/chat");
      expect(request?.headers.accept).toBe("application/x-ndjson");
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.body).toEqual({
        model: "llama3.2",
        messages: [{ role: "user", content: "Say hello" }],
        stream: true,
        options: { num_predict: 64, temperature: 0.2, stop: ["END"], num_ctx: 4096 },
        keep_alive: "10m",
      });
    });

    it("sends a user's inline image in the message's images, bare base64 that decodes to the image", async () => {
      await collect(
        connect().stream(
          call({ messages: [{ role: "user", content: "What is this?", images: [{ url: PNG_URL }] }] }),
        ),
      );
      const body = fake.requests[0]?.body as { messages: { content: string; images?: string[] }[] };
      const [message] = body.messages;
      expect(message?.content).toBe("What is this?");
      expect(message?.images).toHaveLength(1);
      expect(message?.images?.[0]).not.toMatch(/^data:/);
      expect(Buffer.from(message?.images?.[0] ?? "", "base64").equals(PNG_BYTES)).toBe(true);
    });

    it("sends nothing for an image by URL, refusing it as invalid_request the next target may take", async () => {
      const err = await thrownBy(
        collect(
          connect().stream(
            call({
              messages: [{ role: "user", content: "Hi", images: [{ url: "https://example.com/a.png" }] }],
            }),
          ),
        ),
        ProviderError,
      );
      expect(err).toMatchObject({ errorClass: "invalid_request", retryable: true });
      expect(fake.requests).toHaveLength(0);
    });

    it("sends the api key as a bearer token (ollama.com)", async () => {
      const keyed = await startFakeOllama({ apiKey: "ok-key" });
      try {
        adapter = createOllamaAdapter(settings(keyed.url, { apiKey: "ok-key" }));
        expect(text(await collect(adapter.stream(call())))).toBe(DEFAULT_REPLY);
        expect(keyed.requests[0]?.headers.authorization).toBe("Bearer ok-key");
      } finally {
        await keyed.close();
      }
    });
  });

  describe("stream", () => {
    it("streams text, usage and one response-end", async () => {
      fake.script({
        type: "reply",
        content: ["Hel", "lo", " wor", "ld"],
        usage: { prompt_eval_count: 26, eval_count: 4 },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Hel" },
        { type: "text-delta", delta: "lo" },
        { type: "text-delta", delta: " wor" },
        { type: "text-delta", delta: "ld" },
        { type: "usage", usage: { inputTokens: 26, outputTokens: 4 } },
        { type: "response-end", finishReason: "stop", usage: { inputTokens: 26, outputTokens: 4 } },
      ]);
    });

    it("maps done_reason length", async () => {
      fake.script({ type: "reply", content: ["a"], doneReason: "length" });
      expect((await collect(connect().stream(call()))).at(-1)).toMatchObject({ finishReason: "length" });
    });

    it("ends without usage when the server reports no metrics", async () => {
      fake.script({ type: "reply", content: ["a"], usage: null });
      expect((await collect(connect().stream(call()))).at(-1)).toEqual({
        type: "response-end",
        finishReason: "stop",
      });
    });

    it("streams tool calls whole, ids kept or made up, and finishes with tool_calls", async () => {
      fake.script({
        type: "reply",
        thinking: ["Let me", " check"],
        toolCalls: [
          { id: "call_abcd1234", name: "get_weather", arguments: { city: "Tokyo" } },
          { name: "get_time", arguments: {} },
        ],
      });
      const parts = await collect(
        connect().stream(
          call({ tools: [{ name: "get_weather", description: "Weather", parameters: { type: "object" } }] }),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        tools: [{ type: "function", function: { name: "get_weather" } }],
      });
      expect(parts.filter((p) => p.type !== "usage" && p.type !== "response-end")).toEqual([
        {
          type: "tool-call-delta",
          index: 0,
          id: "call_abcd1234",
          name: "get_weather",
          argumentsDelta: '{"city":"Tokyo"}',
        },
        { type: "tool-call-delta", index: 1, id: "gen_0", name: "get_time", argumentsDelta: "{}" },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("maps a whole JSON answer (a server that ignores stream: true), tool calls included", async () => {
      fake.script({
        type: "reply",
        stream: false,
        content: "whole answer",
        toolCalls: [{ name: "lookup", arguments: { q: "x" } }],
        usage: { prompt_eval_count: 3, eval_count: 2 },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "whole answer" },
        { type: "tool-call-delta", index: 0, id: "gen_0", name: "lookup", argumentsDelta: '{"q":"x"}' },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 2 } },
        { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 3, outputTokens: 2 } },
      ]);
    });

    it("reassembles lines split every 3 bytes, inside multi-byte characters", async () => {
      const content = ["Grüße", " 👋🏽", " 日本語", " ok"];
      fake.script({ type: "reply", content, splitEvery: 3 });
      const parts = await collect(connect().stream(call()));
      expect(text(parts)).toBe(content.join(""));
      expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
    });

    it("replays the recorded text.ndjson split at every byte offset over a real socket", async () => {
      const body = fixture("text.ndjson");
      for (let offset = 1; offset < body.length; offset += 1) {
        fake.script({ type: "raw", body, splitAt: [offset], pieceDelayMs: 0 });
      }
      const ollama = connect();
      for (let offset = 1; offset < body.length; offset += 1) {
        const parts = await collect(ollama.stream(call()));
        expect(text(parts)).toBe("Héllo 👋 世界!");
        expect(parts.at(-1)).toEqual({
          type: "response-end",
          finishReason: "stop",
          usage: { inputTokens: 11, outputTokens: 4 },
        });
      }
    }, 60_000);

    it("replays the recorded tool-call.ndjson split at odd offsets", async () => {
      const body = fixture("tool-call.ndjson");
      const splitAt = [1, 2, 7, 100, 101, 250, body.indexOf("ü") + 1, body.indexOf("…") + 2];
      fake.script({ type: "raw", body, splitAt });
      const parts = await collect(connect().stream(call()));
      expect(parts.filter((p) => p.type === "tool-call-delta")).toHaveLength(2);
      expect(parts.at(-1)).toMatchObject({
        finishReason: "tool_calls",
        usage: { inputTokens: 169, outputTokens: 15 },
      });
    });

    it("rejects a stream that ends without its done line as protocol, after the text it got", async () => {
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
    });

    it("rejects an error line mid-stream as server, without its text", async () => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: "CUDA error: out of memory" },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("server");
      expect(err.message).toBe("upstream reported an error");
      expect(JSON.stringify(err.cause)).toContain("out of memory");
    });

    it("rejects a context-length error line mid-stream as context_length", async () => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: "the input length exceeds the context length" },
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe(
        "context_length",
      );
    });

    it("rejects a connection reset mid-stream as server", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], dropAfterTokens: 1 });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it("rejects a 200 that is neither NDJSON nor JSON as protocol", async () => {
      fake.script({ type: "raw", contentType: "text/html", body: "<html>proxy says hi</html>" });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.message).not.toContain("proxy");
    });

    it("rejects a JSON error body answered with 200 by its class", async () => {
      fake.script({
        type: "raw",
        contentType: "application/json",
        body: '{"error":"model runner has unexpectedly stopped"}',
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it("reuses one keep-alive connection for sequential streams", async () => {
      const ollama = connect();
      expect(text(await collect(ollama.stream(call())))).toBe(DEFAULT_REPLY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(text(await collect(ollama.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
    });
  });

  describe("failures before the stream starts", () => {
    it("rejects a model the server does not have (404) as invalid_request, not retryable", async () => {
      const err = await thrownBy(collect(connect().stream(call({ model: "llama9" }))), ProviderError);
      expect(err.errorClass).toBe("invalid_request");
      expect(err.retryable).toBe(false);
      expect(err.status).toBe(404);
      expect(err.message).toBe("upstream returned HTTP 404 (model not found)");
    });

    it.each([
      [400, "invalid options", "invalid_request", false],
      [400, "the input length exceeds the context length", "context_length", false],
      [500, "llama runner process has terminated: exit status 2", "server", true],
      [502, "remote model is unavailable", "server", true],
      [503, "server busy, please try again.  maximum pending requests exceeded", "overloaded", true],
      [401, "unauthorized", "auth", false],
    ] as const)("rejects HTTP %i %s as %s", async (status, error, errorClass, retryable) => {
      fake.script({ type: "error", status, error });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.status).toBe(status);
      // The status and, at most, one of our own labels: never the upstream's words.
      expect(err.message).toMatch(
        /^upstream returned HTTP \d{3}(?: \((?:context length exceeded|unauthorized)\))?$/,
      );
    });

    it("rejects 429 as rate_limited with retryAfterMs from retry-after", async () => {
      fake.script({ type: "error", status: 429, retryAfterSeconds: 7 });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("rate_limited");
      expect(err.retryAfterMs).toBe(7000);
    });

    it("rejects an unreachable server as connect", async () => {
      const port = await closedPort();
      adapter = createOllamaAdapter(settings(`http://127.0.0.1:${port}`));
      const err = await thrownBy(collect(adapter.stream(call())), ProviderError);
      expect(err.errorClass).toBe("connect");
      expect(err.retryable).toBe(true);
    });

    it("aborts while the model loads (slow first byte), and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
      const controller = new AbortController();
      const pending = collect(connect().stream(call({ signal: controller.signal })));
      const [request] = await fake.waitForRequests(1);
      controller.abort();
      expect((await thrownBy(pending, ProviderError)).errorClass).toBe("cancelled");
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
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

  describe("cancellation", () => {
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

    it("close() aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const ollama = connect();
      const iterator = ollama.stream(call())[Symbol.asyncIterator]();
      await iterator.next();
      await ollama.close();
      expect((await thrownBy(iterator.next(), ProviderError)).errorClass).toBe("cancelled");
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect((await thrownBy(collect(ollama.stream(call())), ProviderError)).errorClass).toBe("cancelled");
    });
  });
});
