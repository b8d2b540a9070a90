import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_REPLY,
  type FakeOpenAi,
  type RecordedRequest,
  startFakeOpenAi,
} from "../../fakes/fake-openai-server.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** How many separate reads the body arrived in. */
  reads: number;
}

/** A bare node:http client, so the test sees exactly what the fake put on the wire. */
function send(
  url: string,
  body: unknown,
  options: { method?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: options.method ?? "POST",
        headers: { "content-type": "application/json", ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            reads: chunks.length,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.raw ?? (body === undefined ? undefined : JSON.stringify(body)));
  });
}

const chatBody = (stream: boolean, includeUsage = stream) => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "Say hello" }],
  stream,
  ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
});

function frames(body: string): string[] {
  expect(body.endsWith("\n\n")).toBe(true);
  return body.slice(0, -2).split("\n\n");
}

describe("startFakeOpenAi", () => {
  let fake: FakeOpenAi;
  const completions = () => `${fake.url}/chat/completions`;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.setFallback(undefined);
    fake.reset();
  });

  it("answers a unary request by default with the fixed reply, usage and OpenAI's headers", async () => {
    const res = await send(completions(), chatBody(false));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["x-request-id"]).toMatch(/^req_[0-9a-f]{32}$/);
    expect(res.headers["openai-processing-ms"]).toMatch(/^\d+$/);
    expect(res.headers["x-ratelimit-remaining-requests"]).toBeDefined();
    expect(res.headers["x-ratelimit-reset-tokens"]).toBeDefined();
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: DEFAULT_REPLY }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 },
    });
  });

  it("streams by default as OpenAI does: role chunk, tokens, finish, usage chunk, [DONE]", async () => {
    const res = await send(completions(), chatBody(true));
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    const all = frames(res.body);
    expect(all.at(-1)).toBe("data: [DONE]");
    const chunks = all.slice(0, -1).map((frame) => {
      expect(frame.startsWith("data: ")).toBe(true);
      return JSON.parse(frame.slice("data: ".length));
    });
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null });
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(DEFAULT_REPLY);
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 6 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it("leaves the usage chunk out unless include_usage was asked for", async () => {
    const res = await send(completions(), chatBody(true, false));
    const chunks = frames(res.body)
      .slice(0, -1)
      .map((f) => JSON.parse(f.slice(6)));
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(chunks.some((c) => "usage" in c)).toBe(false);
  });

  it("streams tool calls: id, type and name first, then argument pieces", async () => {
    fake.script({ type: "reply", toolCalls: [{ id: "call_x", name: "f", arguments: ["{", "}"] }] });
    const res = await send(completions(), chatBody(true));
    const chunks = frames(res.body)
      .slice(0, -1)
      .map((f) => JSON.parse(f.slice(6)));
    expect(chunks[0].choices[0].delta).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ index: 0, id: "call_x", type: "function", function: { name: "f", arguments: "" } }],
      refusal: null,
    });
    expect(chunks[1].choices[0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: "{" } }] });
    expect(chunks.at(-2).choices[0].finish_reason).toBe("tool_calls");
  });

  it("records requests with headers, parsed body and connection id", async () => {
    await send(completions(), chatBody(false), { headers: { authorization: "Bearer k" } });
    const [recorded] = fake.requests;
    expect(recorded).toMatchObject({
      index: 0,
      method: "POST",
      path: "/v1/chat/completions",
      body: chatBody(false),
      connectionId: expect.any(Number),
    } satisfies Partial<RecordedRequest>);
    expect(recorded?.headers.authorization).toBe("Bearer k");
    await recorded?.socketClosed;
    expect(recorded?.socketClosedAt).toBeGreaterThan(0);
    expect(recorded?.closedBeforeResponseEnd).toBe(false);
  });

  it("sends OpenAI error bodies with 429 retry-after", async () => {
    fake.script({ type: "error", status: 429, retryAfterSeconds: 20 });
    const res = await send(completions(), chatBody(false));
    expect(res.status).toBe(429);
    expect(res.headers["retry-after"]).toBe("20");
    expect(JSON.parse(res.body)).toEqual({
      error: {
        message: expect.stringContaining("Rate limit"),
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      },
    });
  });

  it("takes scripted responses in order, then falls back", async () => {
    fake.script({ type: "error", status: 500 }, { type: "error", status: 503 });
    expect(fake.pendingScripts).toBe(2);
    expect((await send(completions(), chatBody(false))).status).toBe(500);
    expect((await send(completions(), chatBody(false))).status).toBe(503);
    expect((await send(completions(), chatBody(false))).status).toBe(200);
  });

  it("uses a custom fallback", async () => {
    fake.setFallback((req) => ({ type: "reply", content: `request ${req.index}`, stream: false }));
    const res = await send(completions(), chatBody(true));
    expect(JSON.parse(res.body).choices[0].message.content).toBe("request 0");
  });

  it("cuts the body at the requested byte offsets, across separate reads", async () => {
    fake.script({ type: "raw", contentType: "text/plain", body: "aé€😀z", splitAt: [2, 4, 7] });
    const res = await send(completions(), chatBody(false));
    expect(res.body).toBe("aé€😀z");
    expect(res.reads).toBeGreaterThan(1);
  });

  it("ends a stream without [DONE] when asked", async () => {
    fake.script({ type: "reply", content: ["a"], omitDone: true });
    const res = await send(completions(), chatBody(true));
    expect(res.body).not.toContain("[DONE]");
  });

  it("hangs after N tokens until the client leaves, and records that the client left", async () => {
    fake.script({ type: "reply", content: ["a", "b", "c"], hangAfterTokens: 1 });
    const req = httpRequest(completions(), { method: "POST", agent: false }, (res) => {
      res.once("data", () => req.destroy());
      res.on("error", () => {});
    });
    req.on("error", () => {});
    req.end(JSON.stringify(chatBody(true)));
    const [recorded] = await fake.waitForRequests(1);
    await recorded?.socketClosed;
    expect(recorded?.closedBeforeResponseEnd).toBe(true);
  });

  it("rejects requests without the configured key", async () => {
    const guarded = await startFakeOpenAi({ apiKey: "sk-right" });
    try {
      const wrong = await send(`${guarded.url}/chat/completions`, chatBody(false), {
        headers: { authorization: "Bearer sk-wrong" },
      });
      expect(wrong.status).toBe(401);
      expect(JSON.parse(wrong.body).error.code).toBe("invalid_api_key");
      const right = await send(`${guarded.url}/chat/completions`, chatBody(false), {
        headers: { authorization: "Bearer sk-right" },
      });
      expect(right.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("answers 400 to a body that is not JSON and 404 to unknown paths", async () => {
    const bad = await send(completions(), undefined, { raw: "{nope" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.type).toBe("invalid_request_error");
    const missing = await send(`${fake.url}/completions`, chatBody(false));
    expect(missing.status).toBe(404);
  });

  it("rejects waitForRequests when requests do not arrive in time", async () => {
    await expect(fake.waitForRequests(1, 20)).rejects.toThrow(/0 of 1/);
  });
});

describe("startFakeOpenAi in Azure mode", () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi({ azure: { apiKey: "k" } });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  const deployment = () => `${fake.url}/openai/deployments/prod/chat/completions`;

  it("serves a deployment with api-version and the api-key header, opening the stream with prompt_filter_results", async () => {
    const res = await send(`${deployment()}?api-version=2024-10-21`, chatBody(true), {
      headers: { "api-key": "k" },
    });
    expect(res.status).toBe(200);
    expect(res.headers["apim-request-id"]).toBeDefined();
    const first = JSON.parse(frames(res.body)[0]?.slice("data: ".length) ?? "");
    expect(first).toMatchObject({ choices: [], prompt_filter_results: [{ prompt_index: 0 }] });
    expect(res.body).toContain('"content_filter_results"');
  });

  it("answers 404 without api-version and 401 Azure's way without the key", async () => {
    const missing = await send(deployment(), chatBody(false), { headers: { "api-key": "k" } });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: { code: "404", message: "Resource not found" } });
    const denied = await send(`${deployment()}?api-version=2024-10-21`, chatBody(false));
    expect(denied.status).toBe(401);
    expect(JSON.parse(denied.body)).toMatchObject({ error: { code: "401" } });
  });

  it("serves Azure's v1 path", async () => {
    const res = await send(`${fake.url}/openai/v1/chat/completions`, chatBody(false), {
      headers: { "api-key": "k" },
    });
    expect(res.status).toBe(200);
  });
});

describe("startFakeOpenAi additions", () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  it("sends SSE comments first, cached_tokens in the usage details, and an exact error body", async () => {
    fake.script(
      {
        type: "reply",
        content: "Hi",
        comments: [": OPENROUTER PROCESSING"],
        usage: { prompt_tokens: 9, completion_tokens: 1, cached_tokens: 8 },
      },
      {
        type: "error",
        status: 422,
        body: { object: "error", message: "bad", type: "invalid_request_error", param: null, code: null },
      },
    );
    const streamed = await send(`${fake.url}/chat/completions`, chatBody(true));
    expect(streamed.body.startsWith(": OPENROUTER PROCESSING\n\n")).toBe(true);
    expect(streamed.body).toContain('"prompt_tokens_details":{"cached_tokens":8');
    const failed = await send(`${fake.url}/chat/completions`, chatBody(false));
    expect(failed.status).toBe(422);
    expect(failed.body).toBe(
      '{"object":"error","message":"bad","type":"invalid_request_error","param":null,"code":null}',
    );
  });
});
