import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readSseEvents, type SseEvent } from "../../../src/providers/http/sse-reader.js";
import { ProviderError } from "../../../src/providers/provider-error.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url));

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

async function read(
  pieces: Uint8Array[],
  maxEventChars = 1 << 20,
): Promise<{ events: SseEvent[]; endedCleanly: boolean | undefined }> {
  const reader = readSseEvents(fromPieces(pieces), { maxEventChars });
  const events: SseEvent[] = [];
  for await (const event of reader) events.push(event);
  return { events, endedCleanly: reader.endedCleanly };
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

/** Every way of cutting `bytes` in two. */
function everySplit(bytes: Buffer): Buffer[][] {
  return Array.from({ length: bytes.length - 1 }, (_, i) => [
    bytes.subarray(0, i + 1),
    bytes.subarray(i + 1),
  ]);
}

describe("readSseEvents", () => {
  const stream = utf8(
    ": keep-alive comment\n\n" +
      'event: message_start\ndata: {"a":"Grüße 👋 世界"}\n\n' +
      "id: 7\nretry: 1000\ndata: first line\ndata: second line\n\n" +
      "event: ping\n\n" +
      "data:no space\n\n",
  );
  const expected: SseEvent[] = [
    { event: "message_start", data: '{"a":"Grüße 👋 世界"}' },
    { event: undefined, data: "first line\nsecond line" },
    { event: undefined, data: "no space" },
  ];

  it("yields each event's type and data, dropping comments, ids, retries and data-less events", async () => {
    expect(await read([stream])).toEqual({ events: expected, endedCleanly: true });
  });

  it("yields the same events whichever byte the body is split at, multi-byte characters included", async () => {
    for (const pieces of everySplit(stream)) {
      expect(await read(pieces), `split at byte ${pieces[0]?.length}`).toEqual({
        events: expected,
        endedCleanly: true,
      });
    }
  });

  it("yields the same events fed one byte at a time", async () => {
    const pieces = Array.from(stream, (_, i) => stream.subarray(i, i + 1));
    expect(await read(pieces)).toEqual({ events: expected, endedCleanly: true });
  });

  it.each(["text.sse", "tool-call.sse"])("reads the recorded %s identically at every split", async (name) => {
    const bytes = fixture(name);
    const whole = await read([bytes]);
    expect(whole.endedCleanly).toBe(true);
    expect(whole.events.at(-1)).toEqual({ event: undefined, data: "[DONE]" });
    for (const pieces of everySplit(bytes)) {
      expect(await read(pieces), `split at byte ${pieces[0]?.length}`).toEqual(whole);
    }
  });

  it("reads CRLF and CR line endings", async () => {
    const crlf = utf8(stream.toString("utf8").replaceAll("\n", "\r\n"));
    expect(await read([crlf])).toEqual({ events: expected, endedCleanly: true });
    for (const pieces of everySplit(crlf))
      expect(await read(pieces)).toEqual({ events: expected, endedCleanly: true });
    const cr = utf8(stream.toString("utf8").replaceAll("\n", "\r"));
    expect(await read([cr])).toEqual({ events: expected, endedCleanly: true });
  });

  it("ignores a leading byte-order mark", async () => {
    expect(await read([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), utf8("data: x\n\n")])).toEqual({
      events: [{ event: undefined, data: "x" }],
      endedCleanly: true,
    });
  });

  it("ends cleanly on an empty body", async () => {
    expect(await read([])).toEqual({ events: [], endedCleanly: true });
  });

  describe("a body that ends inside an event", () => {
    it.each([
      ["without its blank line", "data: [DONE]\n"],
      ["without its last newline", "data: [DONE]"],
    ])("yields the event cut short %s and reports the end as unclean", async (_label, tail) => {
      expect(await read([utf8(`data: a\n\n${tail}`)])).toEqual({
        events: [
          { event: undefined, data: "a" },
          { event: undefined, data: "[DONE]" },
        ],
        endedCleanly: false,
      });
    });

    it("reports a character cut short as unclean", async () => {
      const bytes = utf8("data: a\n\n👋");
      expect((await read([bytes.subarray(0, bytes.length - 1)])).endedCleanly).toBe(false);
    });

    it("reports the end as unclean before the cut-short event is yielded", async () => {
      const reader = readSseEvents(fromPieces([utf8("data: a\n\ndata: b")]), { maxEventChars: 100 });
      const seen: [string, boolean | undefined][] = [];
      for await (const event of reader) seen.push([event.data, reader.endedCleanly]);
      expect(seen).toEqual([
        ["a", undefined],
        ["b", false],
      ]);
    });
  });

  it("fails as protocol when an event outgrows maxEventChars, after the events before it", async () => {
    const reader = readSseEvents(
      fromPieces([utf8("data: small\n\n"), utf8(`data: ${"x".repeat(60)}`), utf8("x".repeat(60))]),
      { maxEventChars: 100 },
    );
    const seen: string[] = [];
    let thrown: unknown;
    try {
      for await (const event of reader) seen.push(event.data);
    } catch (err) {
      thrown = err;
    }
    expect(seen).toEqual(["small"]);
    expect(thrown).toBeInstanceOf(ProviderError);
    expect(thrown).toMatchObject({
      errorClass: "protocol",
      message: "upstream stream event exceeds the size limit",
    });
  });

  it("counts a multi-line event as a whole against maxEventChars", async () => {
    const lines = Array.from({ length: 20 }, () => `data: ${"y".repeat(10)}\n`).join("");
    await expect(read([utf8(`${lines}\n`)], 100)).rejects.toMatchObject({ errorClass: "protocol" });
  });

  it("passes on a failure of the bytes", async () => {
    const lost = new Error("socket hang up");
    async function* broken() {
      yield utf8("data: a\n\n");
      throw lost;
    }
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const event of readSseEvents(broken(), { maxEventChars: 100 })) seen.push(event.data);
      })(),
    ).rejects.toBe(lost);
    expect(seen).toEqual(["a"]);
  });

  it("stops reading the bytes when the consumer stops", async () => {
    let finalized = false;
    async function* source() {
      try {
        yield utf8("data: a\n\ndata: b\n\n");
        yield utf8("data: c\n\n");
      } finally {
        finalized = true;
      }
    }
    for await (const event of readSseEvents(source(), { maxEventChars: 100 })) {
      if (event.data === "a") break;
    }
    expect(finalized).toBe(true);
  });
});
