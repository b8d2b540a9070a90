import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient, type HttpClient } from "../../../src/providers/http/http-client.js";
import {
  disposeBody,
  isSuccessStatus,
  mediaType,
  parseJson,
  readText,
  releaseAfterDrain,
} from "../../../src/providers/http/response-body.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import { type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { within } from "../../helpers/async.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("readText", () => {
  it("reads a body in pieces, a character split between them included", async () => {
    const bytes = Buffer.from("Grüße 👋", "utf8");
    const body = Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10)]);
    expect(await readText(body, 1024)).toEqual({ text: "Grüße 👋", truncated: false });
  });

  it("accepts a body of exactly the limit", async () => {
    expect(await readText(Readable.from([Buffer.from("abcd")]), 4)).toEqual({
      text: "abcd",
      truncated: false,
    });
  });

  it("cuts a longer body at the limit and destroys it instead of buffering the rest", async () => {
    let produced = 0;
    const body = new Readable({
      read() {
        produced += 1;
        this.push(Buffer.from("0123456789"));
      },
    });
    const read = await readText(body, 25);
    expect(read).toEqual({ text: "0123456789012345678901234", truncated: true });
    expect(body.destroyed).toBe(true);
    expect(produced).toBeLessThan(10);
  });

  it("passes on a failure of the body (a connection lost mid-body)", async () => {
    const lost = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    const body = new Readable({
      read() {
        this.destroy(lost);
      },
    });
    await expect(readText(body, 1024)).rejects.toBe(lost);
  });
});

describe("parseJson", () => {
  it("parses JSON", () => {
    expect(parseJson('{"a":[1,2]}', "upstream answer is not JSON")).toEqual({ a: [1, 2] });
  });

  it("fails as protocol with the fixed message, the text in the cause only", () => {
    let thrown: unknown;
    try {
      parseJson("<html>secret prompt</html>", "upstream answer is not JSON");
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProviderError);
    const err = thrown as ProviderError;
    expect(err.errorClass).toBe("protocol");
    expect(err.retryable).toBe(true);
    expect(err.message).toBe("upstream answer is not JSON");
    expect(err.cause).toMatchObject({ body: "<html>secret prompt</html>" });
  });
});

describe("isSuccessStatus and mediaType", () => {
  it("counts 2xx as success", () => {
    expect([199, 200, 204, 299, 300, 404].map(isSuccessStatus)).toEqual([
      false,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it("reads the media type without parameters, lowercased", () => {
    expect(mediaType({ "content-type": "Text/Event-Stream; charset=utf-8" })).toBe("text/event-stream");
    expect(mediaType({ "content-type": ["application/json", "text/plain"] })).toBe("application/json");
    expect(mediaType({})).toBe("");
  });
});

describe("draining and disposing of a response body (real sockets)", () => {
  let fake: FakeOpenAi;
  let http: HttpClient;
  const url = () => `${fake.url}/chat/completions`;
  const body = { model: "m", messages: [{ role: "user", content: "hi" }] };

  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await http.close();
    fake.reset();
  });

  /** A stream whose last bytes come `delayMs` after the first ones. */
  function lateEnd(delayMs: number): void {
    fake.script({
      type: "handler",
      handle(_request, response) {
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write("data: first\n\n");
        setTimeout(() => response.end("data: last\n\n"), delayMs);
      },
    });
  }

  async function firstRead(signal: AbortSignal = new AbortController().signal) {
    const response = await http.postJson(url(), body, { signal, accept: "text/event-stream" });
    const iterator = response.body.iterator({ destroyOnReturn: false });
    await iterator.next();
    await iterator.return?.();
    return response;
  }

  it("releaseAfterDrain lets the last bytes arrive, and the connection serves the next call", async () => {
    http = createHttpClient({
      name: "t",
      baseUrl: fake.url,
      headers: {},
      maxConnections: 4,
      connectTimeoutMs: 2000,
    });
    lateEnd(50);
    const response = await firstRead();
    releaseAfterDrain(response.body);
    await sleep(150);
    expect(fake.requests[0]?.closedBeforeResponseEnd).toBe(false);

    const next = await http.postJson(url(), body, { signal: new AbortController().signal, accept: "*/*" });
    await readText(next.body, 1 << 20);
    expect(fake.connectionCount).toBe(1);
  });

  it("releaseAfterDrain cuts a body still open after the grace period", async () => {
    http = createHttpClient({
      name: "t",
      baseUrl: fake.url,
      headers: {},
      maxConnections: 4,
      connectTimeoutMs: 2000,
    });
    lateEnd(5000);
    const response = await firstRead();
    releaseAfterDrain(response.body, 50);
    const request = fake.requests[0];
    await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
    expect(request?.closedBeforeResponseEnd).toBe(true);
  });

  it("disposeBody keeps the connection of an answered call", async () => {
    http = createHttpClient({
      name: "t",
      baseUrl: fake.url,
      headers: {},
      maxConnections: 4,
      connectTimeoutMs: 2000,
    });
    lateEnd(50);
    const response = await firstRead();
    disposeBody(response.body, { answered: true, signal: new AbortController().signal });
    await sleep(150);
    expect(fake.requests[0]?.closedBeforeResponseEnd).toBe(false);
    expect(fake.openConnections).toBe(1);
  });

  it.each([
    ["not answered", false, false],
    ["answered, but aborted", true, true],
  ])(
    "disposeBody closes the connection of a call %s, so the upstream stops",
    async (_label, answered, aborted) => {
      http = createHttpClient({
        name: "t",
        baseUrl: fake.url,
        headers: {},
        maxConnections: 4,
        connectTimeoutMs: 2000,
      });
      lateEnd(5000);
      const controller = new AbortController();
      const response = await firstRead(controller.signal);
      if (aborted) controller.abort();
      disposeBody(response.body, { answered, signal: controller.signal });
      const request = fake.requests[0];
      await within(request?.socketClosed ?? Promise.reject(), 2000, "the socket to close");
      expect(request?.closedBeforeResponseEnd).toBe(true);
    },
  );

  it("disposeBody leaves a body read to its end alone", async () => {
    http = createHttpClient({
      name: "t",
      baseUrl: fake.url,
      headers: {},
      maxConnections: 4,
      connectTimeoutMs: 2000,
    });
    const response = await http.postJson(url(), body, {
      signal: new AbortController().signal,
      accept: "*/*",
    });
    await readText(response.body, 1 << 20);
    disposeBody(response.body, { answered: false, signal: new AbortController().signal });
    await new Promise((resolve) => setImmediate(resolve));
    const next = await http.postJson(url(), body, { signal: new AbortController().signal, accept: "*/*" });
    await readText(next.body, 1 << 20);
    expect(fake.connectionCount).toBe(1);
  });
});
