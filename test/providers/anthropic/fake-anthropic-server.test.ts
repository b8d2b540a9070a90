import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REPLY, type FakeAnthropic, startFakeAnthropic } from "../../fakes/fake-anthropic-server.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reads: number;
}

const anthropicHeaders = { "x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01" };

/** A bare node:http client, so the test sees exactly what the fake put on the wire. */
function send(url: string, body: unknown, headers: Record<string, string> = anthropicHeaders, raw?: string) {
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", headers: { "content-type": "application/json", ...headers }, agent: false },
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
    req.end(raw ?? JSON.stringify(body));
  });
}

const messagesBody = (stream: boolean) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 64,
  messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
  stream,
});

/** The events of an SSE body as [event name, parsed data]. */
function events(body: string): [string, Record<string, unknown>][] {
  expect(body.endsWith("\n\n")).toBe(true);
  return body
    .slice(0, -2)
    .split("\n\n")
    .map((frame) => {
      const [eventLine, dataLine, ...rest] = frame.split("\n");
      expect(rest).toEqual([]);
      expect(eventLine?.startsWith("event: ")).toBe(true);
      expect(dataLine?.startsWith("data: ")).toBe(true);
      return [eventLine?.slice(7) ?? "", JSON.parse(dataLine?.slice(6) ?? "")];
    });
}

describe("startFakeAnthropic", () => {
  let fake: FakeAnthropic;
  const messages = () => `${fake.url}/v1/messages`;

  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.reset();
  });

  it("streams the documented event order with Anthropic's headers", async () => {
    const res = await send(messages(), messagesBody(true));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(res.headers["request-id"]).toMatch(/^req_/);
    expect(res.headers["anthropic-ratelimit-requests-reset"]).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
    );
    const all = events(res.body);
    for (const [name, data] of all) expect(data.type).toBe(name);
    const names = all.map(([name]) => name);
    expect(names.slice(0, 3)).toEqual(["message_start", "content_block_start", "ping"]);
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const start = all[0]?.[1] as { message: { usage: Record<string, number> } };
    expect(start.message.usage).toMatchObject({
      input_tokens: 3,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 1,
    });
    const text = all
      .filter(([name]) => name === "content_block_delta")
      .map(([, data]) => (data.delta as { text: string }).text)
      .join("");
    expect(text).toBe(DEFAULT_REPLY);
    expect(all.at(-2)?.[1]).toEqual({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 6 },
    });
  });

  it("streams tool_use blocks: id and name first, then input_json_delta fragments", async () => {
    fake.script({ type: "reply", toolUses: [{ id: "toolu_x", name: "f", input: ['{"a":', "1}"] }] });
    const all = events((await send(messages(), messagesBody(true))).body);
    expect(all[1]?.[1]).toEqual({
      type: "content_block_start",
      index: 0,
      content_block: { type: "tool_use", id: "toolu_x", name: "f", input: {} },
    });
    const fragments = all
      .filter(([name]) => name === "content_block_delta")
      .map(([, data]) => (data.delta as { partial_json: string }).partial_json);
    expect(fragments).toEqual(["", '{"a":', "1}"]);
    expect(all.at(-2)?.[1]).toMatchObject({ delta: { stop_reason: "tool_use" } });
  });

  it("answers a non-streaming request with a whole Message", async () => {
    fake.script({ type: "reply", content: "hi", toolUses: [{ id: "toolu_y", name: "g", input: { b: 2 } }] });
    const res = await send(messages(), messagesBody(false));
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body)).toMatchObject({
      type: "message",
      role: "assistant",
      content: [
        { type: "text", text: "hi" },
        { type: "tool_use", id: "toolu_y", name: "g", input: { b: 2 } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 3, cache_read_input_tokens: 0 },
    });
  });

  it("sends error bodies of the documented shape, 429 with retry-after and a spent limit", async () => {
    const resetAt = new Date("2030-01-01T00:00:30Z");
    fake.script(
      { type: "error", status: 429, exhausted: { limit: "input-tokens", resetAt } },
      { type: "error", status: 529 },
    );
    const limited = await send(messages(), messagesBody(true));
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.headers["anthropic-ratelimit-input-tokens-remaining"]).toBe("0");
    expect(limited.headers["anthropic-ratelimit-input-tokens-reset"]).toBe("2030-01-01T00:00:30Z");
    expect(JSON.parse(limited.body)).toEqual({
      type: "error",
      error: { type: "rate_limit_error", message: expect.stringContaining("rate limit") },
      request_id: expect.stringMatching(/^req_/),
    });
    const overloaded = await send(messages(), messagesBody(true));
    expect(overloaded.status).toBe(529);
    expect(JSON.parse(overloaded.body).error).toEqual({ type: "overloaded_error", message: "Overloaded" });
  });

  it("ends a stream with an error event when asked", async () => {
    fake.script({ type: "reply", content: ["a", "b"], errorAfterTokens: { tokens: 1 } });
    const all = events((await send(messages(), messagesBody(true))).body);
    expect(all.at(-1)).toEqual([
      "error",
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    ]);
    expect(all.some(([name]) => name === "message_stop")).toBe(false);
  });

  it("refuses what the API refuses: no key, no version, no max_tokens, another path", async () => {
    const noKey = await send(messages(), messagesBody(true), { "anthropic-version": "2023-06-01" });
    expect(noKey.status).toBe(401);
    expect(JSON.parse(noKey.body).error.type).toBe("authentication_error");
    const noVersion = await send(messages(), messagesBody(true), { "x-api-key": "k" });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body).error.message).toContain("anthropic-version");
    const { max_tokens: _, ...withoutMax } = messagesBody(true);
    expect((await send(messages(), withoutMax)).status).toBe(400);
    expect((await send(`${fake.url}/v1/complete`, messagesBody(true))).status).toBe(404);
    expect((await send(messages(), undefined, anthropicHeaders, "{nope")).status).toBe(400);
  });

  it("checks the key when it has one", async () => {
    const guarded = await startFakeAnthropic({ apiKey: "sk-ant-right" });
    try {
      const url = `${guarded.url}/v1/messages`;
      expect(
        (await send(url, messagesBody(false), { ...anthropicHeaders, "x-api-key": "wrong" })).status,
      ).toBe(401);
      expect(
        (await send(url, messagesBody(false), { ...anthropicHeaders, "x-api-key": "sk-ant-right" })).status,
      ).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("cuts the body at the requested byte offsets, across separate reads", async () => {
    fake.script({ type: "raw", contentType: "text/plain", body: "aé€😀z", splitAt: [2, 4, 7] });
    const res = await send(messages(), messagesBody(false));
    expect(res.body).toBe("aé€😀z");
    expect(res.reads).toBeGreaterThan(1);
  });

  it("hangs after N tokens until the client leaves, and records that it left", async () => {
    fake.script({ type: "reply", content: ["a", "b", "c"], hangAfterTokens: 1 });
    const req = httpRequest(
      messages(),
      { method: "POST", headers: anthropicHeaders, agent: false },
      (res) => {
        res.once("data", () => req.destroy());
        res.on("error", () => {});
      },
    );
    req.on("error", () => {});
    req.end(JSON.stringify(messagesBody(true)));
    const [recorded] = await fake.waitForRequests(1);
    await recorded?.socketClosed;
    expect(recorded?.closedBeforeResponseEnd).toBe(true);
  });
});
