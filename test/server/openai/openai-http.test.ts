import { request as http1Request, type IncomingHttpHeaders } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { always, type Chaos, settlesWithin, startChaos } from "../../helpers/chaos.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

/**
 * The OpenAI door as plain HTTP/1.1 and HTTP/2 clients see it (curl, other languages' SDKs), and
 * as hostile ones do: every refusal in OpenAI's error shape, naming what is wrong.
 */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => {
    error?: { message: string; type: string; param: string | null; code: string | null };
  } & Record<string, unknown>;
}

function send(
  baseUrl: string,
  options: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<Answer> {
  const url = new URL(options.path ?? "/v1/chat/completions", baseUrl);
  return new Promise((resolve, reject) => {
    const request = http1Request(
      url,
      {
        method: options.method ?? "POST",
        headers: { "content-type": "application/json", ...options.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

/** Writes `pieces` on a raw socket and reads until the server closes it (or 3 s pass). */
function rawExchange(port: number, pieces: string[]): Promise<{ head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    const done = () => {
      const split = text.indexOf("\r\n\r\n");
      resolve({ head: text.slice(0, split), body: text.slice(split + 4) });
    };
    socket.on("close", done);
    socket.on("error", () => {});
    setTimeout(() => socket.destroy(), 3000).unref();
    socket.on("connect", () => {
      for (const piece of pieces) if (!socket.destroyed) socket.write(piece);
    });
    socket.on("timeout", reject);
  });
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "auto", messages: [{ role: "user", content: "hello" }], ...extra });

describe("the OpenAI door over plain HTTP", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(
      `
providers:
  local: { kind: mock, hosted: false, mock: { latency_ms: 1, token_interval_ms: 1 } }
data_classes:
  public: { may_leave: true }
  pii: { may_leave: false }
defaults: { data_class: public }
detect:
  image: { action: raise, to: pii }
routes:
  - name: search
    match: { labels: { team: search } }
    primary: { provider: local, model: search-model }
  - name: private
    match: { data_class: pii }
    primary: { provider: local, model: private-model }
  - name: default
    primary: { provider: local, model: tiny }
`,
      { limits: { maxBodyBytes: 64 * 1024 } },
    );
  });
  afterAll(async () => {
    await service.stop();
  });

  it("answers curl-style HTTP/1.1 with a chat.completion", async () => {
    const answer = await send(service.baseUrl, { body: chat() });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.json()).toMatchObject({ object: "chat.completion", model: "tiny" });
  });

  it("answers over HTTP/2 with prior knowledge on the same port", async () => {
    const session = http2Connect(service.baseUrl);
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/v1/chat/completions",
          "content-type": "application/json",
        });
        let body = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
          body += chunk;
        });
        stream.on("end", () => resolve(body));
        stream.on("error", reject);
        stream.end(chat({ stream: true }));
      });
      expect(text).toContain('"object":"chat.completion.chunk"');
      expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    } finally {
      session.close();
    }
  });

  it("takes tenant, task and data class from headers, labels from metadata", async () => {
    const pii = await send(service.baseUrl, { body: chat(), headers: { "x-switchyard-data-class": "pii" } });
    expect(pii.headers["x-switchyard-route"]).toBe("private");
    const labelled = await send(service.baseUrl, { body: chat({ metadata: { team: "search" } }) });
    expect(labelled.headers["x-switchyard-route"]).toBe("search");
    const viaMetadata = await send(service.baseUrl, { body: chat({ metadata: { data_class: "pii" } }) });
    expect(viaMetadata.headers["x-switchyard-route"]).toBe("private");
  });

  /** [what is sent, status, param, words the message must contain] */
  const refusals: Array<
    [
      string,
      { body?: string | Buffer; headers?: Record<string, string>; method?: string; path?: string },
      number,
      string | null,
      string,
    ]
  > = [
    ["a body that is not JSON", { body: '{"model": "auto", ' }, 400, null, "not valid JSON"],
    ["an empty body", { body: "" }, 400, null, "body is empty"],
    ["a JSON array", { body: "[1]" }, 400, "body", "must be a JSON object"],
    [
      "nesting 100 deep",
      { body: `{"metadata":${"[".repeat(100)}${"]".repeat(100)}}` },
      400,
      null,
      "nests deeper than 64",
    ],
    [
      "bytes that are not UTF-8",
      {
        body: Buffer.concat([
          Buffer.from('{"model":"auto","messages":[{"role":"user","content":"'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}]}'),
        ]),
      },
      400,
      null,
      "not valid UTF-8",
    ],
    [
      "a body over maxBodyBytes",
      { body: chat({ user: "x".repeat(70 * 1024) }) },
      413,
      null,
      "larger than maxBodyBytes 65536",
    ],
    [
      "a form body",
      { body: "model=auto", headers: { "content-type": "application/x-www-form-urlencoded" } },
      415,
      null,
      "must be application/json",
    ],
    [
      "an argument the router does not support",
      { body: chat({ seed: 7 }) },
      400,
      "seed",
      "unrecognized request argument",
    ],
    ["n above 1", { body: chat({ n: 2 }) }, 400, "n", "only 1 is supported"],
    [
      "an unknown role",
      { body: JSON.stringify({ model: "auto", messages: [{ role: "wizard", content: "hi" }] }) },
      400,
      "messages[0].role",
      "must be system, developer, user, assistant or tool",
    ],
    [
      "an image part in a system message",
      {
        body: JSON.stringify({
          model: "auto",
          messages: [
            {
              role: "system",
              content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }],
            },
            { role: "user", content: "hi" },
          ],
        }),
      },
      400,
      "messages[0].content[0].type",
      'only "text" parts (and "image_url" parts in user messages)',
    ],
    [
      "an image URL that is neither http(s) nor an inline image",
      {
        body: JSON.stringify({
          model: "auto",
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] },
          ],
        }),
      },
      400,
      "messages[0].content",
      "must be an https URL of a public host or a data:image/png|jpeg|gif|webp;base64 URL",
    ],
    [
      "an audio part",
      {
        body: JSON.stringify({
          model: "auto",
          messages: [
            { role: "user", content: [{ type: "input_audio", input_audio: { data: "", format: "wav" } }] },
          ],
        }),
      },
      400,
      "messages[0].content[0].type",
      'only "text" parts',
    ],
    [
      "a temperature out of range",
      { body: chat({ temperature: 3 }) },
      400,
      "temperature",
      "must be between 0 and 2",
    ],
    [
      "a header and metadata that disagree",
      { body: chat({ metadata: { tenant: "b" } }), headers: { "x-switchyard-tenant": "a" } },
      400,
      "x-switchyard-tenant",
      "disagrees with metadata.tenant",
    ],
    [
      "an unknown data class",
      { body: chat(), headers: { "x-switchyard-data-class": "topsecret" } },
      400,
      "x-switchyard-data-class",
      'unknown data class "topsecret"',
    ],
    [
      "a tenant with a bidi override",
      { body: chat({ metadata: { tenant: "acme\u202e" } }) },
      400,
      "metadata.tenant",
      "must not contain control, invisible or bidirectional",
    ],
    [
      "tool-call arguments that are not JSON",
      {
        body: JSON.stringify({
          model: "auto",
          messages: [
            { role: "user", content: "hi" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }],
            },
          ],
        }),
      },
      400,
      "messages[1].tool_calls[0].function.arguments",
      "must be a JSON document",
    ],
    ["a GET on chat completions", { method: "GET" }, 405, null, "takes POST only"],
    [
      "a __proto__ key",
      {
        body: '{"model":"auto","messages":[{"role":"user","content":"hi"}],"metadata":{"__proto__":{"tenant":"x"}}}',
      },
      400,
      null,
      "__proto__ key",
    ],
    [
      "a tenant header sent twice",
      { body: chat(), headers: { "x-switchyard-tenant": ["acme", "evil"] as unknown as string } },
      400,
      "x-switchyard-tenant",
      "must be sent once",
    ],
    ["an unknown path", { path: "/v1/embeddings" }, 404, null, "unknown request URL"],
  ];

  for (const [what, options, status, param, words] of refusals)
    it(`refuses ${what}: ${status}${param ? ` naming ${param}` : ""}`, async () => {
      const answer = await send(service.baseUrl, options);
      expect(answer.status).toBe(status);
      const { error } = answer.json();
      expect(error?.param).toBe(param);
      expect(error?.message).toContain(words);
      expect(error?.type).toBe("invalid_request_error");
    });

  it("takes images in user messages, and the policy's detect rules decide where they may go", async () => {
    const image = "data:image/png;base64,iVBORw0KGgo=";
    const answer = await send(service.baseUrl, {
      body: JSON.stringify({
        model: "auto",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is in this picture?" },
              { type: "image_url", image_url: { url: image, detail: "low" } },
            ],
          },
        ],
      }),
    });
    expect(answer.status).toBe(200);
    // detect.image raises to pii: the image stays on the private route.
    expect(answer.headers["x-switchyard-route"]).toBe("private");
  });

  it("answers HEAD /v1/models as GET, without a body", async () => {
    const answer = await send(service.baseUrl, { method: "HEAD", path: "/v1/models" });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe("");
  });

  it("refuses a chunked body over maxBodyBytes with a 413 it can still read, then closes", async () => {
    const { head, body } = await rawExchange(service.port, [
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
      ...Array.from({ length: 20 }, () => `1000\r\n${"a".repeat(0x1000)}\r\n`),
    ]);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
    expect(head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(body).error.message).toContain("larger than maxBodyBytes 65536");
  });

  it("refuses expect: 100-continue for a body over the limit before it is sent", async () => {
    const { head } = await rawExchange(service.port, [
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 99999999\r\nexpect: 100-continue\r\n\r\n",
    ]);
    expect(head).toMatch(/^HTTP\/1\.1 413 /);
  });

  it("still serves after every refusal above (nothing took the server down)", async () => {
    expect((await send(service.baseUrl, { body: chat() })).status).toBe(200);
  });
});

describe("OpenAI streams over the wire", () => {
  let chaos: Chaos<"primary" | "fallback"> | undefined;
  afterEach(async () => {
    await chaos?.stop();
    chaos = undefined;
  });
  const start = async () => {
    chaos = await startChaos(
      ["primary", "fallback"],
      (providers) => `
${providers}
routes:
  - name: chat
    primary: { provider: primary, model: m1 }
    fallback: [{ provider: fallback, model: m2 }]
    retry: { max_attempts: 1 }
    budgets: { max_token_gap_ms: 30000 }
`,
    );
    return chaos;
  };

  it("a failure after the first token ends with an error event and no [DONE]", async () => {
    const { switchyard, fakes } = await start();
    always(fakes.primary, { type: "reply", content: "Paris is the capital of France.", dropAfterTokens: 3 });
    const answer = await send(switchyard.baseUrl, { body: chat({ stream: true }) });
    expect(answer.status).toBe(200);
    const events = answer.text.split("\n\n").filter((event) => event !== "");
    expect(answer.text).not.toContain("[DONE]");
    const last = JSON.parse(events.at(-1)?.replace(/^data: /, "") ?? "{}");
    expect(last).toMatchObject({ error: { type: "server_error", code: "stream_interrupted" } });
    expect(answer.text).not.toContain('"finish_reason":"stop"');
  });

  it("sends the first token while the upstream is still answering, and a caller leaving cancels the upstream", async () => {
    const { switchyard, fakes } = await start();
    // One token, then the upstream holds the stream open: anything buffered would never arrive.
    fakes.primary.script({ type: "reply", content: "Paris is the capital", hangAfterTokens: 1 });
    const firstEvent = await new Promise<string>((resolve, reject) => {
      const request = http1Request(
        new URL("/v1/chat/completions", switchyard.baseUrl),
        { method: "POST", headers: { "content-type": "application/json" } },
        (response) => {
          expect(response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
          expect(response.headers["x-switchyard-target"]).toBe("primary/m1");
          response.setEncoding("utf8");
          response.once("data", (chunk: string) => {
            resolve(chunk);
            request.destroy();
          });
        },
      );
      request.on("error", () => {});
      request.on("close", () => reject(new Error("closed before the first event")));
      request.end(chat({ stream: true }));
    });
    expect(firstEvent).toMatch(/^data: \{.*"content":"Paris".*\}\n\n/);
    const upstream = fakes.primary.requests[0];
    expect(await settlesWithin(upstream?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(upstream?.closedBeforeResponseEnd).toBe(true);
  });

  for (const stream of [true, false])
    it(`an HTTP/2 caller resetting its ${stream ? "stream" : "unary call"} cancels the upstream`, async () => {
      const { switchyard, fakes } = await start();
      fakes.primary.script({ type: "reply", content: "Paris is the capital", hangAfterTokens: 1 });
      const session = http2Connect(switchyard.baseUrl);
      try {
        const request = session.request({
          ":method": "POST",
          ":path": "/v1/chat/completions",
          "content-type": "application/json",
        });
        request.on("error", () => {});
        request.end(chat({ stream }));
        const [upstream] = await fakes.primary.waitForRequests(1);
        // The upstream has started answering; the caller gives up.
        await new Promise((resolve) => setTimeout(resolve, 50));
        request.close(8 /* NGHTTP2_CANCEL */);
        expect(await settlesWithin(upstream?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
        expect(upstream?.closedBeforeResponseEnd).toBe(true);
      } finally {
        session.close();
      }
    });

  it("a streamed degraded answer says so in its headers", async () => {
    const rig = await startChaos(
      ["primary", "fallback"],
      (providers) => `
${providers}
routes:
  - name: chat
    primary: { provider: primary, model: m1 }
    retry: { max_attempts: 1 }
    degrade: { answer: "Try again later." }
`,
    );
    chaos = rig;
    always(rig.fakes.primary, { type: "error", status: 503 });
    const answer = await send(rig.switchyard.baseUrl, { body: chat({ stream: true }) });
    expect(answer.headers["x-switchyard-degraded"]).toBe("answer");
    expect(answer.headers["x-switchyard-target"]).toBeUndefined();
    expect(answer.text).toContain('"content":"Try again later."');
    expect(answer.text.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});

describe("the OpenAI door during a drain", () => {
  it("lets a call in flight finish and refuses new ones as the server shutting down", async () => {
    const service = await startTestSwitchyard(`
providers:
  slow: { kind: mock, hosted: false, mock: { latency_ms: 400, token_interval_ms: 1 } }
routes:
  - name: default
    primary: { provider: slow, model: m }
`);
    try {
      const inFlight = send(service.baseUrl, { body: chat() });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const stopped = service.app.stop();
      const refused = await send(service.baseUrl, { body: chat() });
      expect(refused.status).toBe(503);
      expect(refused.json().error).toMatchObject({ type: "server_error", code: "shutting_down" });
      expect((await inFlight).status).toBe(200);
      await stopped;
    } finally {
      await service.stop();
    }
  });
});

describe("an OpenAI stream to a caller that reads slower than the answer comes", () => {
  // About 10 MB of events: far more than the socket buffers between the two hold on loopback (the
  // caller's receive buffer does not grow while it reads nothing; the send buffer stops at 4 MB),
  // so the rest can only wait in the server, or, held back, in the pipeline.
  const words = Array.from({ length: 60_000 }, (_, index) => `w${index}`);
  const start = (writeStallMs: number) =>
    startTestSwitchyard(
      `
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 0, token_interval_ms: 0, reply: "${words.join(" ")}" }
routes:
  - name: default
    primary: { provider: local, model: tiny }
`,
      { limits: { writeStallMs } },
    );
  /** A streamed chat over HTTP/1.1 whose caller reads nothing once its socket buffer is full. */
  const unreadStream = async (service: TestSwitchyard) => {
    const socket = netConnect(service.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.on("error", () => {});
    const body = chat({ stream: true });
    // Node reads a socket into its own buffer until that is full, then stops reading it: with no
    // 'data' listener the caller takes nothing more.
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    await vi.waitFor(() => expect(service.app.health.stats("local/tiny").inFlight).toBe(1), {
      timeout: 10_000,
    });
    return socket;
  };

  it("holds the answer back until the caller reads, instead of buffering it, then delivers all of it", async () => {
    const service = await start(60_000);
    const socket = await unreadStream(service);
    try {
      // Had the door buffered the answer, the call would end (and be recorded) within this wait;
      // held back, it is still in flight, its decision not yet recorded.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(service.app.decisions.size).toBe(0);
      expect(service.app.health.stats("local/tiny").inFlight).toBe(1);

      // The caller reads: the rest comes, whole, and the call ends.
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve) => socket.once("end", resolve));
      const text = Buffer.concat(chunks).toString("utf8");
      // The last event is [DONE] (the body is chunked: each event is one chunk).
      expect(text.lastIndexOf("data: ")).toBe(text.indexOf("data: [DONE]\n\n"));
      const said = [...text.matchAll(/"content":"([^"]*)"/g)].map((match) => match[1]).join("");
      expect(said.trim().split(/\s+/)).toHaveLength(words.length);
      await vi.waitFor(() => expect(service.app.decisions.size).toBe(1));
    } finally {
      socket.destroy();
      await service.stop();
    }
  });

  it("is cut by the write-stall watch when the caller stops reading: the wait ends, and so does the call", async () => {
    const service = await start(1000);
    const socket = await unreadStream(service);
    try {
      await vi.waitFor(() => expect(service.app.decisions.size).toBe(1), { timeout: 10_000 });
      const [recorded] = service.app.decisions.list({ limit: 1 }).decisions;
      expect(recorded?.outcome).toBe(
        "abandoned (stalled): the caller stopped reading the stream for 1000 ms",
      );
      expect(service.app.health.stats("local/tiny").inFlight).toBe(0);
    } finally {
      socket.destroy();
      await service.stop();
    }
  });
});
