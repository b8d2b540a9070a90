import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bedrockKind, createBedrockAdapter, encodeModelId } from "../../../src/providers/bedrock/adapter.js";
import {
  type BedrockAdapterSettings,
  bedrockSettingsSchema,
  toBedrockAdapterSettings,
} from "../../../src/providers/bedrock/bedrock-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../../src/providers/types.js";
import {
  DEFAULT_REPLY,
  encodeEvent,
  type FakeBedrock,
  startFakeBedrock,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../../fakes/fake-bedrock-server.js";
import { collect, thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

const MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/** A 1×1 PNG. */
const PNG_BYTES = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);
const PNG_URL = `data:image/png;base64,${PNG_BYTES.toString("base64")}`;

function settings(baseUrl: string, overrides: Partial<BedrockAdapterSettings> = {}): BedrockAdapterSettings {
  return {
    name: "fake-bedrock",
    baseUrl,
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    region: TEST_REGION,
    credentials: { ...TEST_CREDENTIALS },
    ...overrides,
  };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: MODEL,
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

describe("bedrockKind settings", () => {
  it("parses a block with credentials, base_url optional", () => {
    const parsed = bedrockSettingsSchema.parse({
      access_key_id: "AKID",
      secret_access_key: "secret",
      session_token: "",
    });
    const adapterSettings = toBedrockAdapterSettings("aws", "eu-west-1", parsed);
    expect(adapterSettings.baseUrl).toBe("https://bedrock-runtime.eu-west-1.amazonaws.com");
    expect(adapterSettings.credentials).toEqual({ accessKeyId: "AKID", secretAccessKey: "secret" });
  });

  it("refuses unknown keys and a credential with a trailing newline", () => {
    expect(bedrockSettingsSchema.safeParse({ api_key: "x" }).success).toBe(false);
    expect(bedrockSettingsSchema.safeParse({ access_key_id: "AKID\n" }).success).toBe(false);
  });

  it("needs a region and both keys to build an adapter", () => {
    const parsed = bedrockSettingsSchema.parse({ access_key_id: "AKID", secret_access_key: "s" });
    expect(() => toBedrockAdapterSettings("aws", "", parsed)).toThrow(/region/);
    expect(() =>
      toBedrockAdapterSettings("aws", "us-east-1", bedrockSettingsSchema.parse({ access_key_id: "A" })),
    ).toThrow(/secret_access_key/);
  });

  it("lists the AWS credentials and region as credential keys (unset: provider left out)", () => {
    expect(bedrockKind.kind).toBe("bedrock");
    expect(bedrockKind.credentialKeys).toEqual(["access_key_id", "secret_access_key", "region"]);
  });

  it("encodes model ids and ARNs as a path segment, as the AWS SDKs do", () => {
    expect(encodeModelId(MODEL)).toBe("anthropic.claude-3-5-sonnet-20240620-v1%3A0");
    expect(
      encodeModelId(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
      ),
    ).toBe(
      "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0",
    );
  });
});

describe("createBedrockAdapter", () => {
  let fake: FakeBedrock;
  let adapter: ProviderAdapter;

  beforeAll(async () => {
    fake = await startFakeBedrock();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await adapter?.close();
    fake.reset();
  });

  function connect(overrides: Partial<BedrockAdapterSettings> = {}): ProviderAdapter {
    adapter = createBedrockAdapter(settings(fake.url, overrides));
    return adapter;
  }

  describe("request", () => {
    it("posts a SigV4-signed ConverseStream request to /model/{modelId}/converse-stream", async () => {
      const bedrock = connect({ headers: { "X-Team": "search" } });
      await collect(bedrock.stream(call({ maxTokens: 64, temperature: 0.2 })));
      const [request] = fake.requests;
      expect(request?.method).toBe("POST");
      expect(request?.path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream");
      expect(request?.modelId).toBe(MODEL);
      expect(request?.signature).toBe("valid");
      expect(request?.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-team, Signature=[0-9a-f]{64}$/,
      );
      expect(request?.headers.accept).toBe("application/vnd.amazon.eventstream");
      expect(request?.headers["content-type"]).toBe("application/json");
      expect(request?.body).toEqual({
        messages: [{ role: "user", content: [{ text: "Say hello" }] }],
        inferenceConfig: { maxTokens: 64, temperature: 0.2 },
      });
    });

    it("sends a user's inline image as an image block whose base64 bytes decode to the image, signed", async () => {
      await collect(
        connect().stream(
          call({ messages: [{ role: "user", content: "What is this?", images: [{ url: PNG_URL }] }] }),
        ),
      );
      const [request] = fake.requests;
      expect(request?.signature).toBe("valid");
      const body = request?.body as {
        messages: { content: { image?: { format: string; source: { bytes: string } }; text?: string }[] }[];
      };
      const [image, question] = body.messages[0]?.content ?? [];
      expect(image?.image?.format).toBe("png");
      expect(Buffer.from(image?.image?.source.bytes ?? "", "base64").equals(PNG_BYTES)).toBe(true);
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

    it("signs temporary credentials with their session token", async () => {
      const temporary = { ...TEST_CREDENTIALS, sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN" };
      const sts = await startFakeBedrock({ credentials: temporary });
      try {
        adapter = createBedrockAdapter(settings(sts.url, { credentials: temporary }));
        expect(text(await collect(adapter.stream(call())))).toBe(DEFAULT_REPLY);
        expect(sts.requests[0]?.signature).toBe("valid");
        expect(sts.requests[0]?.headers["x-amz-security-token"]).toBe(temporary.sessionToken);
      } finally {
        await sts.close();
      }
    });

    it("fails as auth when the fake refuses the signature (wrong secret)", async () => {
      const bedrock = connect({ credentials: { ...TEST_CREDENTIALS, secretAccessKey: "not-the-secret" } });
      const err = await thrownBy(collect(bedrock.stream(call())), ProviderError);
      expect(fake.requests[0]?.signature).toBe("mismatch");
      expect(err.errorClass).toBe("auth");
      expect(err.retryable).toBe(false);
      expect(err.message).toBe("upstream returned HTTP 403 (InvalidSignatureException)");
    });

    it("signs for the configured region (a wrong one is refused)", async () => {
      const err = await thrownBy(collect(connect({ region: "eu-west-1" }).stream(call())), ProviderError);
      expect(fake.requests[0]?.signature).toBe("wrong-scope");
      expect(err.errorClass).toBe("auth");
    });
  });

  describe("stream", () => {
    it("streams text, usage with cache reads and writes, and one response-end", async () => {
      fake.script({
        type: "reply",
        content: ["Hel", "lo", " wor", "ld"],
        usage: { inputTokens: 3, outputTokens: 4, cacheReadInputTokens: 100, cacheWriteInputTokens: 20 },
      });
      const usage = { inputTokens: 123, outputTokens: 4, cachedInputTokens: 100, cacheWriteInputTokens: 20 };
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Hel" },
        { type: "text-delta", delta: "lo" },
        { type: "text-delta", delta: " wor" },
        { type: "text-delta", delta: "ld" },
        { type: "usage", usage },
        { type: "response-end", finishReason: "stop", usage },
      ]);
    });

    it("sends tools and streams tool calls with id and name on the first piece", async () => {
      fake.script({
        type: "reply",
        toolUses: [{ toolUseId: "tooluse_9", name: "lookup", input: ['{"q":', '"x"}'] }],
      });
      const parts = await collect(
        connect().stream(
          call({ tools: [{ name: "lookup", description: "Look up", parameters: { type: "object" } }] }),
        ),
      );
      expect(fake.requests[0]?.body).toMatchObject({
        toolConfig: { tools: [{ toolSpec: { name: "lookup", inputSchema: { json: { type: "object" } } } }] },
      });
      expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
        { type: "tool-call-delta", index: 0, id: "tooluse_9", name: "lookup", argumentsDelta: "" },
        { type: "tool-call-delta", index: 0, argumentsDelta: '{"q":' },
        { type: "tool-call-delta", index: 0, argumentsDelta: '"x"}' },
      ]);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
    });

    it("answers JSON mode with the forced tool's input as text", async () => {
      fake.script({ type: "reply", toolUses: [{ name: "json_answer", input: '{"answer":"yes"}' }] });
      const parts = await collect(connect().stream(call({ responseFormat: { type: "json_object" } })));
      expect(fake.requests[0]?.body).toMatchObject({
        toolConfig: { toolChoice: { tool: { name: "json_answer" } } },
      });
      expect(text(parts)).toBe('{"answer":"yes"}');
      expect(parts.some((p) => p.type === "tool-call-delta")).toBe(false);
      expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "stop" });
    });

    it("reassembles messages split every 3 bytes, inside multi-byte characters", async () => {
      const content = ["Grüße", " 👋🏽", " 日本語", " ok"];
      fake.script({ type: "reply", content, splitEvery: 3 });
      const parts = await collect(connect().stream(call()));
      expect(text(parts)).toBe(content.join(""));
      expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
    });

    it("replays a recorded stream split at every byte offset over the socket", async () => {
      const body = Buffer.concat([
        encodeEvent("messageStart", { role: "assistant" }),
        encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Héllo 👋 世界!" } }),
        encodeEvent("contentBlockStop", { contentBlockIndex: 0 }),
        encodeEvent("messageStop", { stopReason: "end_turn" }),
        encodeEvent("metadata", {
          usage: { inputTokens: 9, outputTokens: 6, totalTokens: 15 },
          metrics: { latencyMs: 1 },
        }),
      ]);
      const bedrock = connect();
      // Two reads per call, cut at each offset in turn: every prelude, header, payload and CRC byte.
      for (let offset = 1; offset < body.length; offset += 1) {
        fake.script({ type: "raw", body, splitAt: [offset] });
        const parts = await collect(bedrock.stream(call()));
        expect(parts, `split at ${offset}`).toEqual([
          { type: "text-delta", delta: "Héllo 👋 世界!" },
          { type: "usage", usage: { inputTokens: 9, outputTokens: 6 } },
          { type: "response-end", finishReason: "stop", usage: { inputTokens: 9, outputTokens: 6 } },
        ]);
      }
    }, 60_000);

    it("replays a whole Converse JSON answer (tool call included) as stream parts", async () => {
      fake.script({
        type: "reply",
        stream: false,
        content: "Checking.",
        toolUses: [{ toolUseId: "t1", name: "get_weather", input: '{"city":"Paris"}' }],
        usage: { inputTokens: 3, outputTokens: 2 },
      });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "Checking." },
        {
          type: "tool-call-delta",
          index: 0,
          id: "t1",
          name: "get_weather",
          argumentsDelta: '{"city":"Paris"}',
        },
        { type: "usage", usage: { inputTokens: 3, outputTokens: 2 } },
        { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 3, outputTokens: 2 } },
      ]);
    });

    it("rejects a stream that ends without messageStop as protocol, after the text it got", async () => {
      fake.script({ type: "reply", content: ["a", "b"], omitMessageStop: true });
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

    it("ends without usage (never made-up zeros) when metadata does not come", async () => {
      fake.script({ type: "reply", content: ["ok"], omitMetadata: true });
      expect(await collect(connect().stream(call()))).toEqual([
        { type: "text-delta", delta: "ok" },
        { type: "response-end", finishReason: "stop" },
      ]);
    });

    it.each([
      ["throttlingException", "rate_limited", true],
      ["modelStreamErrorException", "server", true],
      ["internalServerException", "server", true],
      ["serviceUnavailableException", "overloaded", true],
      ["validationException", "invalid_request", false],
      ["modelTimeoutException", "timeout", true],
    ] as const)("rejects a %s delivered inside the stream as %s", async (type, errorClass, retryable) => {
      fake.script({
        type: "reply",
        content: ["a", "b"],
        exceptionAfterTokens: { tokens: 1, type, message: "echo: acme_merger" },
      });
      const seen: StreamPart[] = [];
      const err = await thrownBy(
        (async () => {
          for await (const part of connect().stream(call())) seen.push(part);
        })(),
        ProviderError,
      );
      expect(text(seen)).toBe("a");
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.message).toBe(`upstream reported an error (${type})`);
    });

    it("rejects a connection reset mid-stream as server", async () => {
      fake.script({ type: "reply", content: ["a", "b", "c"], dropAfterTokens: 1 });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).errorClass).toBe("server");
    });

    it("rejects a 200 that is neither an event stream nor JSON as protocol", async () => {
      fake.script({ type: "raw", contentType: "text/html", body: "<html>Gateway says hi</html>" });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.message).not.toContain("Gateway");
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
      const bedrock = connect();
      expect(text(await collect(bedrock.stream(call())))).toBe(DEFAULT_REPLY);
      await new Promise((resolve) => setImmediate(resolve));
      expect(text(await collect(bedrock.stream(call())))).toBe(DEFAULT_REPLY);
      expect(fake.connectionCount).toBe(1);
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

  describe("failures before the stream starts", () => {
    it.each([
      [
        400,
        "ValidationException",
        "Malformed input request, please reformat your input and try again.",
        "invalid_request",
        false,
      ],
      [400, "ValidationException", "Input is too long for requested model.", "context_length", false],
      [403, "AccessDeniedException", undefined, "auth", false],
      [404, "ResourceNotFoundException", undefined, "invalid_request", false],
      [408, "ModelTimeoutException", undefined, "timeout", true],
      [424, "ModelErrorException", undefined, "server", true],
      [429, "ThrottlingException", undefined, "rate_limited", true],
      [429, "ServiceQuotaExceededException", "Too many tokens per day", "rate_limited", true],
      [500, "InternalServerException", undefined, "server", true],
      [503, "ServiceUnavailableException", undefined, "overloaded", true],
      [503, "ModelNotReadyException", "Model is not ready to serve inference requests.", "overloaded", true],
    ] as const)("rejects HTTP %i %s as %s", async (status, errorType, message, errorClass, retryable) => {
      fake.script({ type: "error", status, errorType, ...(message !== undefined && { message }) });
      const err = await thrownBy(collect(connect().stream(call())), ProviderError);
      expect(err.errorClass).toBe(errorClass);
      expect(err.retryable).toBe(retryable);
      expect(err.status).toBe(status);
      expect(err.message).toBe(`upstream returned HTTP ${status} (${errorType})`);
    });

    it("keeps retry-after on a throttle", async () => {
      fake.script({ type: "error", status: 429, headers: { "retry-after": "2" } });
      expect((await thrownBy(collect(connect().stream(call())), ProviderError)).retryAfterMs).toBe(2000);
    });

    it("rejects an unreachable endpoint as connect", async () => {
      const port = await closedPort();
      adapter = createBedrockAdapter(settings(`http://127.0.0.1:${port}`));
      const err = await thrownBy(collect(adapter.stream(call())), ProviderError);
      expect(err.errorClass).toBe("connect");
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
  });

  describe("close", () => {
    it("aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: ["a", "b"], hangAfterTokens: 1 });
      const bedrock = connect();
      const iterator = bedrock.stream(call())[Symbol.asyncIterator]();
      await iterator.next();
      await bedrock.close();
      expect((await thrownBy(iterator.next(), ProviderError)).errorClass).toBe("cancelled");
      await within(fake.requests[0]?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect((await thrownBy(collect(bedrock.stream(call())), ProviderError)).errorClass).toBe("cancelled");
    });
  });
});
