import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_REPLY,
  type FakeGemini,
  googleJson,
  startFakeGemini,
} from "../../fakes/fake-gemini-server.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reads: number;
}

/** A bare node:http client, so the test sees exactly what the fake put on the wire. */
function send(
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; raw?: string; method?: string } = {},
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

const request = { contents: [{ role: "user", parts: [{ text: "Say hello" }] }] };

function events(body: string): Record<string, unknown>[] {
  expect(body.endsWith("\r\n\r\n")).toBe(true);
  return body
    .slice(0, -4)
    .split("\r\n\r\n")
    .map((frame) => {
      expect(frame.startsWith("data: ")).toBe(true);
      return JSON.parse(frame.slice("data: ".length));
    });
}

describe("startFakeGemini", () => {
  let fake: FakeGemini;
  const stream = () => `${fake.url}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`;

  beforeAll(async () => {
    fake = await startFakeGemini();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => {
    fake.setFallback(undefined);
    fake.reset();
  });

  it("streams SSE events framed by CRLF, the last one carrying finishReason and full usage", async () => {
    const res = await send(stream(), request);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    const chunks = events(res.body);
    const text = chunks
      .map(
        (c) =>
          (c.candidates as { content: { parts: { text: string }[] } }[])[0]?.content.parts[0]?.text ?? "",
      )
      .join("");
    expect(text).toBe(DEFAULT_REPLY);
    expect(chunks.slice(0, -1).every((c) => JSON.stringify(c).includes('"finishReason"') === false)).toBe(
      true,
    );
    expect(chunks.at(-1)).toMatchObject({
      candidates: [{ finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: expect.any(Number), candidatesTokenCount: 6 },
      modelVersion: "gemini-2.5-flash",
    });
    expect(chunks[0]?.usageMetadata).not.toHaveProperty("candidatesTokenCount");
    expect(res.body).not.toContain("[DONE]");
  });

  it('writes events as Google does: "key": value, members joined by a bare comma', async () => {
    const res = await send(stream(), request);
    expect(
      res.body.startsWith('data: {"candidates": [{"content": {"parts": [{"text": "Hello"}],"role": "model"}'),
    ).toBe(true);
    expect(googleJson({ a: [1, { b: "c" }], d: undefined })).toBe('{"a": [1,{"b": "c"}]}');
  });

  it("answers the stream endpoint without alt=sse with one JSON array, and generateContent with one object", async () => {
    const array = await send(`${fake.url}/models/gemini-2.5-flash:streamGenerateContent`, request);
    expect(array.headers["content-type"]).toBe("application/json; charset=UTF-8");
    const parsed = JSON.parse(array.body) as unknown[];
    expect(Array.isArray(parsed)).toBe(true);
    expect(parsed.length).toBeGreaterThan(1);
    const unary = await send(`${fake.url}/models/gemini-2.5-flash:generateContent`, request);
    expect(JSON.parse(unary.body)).toMatchObject({
      candidates: [{ content: { role: "model" }, finishReason: "STOP" }],
      usageMetadata: { candidatesTokenCount: 6 },
    });
  });

  it("streams thoughts, then text, then all function calls in one chunk", async () => {
    fake.script({
      type: "reply",
      thoughts: ["pondering"],
      content: ["ok"],
      functionCalls: [
        { name: "f", args: { x: 1 } },
        { name: "g", id: "fc-1" },
      ],
    });
    const chunks = events((await send(stream(), request)).body);
    const parts = chunks.map((c) => (c.candidates as { content: { parts: unknown[] } }[])[0]?.content.parts);
    expect(parts).toEqual([
      [{ text: "pondering", thought: true }],
      [{ text: "ok" }],
      [
        { functionCall: { name: "f", args: { x: 1 } } },
        { functionCall: { id: "fc-1", name: "g", args: {} } },
      ],
    ]);
    expect(chunks.at(-1)?.usageMetadata).toMatchObject({ thoughtsTokenCount: 8 });
  });

  it("sends a blocked prompt as one chunk with promptFeedback and no candidates", async () => {
    fake.script({ type: "blocked", blockReason: "PROHIBITED_CONTENT" });
    const [chunk] = events((await send(stream(), request)).body);
    expect(chunk).toMatchObject({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } });
    expect(chunk).not.toHaveProperty("candidates");
  });

  it("sends Google error bodies, with RetryInfo on 429, wrapped in an array on the non-SSE stream endpoint", async () => {
    fake.script({ type: "error", status: 429, retryDelay: "7s" }, { type: "error", status: 503 });
    const limited = await send(stream(), request);
    expect(limited.status).toBe(429);
    const error = JSON.parse(limited.body).error;
    expect(error).toMatchObject({ code: 429, status: "RESOURCE_EXHAUSTED" });
    expect(error.details).toContainEqual({
      "@type": "type.googleapis.com/google.rpc.RetryInfo",
      retryDelay: "7s",
    });
    const wrapped = await send(`${fake.url}/models/m:streamGenerateContent`, request);
    expect(wrapped.status).toBe(503);
    expect(JSON.parse(wrapped.body)).toEqual([
      { error: { code: 503, message: expect.any(String), status: "UNAVAILABLE" } },
    ]);
  });

  it("records requests with the model, the method and whether SSE was asked for", async () => {
    await send(stream(), request, { headers: { "x-goog-api-key": "k" } });
    const [recorded] = fake.requests;
    expect(recorded).toMatchObject({
      method: "POST",
      path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
      model: "models/gemini-2.5-flash",
      rpc: "streamGenerateContent",
      sse: true,
      body: request,
    });
    expect(recorded?.headers["x-goog-api-key"]).toBe("k");
    await recorded?.socketClosed;
    expect(recorded?.closedBeforeResponseEnd).toBe(false);
  });

  it("ends a stream without finishReason when asked, and after N chunks with an error event", async () => {
    fake.script(
      { type: "reply", content: ["a", "b"], finishReason: null },
      {
        type: "reply",
        content: ["a", "b"],
        errorAfterTokens: { tokens: 1, error: { code: 503, status: "UNAVAILABLE" } },
      },
    );
    expect((await send(stream(), request)).body).not.toContain("finishReason");
    const chunks = events((await send(stream(), request)).body);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toMatchObject({ error: { code: 503, status: "UNAVAILABLE" } });
  });

  it("cuts the body at the requested byte offsets, across separate reads", async () => {
    fake.script({ type: "raw", contentType: "text/plain", body: "aé€😀z", splitAt: [2, 4, 7] });
    const res = await send(stream(), request);
    expect(res.body).toBe("aé€😀z");
    expect(res.reads).toBeGreaterThan(1);
  });

  it("hangs after N chunks until the client leaves, and records that it left", async () => {
    fake.script({ type: "reply", content: ["a", "b", "c"], hangAfterTokens: 1 });
    const req = httpRequest(stream(), { method: "POST", agent: false }, (res) => {
      res.once("data", () => req.destroy());
      res.on("error", () => {});
    });
    req.on("error", () => {});
    req.end(JSON.stringify(request));
    const [recorded] = await fake.waitForRequests(1);
    await recorded?.socketClosed;
    expect(recorded?.closedBeforeResponseEnd).toBe(true);
  });

  it("answers a wrong key as Google does: 400 INVALID_ARGUMENT with API_KEY_INVALID", async () => {
    const guarded = await startFakeGemini({ apiKey: "AIza-right" });
    try {
      const url = `${guarded.url}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`;
      const wrong = await send(url, request, { headers: { "x-goog-api-key": "AIza-wrong" } });
      expect(wrong.status).toBe(400);
      expect(JSON.parse(wrong.body).error.details[0].reason).toBe("API_KEY_INVALID");
      expect((await send(url, request, { headers: { "x-goog-api-key": "AIza-right" } })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it("answers 400 to a body that is not JSON and 404 to unknown paths", async () => {
    const bad = await send(stream(), undefined, { raw: "{nope" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.status).toBe("INVALID_ARGUMENT");
    expect((await send(`${fake.url}/models/m:countTokens`, request)).status).toBe(404);
  });

  it("rejects waitForRequests when requests do not arrive in time", async () => {
    await expect(fake.waitForRequests(1, 20)).rejects.toThrow(/0 of 1/);
  });
});
