import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REPLY, type FakeOllama, startFakeOllama } from "../../fakes/fake-ollama-server.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A bare node:http client, so the test sees exactly what the fake put on the wire. */
function send(url: string, body: unknown, method = "POST"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, headers: { "content-type": "application/json" }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: "llama3.2",
  messages: [{ role: "user", content: "Say hello" }],
  ...extra,
});

describe("startFakeOllama", () => {
  let fake: FakeOllama;
  const url = () => `${fake.url}/api/chat`;

  beforeAll(async () => {
    fake = await startFakeOllama({ models: ["llama3.2"] });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  it("streams NDJSON by default: one compact object a line, the final one done with metrics", async () => {
    const res = await send(url(), chat());
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    expect(res.body.endsWith("\n")).toBe(true);
    const lines = res.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const final = lines.at(-1);
    expect(lines.slice(0, -1).every((l) => l.done === false && l.message.role === "assistant")).toBe(true);
    expect(
      lines
        .slice(0, -1)
        .map((l) => l.message.content)
        .join(""),
    ).toBe(DEFAULT_REPLY);
    expect(final).toMatchObject({
      model: "llama3.2",
      done: true,
      done_reason: "stop",
      message: { content: "" },
    });
    expect(final.prompt_eval_count).toBeGreaterThan(0);
    expect(final.eval_count).toBeGreaterThan(0);
    expect(final.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("answers stream: false with the whole message in one JSON object", async () => {
    fake.script({ type: "reply", content: "Hi", toolCalls: [{ name: "f", arguments: { a: 1 } }] });
    const res = await send(url(), chat({ stream: false }));
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(res.body)).toMatchObject({
      done: true,
      message: {
        role: "assistant",
        content: "Hi",
        tool_calls: [{ function: { index: 0, name: "f", arguments: { a: 1 } } }],
      },
    });
  });

  it("leaves zero counts and an empty done_reason out, as Go's omitempty does", async () => {
    fake.script({
      type: "reply",
      content: [],
      usage: { prompt_eval_count: 5, eval_count: 0 },
      doneReason: null,
    });
    const final = JSON.parse((await send(url(), chat())).body.trimEnd().split("\n").at(-1) ?? "");
    expect(final.prompt_eval_count).toBe(5);
    expect(final).not.toHaveProperty("eval_count");
    expect(final).not.toHaveProperty("done_reason");
  });

  it("answers 404 {error} for a model it does not have, and gin's plain 404 for an unknown route", async () => {
    const missing = await send(url(), chat({ model: "llama9" }));
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(missing.body)).toEqual({ error: "model 'llama9' not found" });
    const route = await send(`${fake.url}/api/nope`, chat());
    expect(route.status).toBe(404);
    expect(route.body).toBe("404 page not found");
  });

  it("ends a stream with an error line when scripted", async () => {
    fake.script({ type: "reply", content: ["a", "b"], errorAfterTokens: { tokens: 1, error: "boom" } });
    const lines = (await send(url(), chat())).body.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1] ?? "")).toEqual({ error: "boom" });
  });

  it("records requests", async () => {
    await send(url(), chat({ options: { num_predict: 3 } }));
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/api/chat",
      body: { options: { num_predict: 3 } },
    });
  });
});
