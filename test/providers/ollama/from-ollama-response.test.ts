import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  createOllamaChunkMapper,
  decodeOllamaStream,
  mapDoneReason,
  readOllamaUsage,
} from "../../../src/providers/ollama/from-ollama-response.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { StreamPart } from "../../../src/providers/types.js";
import { collect, thrownBy } from "../../helpers/async.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/ollama/${name}`, import.meta.url));

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

const ids = () => {
  let n = 0;
  return () => `gen_${n++}`;
};

const line = (message: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  model: "llama3.2",
  created_at: "2025-10-26T17:15:24.097767Z",
  message: { role: "assistant", ...message },
  done: false,
  ...extra,
});
const done = (extra: Record<string, unknown> = {}) => ({
  model: "llama3.2",
  created_at: "2025-10-26T17:15:24.166576Z",
  message: { role: "assistant", content: "" },
  done: true,
  done_reason: "stop",
  prompt_eval_count: 26,
  eval_count: 3,
  ...extra,
});

/** Folds parts into what a consumer ends up with, so differently-split streams can be compared. */
function summarize(parts: StreamPart[]) {
  let text = "";
  const tools: { id?: string; name?: string; arguments: string }[] = [];
  for (const part of parts) {
    if (part.type === "text-delta") text += part.delta;
    if (part.type === "tool-call-delta") {
      const tool = tools[part.index] ?? { arguments: "" };
      tools[part.index] = tool;
      if (part.id !== undefined) tool.id = part.id;
      if (part.name !== undefined) tool.name = part.name;
      tool.arguments += part.argumentsDelta;
    }
  }
  return { text, tools, ends: parts.filter((p) => p.type === "response-end"), last: parts.at(-1) };
}

describe("mapDoneReason", () => {
  it("maps length, stop, a missing reason, and a turn with tool calls", () => {
    expect(mapDoneReason("length", false)).toBe("length");
    expect(mapDoneReason("stop", false)).toBe("stop");
    expect(mapDoneReason(undefined, false)).toBe("stop");
    expect(mapDoneReason("stop", true)).toBe("tool_calls");
  });

  it("refuses load/unload: nothing was generated", () => {
    expect(() => mapDoneReason("load", false)).toThrow(ProviderError);
  });
});

describe("readOllamaUsage", () => {
  it("reads prompt_eval_count as input and eval_count as output", () => {
    expect(readOllamaUsage({ prompt_eval_count: 26, eval_count: 282 })).toEqual({
      inputTokens: 26,
      outputTokens: 282,
    });
  });

  it("reads a count Go's omitempty left out as 0 when the other is there", () => {
    expect(readOllamaUsage({ prompt_eval_count: 26 })).toEqual({ inputTokens: 26, outputTokens: 0 });
  });

  it("has no usage when neither count is there or one cannot be trusted", () => {
    expect(readOllamaUsage({})).toBeUndefined();
    expect(readOllamaUsage({ prompt_eval_count: -1, eval_count: 3 })).toBeUndefined();
    expect(readOllamaUsage({ prompt_eval_count: "26", eval_count: 3 })).toBeUndefined();
  });
});

describe("createOllamaChunkMapper", () => {
  it("maps text lines, then usage and one response-end on the done line", () => {
    const mapper = createOllamaChunkMapper();
    expect(mapper.push(line({ content: "Hel" }))).toEqual([{ type: "text-delta", delta: "Hel" }]);
    expect(mapper.push(line({ content: "" }))).toEqual([]);
    expect(mapper.push(done())).toEqual([
      { type: "usage", usage: { inputTokens: 26, outputTokens: 3 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 26, outputTokens: 3 } },
    ]);
    expect(mapper.ended).toBe(true);
  });

  it("passes no thinking on", () => {
    expect(createOllamaChunkMapper().push(line({ content: "", thinking: "hmm" }))).toEqual([]);
  });

  it("turns each whole tool call into one piece, with a made-up id when it has none and {} for no arguments", () => {
    const mapper = createOllamaChunkMapper({ newToolCallId: ids() });
    expect(
      mapper.push(
        line({
          content: "",
          tool_calls: [
            { id: "call_abc", function: { index: 0, name: "get_weather", arguments: { city: "Tokyo" } } },
            { function: { name: "now" } },
          ],
        }),
      ),
    ).toEqual([
      {
        type: "tool-call-delta",
        index: 0,
        id: "call_abc",
        name: "get_weather",
        argumentsDelta: '{"city":"Tokyo"}',
      },
      { type: "tool-call-delta", index: 1, id: "gen_0", name: "now", argumentsDelta: "{}" },
    ]);
    // A later line's call gets the next index even though Ollama numbers it 0 again.
    expect(
      mapper.push(line({ content: "", tool_calls: [{ function: { index: 0, name: "x", arguments: {} } }] })),
    ).toEqual([{ type: "tool-call-delta", index: 2, id: "gen_1", name: "x", argumentsDelta: "{}" }]);
    expect(mapper.push(done()).at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
  });

  it("maps a whole non-streamed answer (content and tool calls on the done line)", () => {
    const parts = createOllamaChunkMapper({ newToolCallId: ids() }).push(
      done({
        message: {
          role: "assistant",
          content: "",
          tool_calls: [{ function: { name: "get_weather", arguments: { city: "Tokyo" } } }],
        },
      }),
    );
    expect(parts).toEqual([
      {
        type: "tool-call-delta",
        index: 0,
        id: "gen_0",
        name: "get_weather",
        argumentsDelta: '{"city":"Tokyo"}',
      },
      { type: "usage", usage: { inputTokens: 26, outputTokens: 3 } },
      { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 26, outputTokens: 3 } },
    ]);
  });

  it("ends without usage when the done line has no metrics", () => {
    const parts = createOllamaChunkMapper().push({
      model: "m",
      message: { role: "assistant", content: "" },
      done: true,
    });
    expect(parts).toEqual([{ type: "response-end", finishReason: "stop" }]);
  });

  it("throws an error line classified, a non-chunk and a line after done as protocol", () => {
    expect(() => createOllamaChunkMapper().push({ error: "boom" })).toThrow(ProviderError);
    const notChunk = (() => {
      try {
        createOllamaChunkMapper().push({ response: "generate, not chat" });
      } catch (err) {
        return err as ProviderError;
      }
    })();
    expect(notChunk?.errorClass).toBe("protocol");
    const mapper = createOllamaChunkMapper();
    mapper.push(done());
    expect(() => mapper.push(done())).toThrow(/after the final/);
  });
});

describe("decodeOllamaStream", () => {
  it.each(["text.ndjson", "tool-call.ndjson"])(
    "decodes %s the same split at every byte offset",
    async (name) => {
      const bytes = fixture(name);
      const whole = summarize(
        await collect(decodeOllamaStream(fromPieces([bytes]), { newToolCallId: ids() })),
      );
      expect(whole.ends).toHaveLength(1);
      if (name === "text.ndjson") {
        expect(whole.text).toBe("Héllo 👋 世界!");
        expect(whole.last).toEqual({
          type: "response-end",
          finishReason: "stop",
          usage: { inputTokens: 11, outputTokens: 4 },
        });
      } else {
        expect(whole.tools).toEqual([
          {
            id: "call_k3j9x2qa",
            name: "get_current_weather",
            arguments: '{"format":"celsius","location":"Zürich"}',
          },
          { id: "gen_0", name: "get_time", arguments: "{}" },
        ]);
        expect(whole.last).toMatchObject({
          finishReason: "tool_calls",
          usage: { inputTokens: 169, outputTokens: 15 },
        });
      }
      for (let offset = 1; offset < bytes.length; offset++) {
        const pieces = [bytes.subarray(0, offset), bytes.subarray(offset)];
        const split = summarize(
          await collect(decodeOllamaStream(fromPieces(pieces), { newToolCallId: ids() })),
        );
        expect(split).toEqual(whole);
      }
    },
  );

  it("decodes a stream delivered one byte at a time", async () => {
    const bytes = fixture("text.ndjson");
    const pieces = [...bytes].map((b) => Uint8Array.of(b));
    expect(summarize(await collect(decodeOllamaStream(fromPieces(pieces)))).text).toBe("Héllo 👋 世界!");
  });

  it("accepts a done line without its final newline", async () => {
    const bytes = fixture("text.ndjson");
    const parts = await collect(decodeOllamaStream(fromPieces([bytes.subarray(0, bytes.length - 1)])));
    expect(parts.at(-1)?.type).toBe("response-end");
  });

  it("rejects a stream that ends before the done line as protocol, after yielding what came", async () => {
    const text = fixture("text.ndjson").toString("utf8");
    const cut = text.slice(0, text.lastIndexOf('{"model"'));
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of decodeOllamaStream(fromPieces([Buffer.from(cut)]))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
    expect(summarize(seen).text).toBe("Héllo 👋 世界!");
  });

  it("rejects a line that is not JSON as protocol", async () => {
    const err = await thrownBy(
      collect(decodeOllamaStream(fromPieces([Buffer.from("not json\n")]))),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
  });

  it("throws a mid-stream error line with its class", async () => {
    const body = `${JSON.stringify(line({ content: "a" }))}\n{"error":"an error was encountered while running the model"}\n`;
    const err = await thrownBy(collect(decodeOllamaStream(fromPieces([Buffer.from(body)]))), ProviderError);
    expect(err.errorClass).toBe("server");
  });
});
