/**
 * Azure OpenAI, OpenRouter and Mistral as configurations of the OpenAI-compatible adapter, each
 * quirk shown against the fake OpenAI server over a real socket.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  chatCompletionsUrl,
  createOpenAiAdapter,
  openAiCompatibleKind,
} from "../../../src/providers/openai/adapter.js";
import type { OpenAiAdapterSettings } from "../../../src/providers/openai/openai-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import { type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { collect, thrownBy } from "../../helpers/async.js";

function settings(baseUrl: string, overrides: Partial<OpenAiAdapterSettings> = {}): OpenAiAdapterSettings {
  return {
    name: "quirky",
    baseUrl,
    apiKey: "key-123",
    maxTokensField: "max_tokens",
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "gpt-4o-prod",
    messages: [{ role: "user", content: "Say hello" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}

const text = (parts: StreamPart[]) => parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join("");
const sse = (...payloads: (object | string)[]) =>
  payloads.map((p) => (typeof p === "string" ? `${p}\n\n` : `data: ${JSON.stringify(p)}\n\n`)).join("");

describe("chatCompletionsUrl", () => {
  it("appends chat/completions, or builds Azure's deployment and v1 URLs", () => {
    expect(chatCompletionsUrl("https://api.openai.com/v1/", "gpt-4o")).toBe(
      "https://api.openai.com/v1/chat/completions",
    );
    expect(chatCompletionsUrl("https://r.openai.azure.com/", "prod gpt", { apiVersion: "2024-10-21" })).toBe(
      "https://r.openai.azure.com/openai/deployments/prod%20gpt/chat/completions?api-version=2024-10-21",
    );
    expect(chatCompletionsUrl("https://r.openai.azure.com", "gpt-4o", { apiVersion: "v1" })).toBe(
      "https://r.openai.azure.com/openai/v1/chat/completions",
    );
  });
});

describe("openai-compatible settings", () => {
  const parse = (openai: unknown) =>
    openAiCompatibleKind.settingsSchema.parse({ base_url: "https://r.openai.azure.com", openai });

  it("takes openai.azure with a default api_version, and openai.stream_usage", () => {
    expect(parse({ azure: {} })).toMatchObject({
      openai: { azure: { api_version: "2024-10-21" }, stream_usage: true },
    });
    expect(parse({ azure: { api_version: "v1" }, stream_usage: false })).toMatchObject({
      openai: { azure: { api_version: "v1" }, stream_usage: false },
    });
    expect(parse({})).not.toHaveProperty("openai.azure");
  });

  it("refuses an api_version that is neither v1 nor a date version, and unknown azure keys", () => {
    expect(() => parse({ azure: { api_version: "latest" } })).toThrow();
    expect(() => parse({ azure: { deployment: "x" } })).toThrow();
  });
});

describe("Azure OpenAI (openai.azure)", () => {
  let fake: FakeOpenAi;
  let adapter: ProviderAdapter;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ azure: { apiKey: "azure-key" } });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });
  const connect = (overrides: Partial<OpenAiAdapterSettings> = {}) => {
    adapter = createOpenAiAdapter(
      settings(fake.url, { apiKey: "azure-key", azure: { apiVersion: "2024-10-21" }, ...overrides }),
    );
    return adapter;
  };

  it("posts to the target model's deployment with api-version, the key in api-key, no bearer", async () => {
    fake.script({ type: "reply", content: ["Hel", "lo"], usage: { prompt_tokens: 9, completion_tokens: 2 } });
    const parts = await collect(connect().stream(call()));
    const [request] = fake.requests;
    expect(request?.path).toBe("/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21");
    expect(request?.headers["api-key"]).toBe("azure-key");
    expect(request?.headers.authorization).toBeUndefined();
    // The prompt_filter_results chunk (no choices) and the content_filter_results are read past.
    expect(parts).toEqual([
      { type: "text-delta", delta: "Hel" },
      { type: "text-delta", delta: "lo" },
      { type: "usage", usage: { inputTokens: 9, outputTokens: 2 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 9, outputTokens: 2 } },
    ]);
  });

  it("posts to Azure's v1 API with api_version v1", async () => {
    await collect(connect({ azure: { apiVersion: "v1" } }).stream(call()));
    expect(fake.requests[0]?.path).toBe("/openai/v1/chat/completions");
    expect(fake.requests[0]?.body).toMatchObject({ model: "gpt-4o-prod" });
  });

  it('rejects a wrong key (Azure\'s 401 body, code "401") as auth', async () => {
    const err = await thrownBy(collect(connect({ apiKey: "wrong" }).stream(call())), ProviderError);
    expect(err.errorClass).toBe("auth");
    expect(err.message).toBe("upstream returned HTTP 401 (401)");
  });

  it("rejects a prompt its content filter blocked (400 content_filter) as content_refused, not retryable", async () => {
    fake.script({
      type: "error",
      status: 400,
      // https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter
      body: {
        error: {
          message:
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
          type: null,
          param: "prompt",
          code: "content_filter",
          status: 400,
          innererror: {
            code: "ResponsibleAIPolicyViolation",
            content_filter_result: { violence: { filtered: true, severity: "high" } },
          },
        },
      },
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("content_refused");
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("upstream returned HTTP 400 (content_filter/ResponsibleAIPolicyViolation)");
  });

  it("takes ResponsibleAIPolicyViolation in innererror as a refusal whatever the outer code", async () => {
    fake.script({
      type: "error",
      status: 400,
      body: {
        error: { code: "invalid_request_error", innererror: { code: "ResponsibleAIPolicyViolation" } },
      },
    });
    expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe(
      "content_refused",
    );
  });

  it("ends a stream its output filter cut with finish_reason content_filter", async () => {
    fake.script({ type: "reply", content: ["Once", " upon"], finishReason: "content_filter" });
    const parts = await collect(connect().stream(call()));
    expect(text(parts)).toBe("Once upon");
    expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "content_filter" });
  });

  it("rejects a missing deployment (404 DeploymentNotFound) as invalid_request", async () => {
    fake.script({
      type: "error",
      status: 404,
      body: {
        error: {
          code: "DeploymentNotFound",
          message: "The API deployment for this resource does not exist.",
        },
      },
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("invalid_request");
    expect(err.message).toBe("upstream returned HTTP 404 (DeploymentNotFound)");
  });

  it("rejects 429 as rate_limited, waiting what retry-after-ms says", async () => {
    fake.script({
      type: "error",
      status: 429,
      retryAfterSeconds: 2,
      retryAfterMs: 1500,
      body: {
        error: {
          code: "429",
          message: "Requests to the ChatCompletions_Create Operation have exceeded the token rate limit.",
        },
      },
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("rate_limited");
    expect(err.retryAfterMs).toBe(1500);
  });
});

describe("OpenRouter", () => {
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
  const connect = () => {
    // Its attribution headers are plain `headers:` in the policy.
    // https://openrouter.ai/docs/api-reference/overview#headers
    adapter = createOpenAiAdapter(
      settings(fake.url, {
        headers: { "HTTP-Referer": "https://switchyard.example", "X-Title": "Switchyard" },
      }),
    );
    return adapter;
  };

  it("sends HTTP-Referer and X-Title from headers, and reads past ': OPENROUTER PROCESSING' comments", async () => {
    fake.script({
      type: "reply",
      content: ["Hi", "!"],
      comments: [": OPENROUTER PROCESSING", ": OPENROUTER PROCESSING"],
      splitEvery: 7,
    });
    const parts = await collect(connect().stream(call({ model: "anthropic/claude-sonnet-4" })));
    expect(fake.requests[0]?.headers["http-referer"]).toBe("https://switchyard.example");
    expect(fake.requests[0]?.headers["x-title"]).toBe("Switchyard");
    expect(text(parts)).toBe("Hi!");
    expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
  });

  it("rejects a mid-stream error chunk (error object beside finish_reason error) by its code", async () => {
    // https://openrouter.ai/docs/api-reference/streaming#handling-errors-during-streaming
    fake.script({
      type: "raw",
      contentType: "text/event-stream",
      body: sse(
        ": OPENROUTER PROCESSING",
        {
          id: "gen-1",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content: "Par" }, finish_reason: null }],
        },
        {
          id: "gen-1",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          provider: "openai",
          error: { code: "server_error", message: "Provider disconnected unexpectedly" },
          choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
        },
      ),
    });
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of connect().stream(call())) seen.push(part);
      })(),
      ProviderError,
    );
    expect(text(seen)).toBe("Par");
    expect(err.errorClass).toBe("server");
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain("disconnected");
  });

  it("rejects a numeric mid-stream error (502 provider_unavailable) as server", async () => {
    fake.script({
      type: "raw",
      contentType: "text/event-stream",
      body: sse({
        error: {
          code: 502,
          message: "Network connection lost.",
          metadata: { error_type: "provider_unavailable" },
        },
      }),
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("server");
    expect(err.message).toBe("upstream reported an error (502)");
  });

  it("rejects input its moderation flagged (403 with metadata.reasons) as content_refused, not auth", async () => {
    fake.script({
      type: "error",
      status: 403,
      body: {
        error: {
          code: 403,
          message:
            'anthropic/claude-sonnet-4 requires moderation on OpenRouter. Your input was flagged for "violence".',
          metadata: { reasons: ["violence"], flagged_input: "…", provider_name: "OpenAI", model_slug: "m" },
        },
      },
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("content_refused");
    expect(err.message).toBe("upstream returned HTTP 403 (403/moderation)");
  });
});

describe("Mistral (openai.stream_usage: false)", () => {
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
  const connect = () => {
    adapter = createOpenAiAdapter(settings(fake.url, { streamUsage: false }));
    return adapter;
  };
  const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
    id: "cmpl-e5cc70bb28c444948073e77776eb30ef",
    object: "chat.completion.chunk",
    created: 1702256327,
    model: "mistral-small-latest",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });

  it("sends max_tokens and no stream_options, and reads the usage Mistral puts in its last chunk unasked", async () => {
    // Mistral refuses stream_options: 422 extra_forbidden (see the next test).
    fake.script({
      type: "raw",
      contentType: "text/event-stream",
      body: sse(
        chunk({ role: "assistant", content: "" }, null),
        chunk({ content: "Bonjour" }, null),
        chunk({ content: "" }, "stop", {
          usage: { prompt_tokens: 10, total_tokens: 13, completion_tokens: 3 },
        }),
        "data: [DONE]",
      ),
    });
    const parts = await collect(connect().stream(call({ model: "mistral-small-latest", maxTokens: 50 })));
    expect(fake.requests[0]?.body).toMatchObject({ max_tokens: 50 });
    expect(fake.requests[0]?.body).not.toHaveProperty("stream_options");
    expect(fake.requests[0]?.body).not.toHaveProperty("max_completion_tokens");
    expect(parts.at(-1)).toEqual({
      type: "response-end",
      finishReason: "stop",
      usage: { inputTokens: 10, outputTokens: 3 },
    });
  });

  it("classifies its 422 validation error (message an object) as invalid_request", async () => {
    fake.script({
      type: "error",
      status: 422,
      body: {
        object: "error",
        message: {
          detail: [
            {
              type: "extra_forbidden",
              loc: ["body", "stream_options"],
              msg: "Extra inputs are not permitted",
              input: { include_usage: true },
            },
          ],
        },
        type: "invalid_request_message_error",
        param: null,
        code: null,
      },
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("invalid_request");
    expect(err.message).toBe("upstream returned HTTP 422 (invalid_request_message_error)");
  });

  it("maps finish_reason model_length to length", async () => {
    fake.script({
      type: "raw",
      contentType: "text/event-stream",
      body: sse(chunk({ content: "a" }, null), chunk({ content: "" }, "model_length"), "data: [DONE]"),
    });
    expect((await collect(connect().stream(call()))).at(-1)).toMatchObject({ finishReason: "length" });
  });

  it("rejects finish_reason error as a server failure, not an ending", async () => {
    fake.script({
      type: "raw",
      contentType: "text/event-stream",
      body: sse(chunk({ content: "a" }, null), chunk({ content: "" }, "error"), "data: [DONE]"),
    });
    const err = await thrownBy(collect(connect().stream(call())), ProviderError);
    expect(err.errorClass).toBe("server");
    expect(err.retryable).toBe(true);
  });
});

describe("OpenAI prompt caching", () => {
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

  it.each([true, false])(
    "reads prompt_tokens_details.cached_tokens into cachedInputTokens (stream: %s)",
    async (stream) => {
      fake.script({
        type: "reply",
        content: "ok",
        stream,
        usage: { prompt_tokens: 2048, completion_tokens: 5, cached_tokens: 1920 },
      });
      adapter = createOpenAiAdapter(settings(fake.url));
      expect((await collect(adapter.stream(call()))).at(-1)).toEqual({
        type: "response-end",
        finishReason: "stop",
        usage: { inputTokens: 2048, outputTokens: 5, cachedInputTokens: 1920 },
      });
    },
  );
});
