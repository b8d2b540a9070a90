import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parsePolicy } from "../../../src/config/load-policy.js";
import { createGeminiAdapter, geminiKind } from "../../../src/providers/gemini/adapter.js";
import {
  type GeminiAdapterSettings,
  geminiSettingsSchema,
} from "../../../src/providers/gemini/gemini-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import { providerKind } from "../../../src/providers/registry.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import { DEFAULT_REPLY, type FakeGemini, startFakeGemini } from "../../fakes/fake-gemini-server.js";
import { collect, thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

/** A 1×1 PNG. */
const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const PNG_URL = `data:image/png;base64,${PNG_BYTES.toString("base64")}`;

function settings(baseUrl: string, overrides: Partial<GeminiAdapterSettings> = {}): GeminiAdapterSettings {
  return {
    name: "fake-gemini",
    baseUrl,
    apiKey: "AIza-test-key",
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    schemaFormat: "openapi",
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "gemini-2.5-flash",
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

describe("geminiKind", () => {
  it("is registered as kind gemini, with api_key as its credential", () => {
    expect(providerKind("gemini")).toBe(geminiKind);
    expect(geminiKind.credentialKeys).toEqual(["api_key"]);
    expect(geminiKind.continuesAnswers({})).toBe(false);
  });

  it("defaults base_url to the public endpoint, up to the API version, and refuses unknown keys", () => {
    expect(geminiSettingsSchema.parse({ api_key: "k" })).toMatchObject({
      base_url: "https://generativelanguage.googleapis.com/v1beta",
      gemini: { schema_format: "openapi" },
    });
    expect(geminiSettingsSchema.safeParse({ api_key: "k", gemini: { schema: "x" } }).success).toBe(false);
    expect(
      geminiSettingsSchema.safeParse({ api_key: "k", gemini: { schema_format: "json_schema" } }).success,
    ).toBe(true);
  });
});

describe("a policy with a gemini provider", () => {
  const policy = `
providers:
  google:
    kind: gemini
    api_key: \${GEMINI_API_KEY}
    hosted: true
    region: us
    gemini: { schema_format: json_schema }
    models:
      gemini-2.5-flash: { input_usd_per_mtok: 0.30, output_usd_per_mtok: 2.50, context_window: 1048576 }
  local:
    kind: mock
    hosted: false
routes:
  - name: r
    match: { data_class: [public, customer_ok] }
    primary: { provider: google, model: gemini-2.5-flash }
    fallback: [{ provider: local, model: m }]
`;

  it("loads, with the default base_url and its own settings", () => {
    const google = parsePolicy(policy, { source: "t.yaml", env: { GEMINI_API_KEY: "AIza-k" } }).providers.get(
      "google",
    );
    expect(google?.disabledReason).toBeUndefined();
    expect(google?.settings).toMatchObject({
      base_url: "https://generativelanguage.googleapis.com/v1beta",
      api_key: "AIza-k",
      gemini: { schema_format: "json_schema" },
    });
  });

  it("leaves the provider out, not the policy, while its key is unset", () => {
    const parsed = parsePolicy(policy, { source: "t.yaml", env: {} });
    expect(parsed.providers.get("google")?.disabledReason).toBe("GEMINI_API_KEY is not set");
  });
});

describe("createGeminiAdapter", () => {
  let fake: FakeGemini;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeGemini({ apiKey: "AIza-test-key" });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });

  function connect(overrides: Partial<GeminiAdapterSettings> = {}): ProviderAdapter {
    adapter = createGeminiAdapter(settings(fake.url, overrides));
    return adapter;
  }

  describe("request", () => {
    it("posts to models/{model}:streamGenerateContent?alt=sse with the key in x-goog-api-key", async () => {
      const gemini = connect({ headers: { "x-goog-user-project": "p" } });
      await collect(gemini.stream(call({ maxTokens: 64, temperature: 0.2 })));

      const [request] = fake.requests;
      expect(request?.method).toBe("POST");
      expect(request?.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
      expect(request?.path).not.toContain("key=");
      expect(request?.headers["x-goog-api-key"]).toBe("AIza-test-key");
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.headers.accept).toBe("text/event-stream");
      expect(request?.headers["x-goog-user-project"]).toBe("p");
      expect(request?.body).toEqual({
        contents: [{ role: "user", parts: [{ text: "Say hello" }] }],
        generationConfig: { maxOutputTokens: 64, temperature: 0.2 },
      });
    });

    it("sends a user's inline image as an inlineData part whose base64 decodes to the image's bytes", async () => {
      const parts = await collect(
        connect().stream(
          call({ messages: [{ role: "user", content: "What is this?", images: [{ url: PNG_URL }] }] }),
        ),
      );
      expect(text(parts)).not.toBe("");
      const body = fake.requests[0]?.body as {
        contents: { parts: { inlineData?: { mimeType: string; data: string }; text?: string }[] }[];
      };
      const [image, question] = body.contents[0]?.parts ?? [];
      expect(image?.inlineData?.mimeType).toBe("image/png");
      expect(Buffer.from(image?.inlineData?.data ?? "", "base64").equals(PNG_BYTES)).toBe(true);
      expect(question).toEqual({ text: "What is this?" });
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

    it("uses a model's own resource name, and a base URL with a trailing slash", async () => {
      await collect(connect({ baseUrl: `${fake.url}/` }).stream(call({ model: "tunedModels/my-tune" })));
      expect(fake.requests[0]?.path).toBe("/v1beta/tunedModels/my-tune:streamGenerateContent?alt=sse");
    });
  });

  describe("failures before the stream starts", () => {
    it("rejects 429 as rate_limited, retryable, with retryAfterMs from RetryInfo", async () => {
      fake.script({ type: "error", status: 429, retryDelay: "7s" });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("rate_limited");
      expect(err.retryable).toBe(true);
      expect(err.retryAfterMs).toBe(7000);
      expect(err.status).toBe(429);
      expect(err.message).toBe("upstream returned HTTP 429 (RESOURCE_EXHAUSTED)");
    });

    it("prefers a retry-after header to RetryInfo", async () => {
      fake.script({ type: "error", status: 429, retryDelay: "7s", retryAfterSeconds: 2 });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).retryAfterMs).toBe(2000);
    });

    it("reads an error body wrapped in an array", async () => {
      fake.script({ type: "error", status: 503, wrapInArray: true });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("overloaded");
      expect(err.message).toBe("upstream returned HTTP 503 (UNAVAILABLE)");
    });

    it.each([
      [400, "invalid_request", false],
      [401, "auth", false],
      [403, "auth", false],
      [404, "invalid_request", false],
      [500, "server", true],
      [503, "overloaded", true],
      [504, "timeout", true],
    ] as const)("rejects HTTP %i as %s", async (status, errorClass, retryable) => {
      fake.script({ type: "error", status });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.status).toBe(status);
    });

    it("rejects a wrong key (Google's 400 API_KEY_INVALID) as auth, without the upstream message", async () => {
      const err = await thrownBy(collect(connect({ apiKey: "AIza-wrong" }).stream(call())), ProviderError);
      expect(err.errorClass).toBe("auth");
      expect(err.retryable).toBe(false);
      expect(err.message).toBe("upstream returned HTTP 400 (INVALID_ARGUMENT/API_KEY_INVALID)");
      expect(JSON.stringify(err.cause)).toContain("API key not valid");
    });

    it("rejects 400 FAILED_PRECONDITION (no free tier where the call came from) as auth", async () => {
      fake.script({
        type: "error",
        status: 400,
        error: { status: "FAILED_PRECONDITION", message: "User location is not supported for the API use." },
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("auth");
    });

    it("rejects a 400 about the token limit as context_length", async () => {
      fake.script({
        type: "error",
        status: 400,
        error: {
          message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
        },
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("context_length");
      expect(err.retryable).toBe(false);
    });

    it("rejects a blocked prompt as content_refused", async () => {
      fake.script({ type: "blocked", blockReason: "SAFETY" });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("content_refused");
      expect(err.retryable).toBe(false);
      expect(err.message).toBe("upstream refused the prompt (block reason SAFETY)");
    });

    it("ends an answer withheld for SAFETY before any text with content_filter", async () => {
      fake.script({ type: "reply", content: [], finishReason: "SAFETY" });
      expect((await collect(connect().stream(call()))).at(-1)).toMatchObject({
        type: "response-end",
        finishReason: "content_filter",
      });
    });

    it("rejects a 200 that is neither an event stream nor JSON as protocol", async () => {
      fake.script({
        type: "raw",
        contentType: "text/html",
        body: "<html><body>Gateway says hi</body></html>",
      });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.message).not.toContain("Gateway");
    });

    it("reads a 200 without a content type as the event stream asked for", async () => {
      fake.script({ type: "raw", contentType: "", body: fixture("text.sse") });
      expect(text(await collect(connect().stream(call())))).toBe("Héllo 👋 世界!");
    });

    it("rejects an unreachable server as connect", async () => {
      const port = await closedPort();
      adapter = createGeminiAdapter(settings(`http://127.0.0.1:${port}/v1beta`));
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

  describe("stream", () => {
    it("streams text, then usage and one response-end", async () => {
      fake.script({
        type: "reply",
        content: ["Hel", "lo", " wor", "ld"],
        usage: { promptTokenCount: 3, candidatesTokenCount: 4 },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Hel" },
        { type: "text-delta", delta: "lo" },
        { type: "text-delta", delta: " wor" },
        { type: "text-delta", delta: "ld" },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 4 } },
        { type: "response-end", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 4 } },
      ]);
    });

    it("reports cached input tokens and counts thinking as output, without streaming the thoughts", async () => {
      fake.script({
        type: "reply",
        thoughts: ["Let me think about greetings."],
        content: ["Hi"],
        usage: {
          promptTokenCount: 100,
          candidatesTokenCount: 1,
          thoughtsTokenCount: 20,
          cachedContentTokenCount: 80,
        },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Hi" },
        { type: "usage", usage: { inputTokens: 100, outputTokens: 21, cachedInputTokens: 80 } },
        {
          type: "response-end",
          finishReason: "stop",
          usage: { inputTokens: 100, outputTokens: 21, cachedInputTokens: 80 },
        },
      ]);
    });

    it("streams without usage when Google sends none", async () => {
      fake.script({ type: "reply", content: ["ok"], usage: null });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "ok" },
        { type: "response-end", finishReason: "stop" },
      ]);
    });

    it("sends tools, and streams each function call whole with a synthesized id", async () => {
      fake.script({
        type: "reply",
        responseId: "resp-1",
        functionCalls: [
          { name: "lookup", args: { q: "x" } },
          { name: "now", id: "fc-2" },
        ],
      });
      const parts = await collect(
        connect().stream(
          call({
            tools: [
              {
                name: "lookup",
                description: "Look up",
                parameters: {
                  type: "object",
                  properties: { q: { type: "string" } },
                  additionalProperties: false,
                },
              },
            ],
          }),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        tools: [
          {
            functionDeclarations: [
              {
                name: "lookup",
                description: "Look up",
                parameters: { type: "OBJECT", properties: { q: { type: "STRING" } } },
              },
            ],
          },
        ],
      });
      expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
        {
          type: "tool-call-delta",
          index: 0,
          id: "call_resp-1_0",
          name: "lookup",
          argumentsDelta: '{"q":"x"}',
        },
        { type: "tool-call-delta", index: 1, id: "fc-2", name: "now", argumentsDelta: "{}" },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("sends the tool results of a replayed turn named after its calls", async () => {
      await collect(
        connect().stream(
          call({
            messages: [
              { role: "user", content: "Time?" },
              {
                role: "assistant",
                content: "",
                toolCalls: [{ id: "call_resp-1_0", name: "now", arguments: "{}" }],
              },
              { role: "tool", toolCallId: "call_resp-1_0", content: "12:00" },
            ],
          }),
        ),
      );
      expect((fake.requests[0]?.body as { contents: unknown[] } | undefined)?.contents.slice(1)).toEqual([
        {
          role: "model",
          parts: [
            { functionCall: { name: "now", args: {} }, thoughtSignature: "skip_thought_signature_validator" },
          ],
        },
        { role: "user", parts: [{ functionResponse: { name: "now", response: { output: "12:00" } } }] },
      ]);
    });

    it("reassembles frames split every few bytes, inside multi-byte characters", async () => {
      const content = ["Grüße", " 👋🏽", " 日本語", " ok"];
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
        body.indexOf("ü") + 1,
      ];
      fake.script({ type: "raw", contentType: "text/event-stream", body, splitAt });
      const parts = await collect(connect().stream(call()));
      const end = parts.at(-1);
      if (name === "text.sse") {
        expect(text(parts)).toBe("Héllo 👋 世界!");
        expect(end).toEqual({
          type: "response-end",
          finishReason: "stop",
          usage: { inputTokens: 11, outputTokens: 31, cachedInputTokens: 4 },
        });
      } else {
        expect(end).toMatchObject({
          finishReason: "tool_calls",
          usage: { inputTokens: 64, outputTokens: 58 },
        });
      }
    });

    it("rejects a stream that ends without a finish reason as protocol, after the text it got", async () => {
      fake.script({ type: "reply", content: ["a", "b"], finishReason: null });
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

    it("ends an answer cut by a filter after text with content_filter", async () => {
      fake.script({ type: "reply", content: ["some ", "text"], finishReason: "RECITATION" });
      const parts = await collect(connect().stream(call()));
      expect(text(parts)).toBe("some text");
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "content_filter" });
    });

    it("ends at MAX_TOKENS with length", async () => {
      fake.script({ type: "reply", content: ["cut"], finishReason: "MAX_TOKENS" });
      expect((await collect(connect().stream(call()))).at(-1)).toMatchObject({ finishReason: "length" });
    });

    it("rejects a connection reset mid-stream as server", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], dropAfterTokens: 1 });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it("rejects an error event mid-stream with its class", async () => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: { code: 503, status: "UNAVAILABLE", message: "overloaded" } },
      });
      const seen: StreamPart[] = [];
      const err = await thrownBy(
        (async () => {
          for await (const part of connect().stream(call())) seen.push(part);
        })(),
        ProviderError,
      );
      expect(err.errorClass).toBe("overloaded");
      expect(err.message).toBe("upstream reported an error (UNAVAILABLE)");
      expect(text(seen)).toBe("a");
    });

    it("replays a whole JSON answer (a GenerateContentResponse) as stream parts", async () => {
      fake.script({
        type: "raw",
        contentType: "application/json; charset=UTF-8",
        body: JSON.stringify(
          {
            candidates: [
              {
                content: {
                  parts: [{ text: "whole " }, { functionCall: { name: "f", args: { a: 1 } } }],
                  role: "model",
                },
                finishReason: "STOP",
                index: 0,
              },
            ],
            usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
          },
          null,
          2,
        ),
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "whole " },
        { type: "tool-call-delta", index: 0, id: "call_0", name: "f", argumentsDelta: '{"a":1}' },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 2 } },
        { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 3, outputTokens: 2 } },
      ]);
    });

    it("rejects a Google error answered with 200 by its class", async () => {
      fake.script({
        type: "raw",
        contentType: "application/json",
        body: JSON.stringify([{ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } }]),
      });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe(
        "rate_limited",
      );
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
      expect(await thrownBy(iterator.next(), ProviderError)).toBe(budget);
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
      const gemini = connect();
      expect(text(await collect(gemini.stream(call())))).toBe(DEFAULT_REPLY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(text(await collect(gemini.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
    });
  });

  describe("error messages carry no upstream text", () => {
    const prompt = call({ messages: [{ role: "user", content: "project_nightingale acme_merger" }] });
    const echoed = { message: "you asked about project_nightingale", status: "project_nightingale" };

    it("in an HTTP error", async () => {
      fake.script({ type: "error", status: 400, error: echoed });
      const err = await thrownBy(collect(connect().stream(prompt)), ProviderError);
      expect(err.message).toBe("upstream returned HTTP 400 (unrecognised status)");
      expect(JSON.stringify(err.cause)).toContain("project_nightingale");
    });

    it("in an error event mid-stream", async () => {
      fake.script({ type: "reply", content: ["a", "b"], errorAfterTokens: { tokens: 1, error: echoed } });
      const err = await thrownBy(collect(connect().stream(prompt)), ProviderError);
      expect(err.message).toBe("upstream reported an error (unrecognised status)");
    });
  });

  describe("close", () => {
    it("aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const gemini = connect();
      const iterator = gemini.stream(call())[Symbol.asyncIterator]();
      await iterator.next();
      await gemini.close();
      expect((await thrownBy(iterator.next(), ProviderError)).errorClass).toBe("cancelled");
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect((await thrownBy(collect(gemini.stream(call())), ProviderError)).errorClass).toBe("cancelled");
    });
  });
});
