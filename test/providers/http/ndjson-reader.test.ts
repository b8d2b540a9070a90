import { describe, expect, it } from "vitest";
import { readNdjson } from "../../../src/providers/http/ndjson-reader.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import { thrownBy } from "../../helpers/async.js";

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

async function read(
  pieces: Uint8Array[],
  maxLineBytes = 1 << 20,
): Promise<{ values: unknown[]; endedCleanly: boolean | undefined }> {
  const reader = readNdjson(fromPieces(pieces), { maxLineBytes });
  const values: unknown[] = [];
  for await (const value of reader) values.push(value);
  return { values, endedCleanly: reader.endedCleanly };
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

/** Shaped like Ollama's native /api/chat stream. https://github.com/ollama/ollama/blob/main/docs/api.md */
const values = [
  {
    model: "llama3.2",
    created_at: "2025-01-01T00:00:00.000Z",
    message: { role: "assistant", content: "Grüße" },
    done: false,
  },
  {
    model: "llama3.2",
    created_at: "2025-01-01T00:00:00.050Z",
    message: { role: "assistant", content: " 👋 世界" },
    done: false,
  },
  {
    model: "llama3.2",
    created_at: "2025-01-01T00:00:00.100Z",
    message: { role: "assistant", content: "" },
    done: true,
    done_reason: "stop",
    prompt_eval_count: 26,
    eval_count: 3,
  },
];
const body = utf8(values.map((value) => `${JSON.stringify(value)}\n`).join(""));

describe("readNdjson", () => {
  it("yields one parsed value per line", async () => {
    expect(await read([body])).toEqual({ values, endedCleanly: true });
  });

  it("yields the same values whichever byte the body is split at, multi-byte characters included", async () => {
    for (let cut = 1; cut < body.length; cut += 1) {
      expect(await read([body.subarray(0, cut), body.subarray(cut)]), `split at byte ${cut}`).toEqual({
        values,
        endedCleanly: true,
      });
    }
  });

  it("yields the same values fed one byte at a time", async () => {
    expect(await read(Array.from(body, (_, i) => body.subarray(i, i + 1)))).toEqual({
      values,
      endedCleanly: true,
    });
  });

  it("accepts CRLF endings, blank lines and surrounding whitespace", async () => {
    expect(await read([utf8('{"a":1}\r\n\r\n  {"b":2}  \n\n')])).toEqual({
      values: [{ a: 1 }, { b: 2 }],
      endedCleanly: true,
    });
  });

  it("yields every JSON value, not only objects", async () => {
    expect((await read([utf8('1\n"two"\nnull\n[3]\n')])).values).toEqual([1, "two", null, [3]]);
  });

  it("ends cleanly on an empty body", async () => {
    expect(await read([])).toEqual({ values: [], endedCleanly: true });
  });

  it("yields a last line without its newline and reports the end as unclean", async () => {
    expect(await read([utf8('{"a":1}\n{"done":true}')])).toEqual({
      values: [{ a: 1 }, { done: true }],
      endedCleanly: false,
    });
  });

  it("fails as protocol on a line that is not JSON, after the values before it, the line in the cause only", async () => {
    const reader = readNdjson(fromPieces([utf8('{"a":1}\n{"a": my secret\n{"a":3}\n')]), {
      maxLineBytes: 100,
    });
    const seen: unknown[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const value of reader) seen.push(value);
      })(),
      ProviderError,
    );
    expect(seen).toEqual([{ a: 1 }]);
    expect(err.errorClass).toBe("protocol");
    expect(err.message).toBe("upstream stream line is not JSON");
    expect(err.cause).toMatchObject({ line: '{"a": my secret' });
  });

  it("fails as protocol on a truncated last line", async () => {
    expect((await thrownBy(read([utf8('{"a":1}\n{"a":')]), ProviderError)).errorClass).toBe("protocol");
  });

  it.each([
    ["in one piece", [utf8(`{"a":"${"x".repeat(100)}"}\n`)]],
    ["in many pieces, no newline yet", Array.from({ length: 20 }, () => utf8("xxxxxxxxxx"))],
    [
      "across pieces, ending in a later one",
      [utf8(`{"a":"${"x".repeat(60)}`), utf8(`${"x".repeat(60)}"}\n`)],
    ],
  ])("fails as protocol on a line longer than maxLineBytes, %s", async (_label, pieces) => {
    const err = await thrownBy(read(pieces, 100), ProviderError);
    expect(err.errorClass).toBe("protocol");
    expect(err.message).toBe("upstream stream line exceeds the size limit");
  });

  it("accepts a line of exactly maxLineBytes", async () => {
    const line = `{"a":"${"x".repeat(92)}"}`;
    expect(line.length).toBe(100);
    expect((await read([utf8(`${line}\n`)], 100)).values).toEqual([{ a: "x".repeat(92) }]);
  });

  it("does not rely on the source keeping its buffers", async () => {
    const reused = Buffer.from('{"a":');
    async function* source() {
      yield reused;
      yield utf8('"ok"}\n');
    }
    const reader = readNdjson(
      (async function* () {
        for await (const piece of source()) {
          yield piece;
          piece.fill(0x20);
        }
      })(),
      { maxLineBytes: 100 },
    );
    const seen: unknown[] = [];
    for await (const value of reader) seen.push(value);
    expect(seen).toEqual([{ a: "ok" }]);
  });

  it("stops reading the bytes when the consumer stops", async () => {
    let finalized = false;
    async function* source() {
      try {
        yield utf8('{"a":1}\n{"a":2}\n');
        yield utf8('{"a":3}\n');
      } finally {
        finalized = true;
      }
    }
    for await (const _value of readNdjson(source(), { maxLineBytes: 100 })) break;
    expect(finalized).toBe(true);
  });
});
