import { createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient, endpointUrl, type HttpClient } from "../../../src/providers/http/http-client.js";
import { classifyTransportError } from "../../../src/providers/http/http-errors.js";
import type { HttpProviderSettings } from "../../../src/providers/http/http-settings.js";
import { IDLE_LIMIT_MS } from "../../../src/providers/http/keep-alive-pool.js";
import { readText } from "../../../src/providers/http/response-body.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import { type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { thrownBy, within } from "../../helpers/async.js";
import { closedPort } from "../../helpers/ports.js";

function settings(overrides: Partial<HttpProviderSettings> = {}): HttpProviderSettings {
  return {
    name: "test",
    baseUrl: "http://127.0.0.1:1/v1",
    headers: {},
    maxConnections: 4,
    connectTimeoutMs: 2000,
    ...overrides,
  };
}

/** A TCP server that accepts connections and never says a word (a TLS handshake never completes). */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const live = () => new AbortController().signal;

describe("createHttpClient", () => {
  let fake: FakeOpenAi;
  let client: HttpClient | undefined;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    fake.reset();
  });

  function open(overrides: Partial<HttpProviderSettings> = {}, headers: Record<string, string> = {}) {
    client = createHttpClient(settings({ baseUrl: fake.url, ...overrides }), { headers });
    return client;
  }
  const completions = () => `${fake.url}/chat/completions`;
  const body = { model: "m", messages: [{ role: "user", content: "hi" }], stream: false };

  it("posts JSON with the configured headers, the vendor's over them, and the accept asked for", async () => {
    const http = open(
      { headers: { "HTTP-Referer": "https://switchyard.test", Authorization: "wrong" } },
      {
        authorization: "Bearer sk-test",
      },
    );
    const response = await http.postJson(completions(), body, { signal: live(), accept: "application/json" });
    expect(response.statusCode).toBe(200);
    await readText(response.body, 1 << 20);

    const [request] = fake.requests;
    expect(request?.body).toEqual(body);
    expect(request?.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": "switchyard",
      "http-referer": "https://switchyard.test",
      authorization: "Bearer sk-test",
      accept: "application/json",
    });
  });

  it("resolves on the headers of a non-2xx answer, leaving the body to the caller", async () => {
    fake.script({ type: "error", status: 503 });
    const response = await open().postJson(completions(), body, {
      signal: live(),
      accept: "application/json",
    });
    expect(response.statusCode).toBe(503);
    expect((await readText(response.body, 1 << 20)).text).toContain("server_error");
  });

  it("reuses one keep-alive connection for sequential calls", async () => {
    const http = open();
    for (let i = 0; i < 3; i++) {
      const response = await http.postJson(completions(), body, {
        signal: live(),
        accept: "application/json",
      });
      await readText(response.body, 1 << 20);
      // undici hands the socket back to the pool one event-loop turn after the body ends.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(fake.requests).toHaveLength(3);
    expect(fake.connectionCount).toBe(1);
  });

  it("opens at most maxConnections sockets, queueing the calls beyond", async () => {
    fake.setFallback(() => ({ type: "reply", content: "slow", firstByteDelayMs: 100 }));
    const http = open({ maxConnections: 2 });
    const calls = Array.from({ length: 5 }, async () => {
      const response = await http.postJson(completions(), body, {
        signal: live(),
        accept: "application/json",
      });
      return (await readText(response.body, 1 << 20)).text;
    });
    const answers = await Promise.all(calls);
    expect(answers.every((answer) => answer.includes("slow"))).toBe(true);
    expect(fake.requests).toHaveLength(5);
    expect(fake.connectionCount).toBe(2);
  });

  it("fails a refused connection as connect, retryable", async () => {
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    client = createHttpClient(settings({ baseUrl }));
    const err = await thrownBy(
      client.postJson(`${baseUrl}/chat/completions`, body, { signal: live(), accept: "*/*" }),
      ProviderError,
    );
    expect(err.errorClass).toBe("connect");
    expect(err.retryable).toBe(true);
  });

  it("gives up connecting after connectTimeoutMs (a TLS handshake that never completes) as connect", async () => {
    const silent = await startSilentServer();
    try {
      const baseUrl = `https://127.0.0.1:${silent.port}/v1`;
      client = createHttpClient(settings({ baseUrl, connectTimeoutMs: 100 }));
      const started = performance.now();
      const err = await thrownBy(
        client.postJson(`${baseUrl}/chat/completions`, body, { signal: live(), accept: "*/*" }),
        ProviderError,
      );
      expect(err.errorClass).toBe("connect");
      expect(err.message).toContain("UND_ERR_CONNECT_TIMEOUT");
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await silent.close();
    }
  });

  it("waits minutes, not seconds, for a silent upstream by default", () => {
    // Reasoning models may think for minutes before their first byte; the call's budgets decide.
    expect(IDLE_LIMIT_MS).toBeGreaterThanOrEqual(10 * 60 * 1000);
  });

  it("fails as timeout when headers do not come within the idle limit", async () => {
    fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
    client = createHttpClient(settings({ baseUrl: fake.url }), { idleLimitMs: 100 });
    const err = await thrownBy(
      client.postJson(completions(), body, { signal: live(), accept: "*/*" }),
      ProviderError,
    );
    expect(err.errorClass).toBe("timeout");
    expect(err.message).toContain("UND_ERR_HEADERS_TIMEOUT");
  });

  it("fails a body read as timeout when the body stalls beyond the idle limit", async () => {
    fake.script({ type: "raw", contentType: "text/event-stream", body: "data: {}\n\n", end: "hang" });
    client = createHttpClient(settings({ baseUrl: fake.url }), { idleLimitMs: 100 });
    const signal = live();
    const response = await client.postJson(completions(), body, { signal, accept: "text/event-stream" });
    const err = await readText(response.body, 1 << 20).then(
      () => undefined,
      (error: unknown) => classifyTransportError(error, "body", signal),
    );
    expect(err?.errorClass).toBe("timeout");
    expect(err?.message).toContain("UND_ERR_BODY_TIMEOUT");
  });

  describe("cancellation", () => {
    it("sends nothing when the signal is already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      const err = await thrownBy(
        open().postJson(completions(), body, { signal: controller.signal, accept: "*/*" }),
        ProviderError,
      );
      expect(err.errorClass).toBe("cancelled");
      expect(fake.connectionCount).toBe(0);
    });

    it("aborts while waiting for headers with the abort's class, and the server sees the connection close", async () => {
      fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
      const controller = new AbortController();
      const pending = open().postJson(completions(), body, { signal: controller.signal, accept: "*/*" });
      const [request] = await fake.waitForRequests(1);
      const budget = new ProviderError("timeout", "first token budget exceeded");
      controller.abort(budget);
      expect(await thrownBy(pending, ProviderError)).toBe(budget);
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    });

    it("ties a call's signal to the client: closing aborts calls in flight and refuses new ones", async () => {
      fake.script({ type: "reply", content: "late", firstByteDelayMs: 5000 });
      const http = open();
      const signal = http.callSignal(live());
      const outcome = thrownBy(http.postJson(completions(), body, { signal, accept: "*/*" }), ProviderError);
      const [request] = await fake.waitForRequests(1);
      await http.close();
      expect((await outcome).errorClass).toBe("cancelled");
      expect(signal.aborted).toBe(true);
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");

      const after = http.callSignal(live());
      expect(
        (await thrownBy(http.postJson(completions(), body, { signal: after, accept: "*/*" }), ProviderError))
          .errorClass,
      ).toBe("cancelled");
      expect(fake.requests).toHaveLength(1);
    });

    it("closes once, however often it is asked", async () => {
      const http = open();
      await Promise.all([http.close(), http.close()]);
      await http.close();
    });
  });
});

describe("endpointUrl", () => {
  it.each([
    ["https://api.openai.com/v1", "chat/completions"],
    ["https://api.openai.com/v1/", "/chat/completions"],
    ["https://api.openai.com/v1//", "chat/completions"],
  ])("joins %s and %s with one slash", (base, path) => {
    expect(endpointUrl(base, path)).toBe("https://api.openai.com/v1/chat/completions");
  });
});
