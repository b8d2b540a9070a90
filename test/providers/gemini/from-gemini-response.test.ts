import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  createChunkMapper,
  decodeGeminiStream,
  fromGeminiJson,
  mapFinishReason,
  readGeminiUsage,
} from "../../../src/providers/gemini/from-gemini-response.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { StreamPart } from "../../../src/providers/types.js";
import { collect, thrownBy } from "../../helpers/async.js";

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

/** Folds parts into what a consumer ends up with, so differently-split streams can be compared. */
function summarize(parts: StreamPart[]) {
  let text = "";
  const tools: Record<number, { id?: string; name?: string; arguments: string }> = {};
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

function chunk(parts: unknown[] | undefined, finishReason?: string, extra: Record<string, unknown> = {}) {
  const candidate: Record<string, unknown> = { index: 0 };
  if (parts !== undefined) candidate.content = { parts, role: "model" };
  if (finishReason !== undefined) candidate.finishReason = finishReason;
  return { candidates: [candidate], modelVersion: "gemini-2.5-flash", ...extra };
}

const finalUsage = { promptTokenCount: 7, candidatesTokenCount: 3, totalTokenCount: 10 };

describe("mapFinishReason", () => {
  it.each([
    ["STOP", false, "stop"],
    ["STOP", true, "tool_calls"],
    ["MAX_TOKENS", false, "length"],
    ["MAX_TOKENS", true, "length"],
    ["SAFETY", false, "content_filter"],
    ["RECITATION", false, "content_filter"],
    ["PROHIBITED_CONTENT", false, "content_filter"],
    ["SPII", false, "content_filter"],
    ["BLOCKLIST", false, "content_filter"],
    ["OTHER", false, "content_filter"],
    ["FINISH_REASON_UNSPECIFIED", false, "stop"],
    ["SOMETHING_NEW", false, "stop"],
    [undefined, true, "tool_calls"],
  ] as const)("maps %s (tool calls seen: %s) to %s", (raw, sawTools, expected) => {
    expect(mapFinishReason(raw, sawTools)).toBe(expected);
  });
});

describe("readGeminiUsage", () => {
  it("counts thoughts as output and reports the cached part of the prompt", () => {
    expect(
      readGeminiUsage({
        promptTokenCount: 100,
        candidatesTokenCount: 10,
        thoughtsTokenCount: 30,
        cachedContentTokenCount: 60,
        totalTokenCount: 140,
      }),
    ).toEqual({ inputTokens: 100, outputTokens: 40, cachedInputTokens: 60 });
  });

  it("adds server-side tool-use prompt tokens to the input", () => {
    expect(
      readGeminiUsage({ promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 2 }),
    ).toEqual({ inputTokens: 15, outputTokens: 2 });
  });

  it("reads a zero output count left out by protobuf JSON from the total", () => {
    expect(readGeminiUsage({ promptTokenCount: 9, totalTokenCount: 9 })).toEqual({
      inputTokens: 9,
      outputTokens: 0,
    });
    expect(readGeminiUsage({ promptTokenCount: 9, thoughtsTokenCount: 20, totalTokenCount: 29 })).toEqual({
      inputTokens: 9,
      outputTokens: 20,
    });
  });

  it.each([
    ["no prompt count", { candidatesTokenCount: 3, totalTokenCount: 3 }],
    ["neither an output count nor a total", { promptTokenCount: 3 }],
    ["a negative count", { promptTokenCount: -1, candidatesTokenCount: 3 }],
    ["a count as a string", { promptTokenCount: "7", candidatesTokenCount: 3 }],
    [
      "an untrustworthy thoughts count",
      { promptTokenCount: 7, candidatesTokenCount: 3, thoughtsTokenCount: 1.5 },
    ],
    ["a total below the prompt", { promptTokenCount: 7, totalTokenCount: 3 }],
    ["an absurd count", { promptTokenCount: 7, candidatesTokenCount: 1e12 }],
    ["an array", [1, 2]],
    ["null", null],
  ])("is undefined for %s", (_what, metadata) => {
    expect(readGeminiUsage(metadata)).toBeUndefined();
  });
});

describe("createChunkMapper", () => {
  it("maps text chunks, then usage and one response-end when the body ends", () => {
    const mapper = createChunkMapper();
    expect(
      mapper.push(chunk([{ text: "Hel" }], undefined, { usageMetadata: { promptTokenCount: 7 } })),
    ).toEqual([{ type: "text-delta", delta: "Hel" }]);
    expect(mapper.push(chunk([{ text: "lo" }], "STOP", { usageMetadata: finalUsage }))).toEqual([
      { type: "text-delta", delta: "lo" },
    ]);
    expect(mapper.end()).toEqual([
      { type: "usage", usage: { inputTokens: 7, outputTokens: 3 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 7, outputTokens: 3 } },
    ]);
  });

  it("never reports the incomplete usage of intermediate chunks", () => {
    const mapper = createChunkMapper();
    mapper.push(
      chunk([{ text: "a" }], undefined, { usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } }),
    );
    mapper.push(chunk([{ text: "b" }], "STOP"));
    expect(mapper.end()).toEqual([{ type: "response-end", finishReason: "stop" }]);
  });

  it("skips thought summaries and empty text", () => {
    const mapper = createChunkMapper();
    expect(
      mapper.push(chunk([{ text: "thinking…", thought: true }, { text: "" }, { text: "ok" }], "STOP")),
    ).toEqual([{ type: "text-delta", delta: "ok" }]);
  });

  it("emits each whole function call as one piece, with a synthesized id when it has none", () => {
    const mapper = createChunkMapper();
    const parts = mapper.push(
      chunk(
        [
          { functionCall: { name: "lookup", args: { q: "x" } }, thoughtSignature: "c2ln" },
          { functionCall: { name: "now" } },
          { functionCall: { id: "fc-7", name: "later", args: {} } },
        ],
        "STOP",
        { responseId: "resp/1" },
      ),
    );
    expect(parts).toEqual([
      { type: "tool-call-delta", index: 0, id: "call_resp1_0", name: "lookup", argumentsDelta: '{"q":"x"}' },
      { type: "tool-call-delta", index: 1, id: "call_resp1_1", name: "now", argumentsDelta: "{}" },
      { type: "tool-call-delta", index: 2, id: "fc-7", name: "later", argumentsDelta: "{}" },
    ]);
    expect(mapper.end()).toEqual([{ type: "response-end", finishReason: "tool_calls" }]);
  });

  it("numbers calls across chunks, and names them call_<n> without a responseId", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ functionCall: { name: "a" } }]));
    const second = mapper.push(chunk([{ functionCall: { name: "b" } }], "STOP"));
    expect(second).toEqual([
      { type: "tool-call-delta", index: 1, id: "call_1", name: "b", argumentsDelta: "{}" },
    ]);
  });

  it("accepts the first models' finish reason on every chunk", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "a" }], "STOP"));
    mapper.push(chunk([{ text: "b" }], "STOP"));
    expect(mapper.end()).toEqual([{ type: "response-end", finishReason: "stop" }]);
  });

  it("accepts an empty answer that says why it stopped", () => {
    const mapper = createChunkMapper();
    expect(
      mapper.push(
        chunk(undefined, "MAX_TOKENS", { usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } }),
      ),
    ).toEqual([]);
    expect(mapper.end()).toEqual([
      { type: "usage", usage: { inputTokens: 4, outputTokens: 0 } },
      { type: "response-end", finishReason: "length", usage: { inputTokens: 4, outputTokens: 0 } },
    ]);
  });

  it("fails a stream without any finish reason as protocol", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "a" }]));
    expect(() => mapper.end()).toThrow(ProviderError);
    try {
      createChunkMapper().end();
    } catch (error) {
      expect((error as ProviderError).errorClass).toBe("protocol");
    }
  });

  it("fails a stream whose content continued after the last finish reason as protocol", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "a" }], "STOP"));
    mapper.push(chunk([{ text: "b" }]));
    expect(() => mapper.end()).toThrow(/without a finish reason/);
  });

  it.each(["SAFETY", "RECITATION", "PROHIBITED_CONTENT", "SPII", "BLOCKLIST", "LANGUAGE", "OTHER"])(
    "ends an answer withheld for %s before any text with content_filter, as the other wires do",
    (reason) => {
      const mapper = createChunkMapper();
      expect(mapper.push(chunk(undefined, reason, { usageMetadata: finalUsage }))).toEqual([]);
      expect(mapper.end().at(-1)).toMatchObject({ type: "response-end", finishReason: "content_filter" });
    },
  );

  it("ends an answer cut by a filter after text with content_filter", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "partial" }]));
    expect(mapper.push(chunk(undefined, "RECITATION", { usageMetadata: finalUsage }))).toEqual([]);
    expect(mapper.end().at(-1)).toEqual({
      type: "response-end",
      finishReason: "content_filter",
      usage: { inputTokens: 7, outputTokens: 3 },
    });
  });

  it("refuses a blocked prompt as content_refused, naming only known reasons", () => {
    const blocked = (reason: string) => {
      try {
        createChunkMapper().push({
          promptFeedback: { blockReason: reason },
          usageMetadata: { promptTokenCount: 3 },
        });
      } catch (error) {
        return error as ProviderError;
      }
      throw new Error("expected a refusal");
    };
    expect(blocked("SAFETY").errorClass).toBe("content_refused");
    expect(blocked("SAFETY").message).toBe("upstream refused the prompt (block reason SAFETY)");
    expect(blocked("you asked about project_nightingale").message).toBe(
      "upstream refused the prompt (block reason unrecognised reason)",
    );
  });

  it("ends with content_filter when the prompt block comes after text", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "text1" }]));
    mapper.push({ promptFeedback: { blockReason: "SAFETY" } });
    expect(mapper.end()).toEqual([{ type: "response-end", finishReason: "content_filter" }]);
  });

  it("fails a malformed function call as protocol (another target may do better), before or after text", () => {
    for (const before of [[], [{ text: "let me call" }]]) {
      const mapper = createChunkMapper();
      if (before.length > 0) mapper.push(chunk(before));
      let error: unknown;
      try {
        mapper.push(chunk(undefined, "MALFORMED_FUNCTION_CALL"));
      } catch (caught) {
        error = caught;
      }
      expect((error as ProviderError).errorClass).toBe("protocol");
      expect((error as ProviderError).retryable).toBe(true);
    }
  });

  it("throws a mid-stream error chunk with its class, bare or in an array", () => {
    for (const payload of [
      { error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } },
      [{ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }],
    ]) {
      const mapper = createChunkMapper();
      mapper.push(chunk([{ text: "a" }]));
      expect(() => mapper.push(payload)).toThrow(expect.objectContaining({ errorClass: "overloaded" }));
    }
  });

  it("fails a chunk that is not a GenerateContentResponse as protocol", () => {
    expect(() => createChunkMapper().push({ candidates: "nope" })).toThrow(
      expect.objectContaining({ errorClass: "protocol" }),
    );
    expect(() => createChunkMapper().push(42)).toThrow(expect.objectContaining({ errorClass: "protocol" }));
  });

  it("refuses chunks after the end and a second end", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk([{ text: "a" }], "STOP"));
    mapper.end();
    expect(() => mapper.push(chunk([{ text: "b" }]))).toThrow(ProviderError);
    expect(() => mapper.end()).toThrow(ProviderError);
  });
});

describe("decodeGeminiStream", () => {
  const expectations = {
    "text.sse": {
      text: "Héllo 👋 世界!",
      tools: {},
      end: {
        type: "response-end",
        finishReason: "stop",
        usage: { inputTokens: 11, outputTokens: 31, cachedInputTokens: 4 },
      },
    },
    "tool-call.sse": {
      text: "",
      tools: {
        0: {
          id: "call_c2lnbmF0dXJlLXRlc3Q_0",
          name: "get_weather",
          arguments: '{"city":"Paris","unit":"celsius"}',
        },
        1: { id: "call_c2lnbmF0dXJlLXRlc3Q_1", name: "get_weather", arguments: '{"city":"Zürich"}' },
        2: { id: "call_c2lnbmF0dXJlLXRlc3Q_2", name: "now", arguments: "{}" },
      },
      end: { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 64, outputTokens: 58 } },
    },
  } as const;

  it.each(Object.keys(expectations) as (keyof typeof expectations)[])(
    "decodes the recorded %s split at every byte offset, inside multi-byte characters too",
    async (name) => {
      const body = fixture(name);
      const expected = expectations[name];
      const whole = summarize(await collect(decodeGeminiStream(fromPieces([body]))));
      expect(whole.text).toBe(expected.text);
      expect(whole.tools).toEqual(expected.tools);
      expect(whole.ends).toEqual([expected.end]);
      for (let offset = 1; offset < body.length; offset += 1) {
        const split = summarize(
          await collect(decodeGeminiStream(fromPieces([body.subarray(0, offset), body.subarray(offset)]))),
        );
        expect(split, `split at byte ${offset}`).toEqual(whole);
      }
    },
  );

  it("decodes the recorded text.sse delivered one byte per read", async () => {
    const body = fixture("text.sse");
    const pieces = [...body].map((byte) => Uint8Array.of(byte));
    expect(summarize(await collect(decodeGeminiStream(fromPieces(pieces)))).text).toBe("Héllo 👋 世界!");
  });

  it("accepts LF framing and a last event without its blank line", async () => {
    const body = `data: ${JSON.stringify(chunk([{ text: "a" }]))}\n\ndata: ${JSON.stringify(chunk([{ text: "b" }], "STOP"))}`;
    const parts = await collect(decodeGeminiStream(fromPieces([Buffer.from(body)])));
    expect(summarize(parts).text).toBe("ab");
    expect(parts.at(-1)).toEqual({ type: "response-end", finishReason: "stop" });
  });

  it("fails a body cut before the finish reason as protocol, after the text it got", async () => {
    const body = fixture("text.sse");
    const cut = body.subarray(0, body.indexOf("data:", 10));
    const seen: StreamPart[] = [];
    const error = await thrownBy(
      (async () => {
        for await (const part of decodeGeminiStream(fromPieces([cut]))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(error.errorClass).toBe("protocol");
    expect(summarize(seen).text).toBe("Héllo");
  });

  it("fails a body cut inside the final event as protocol", async () => {
    const body = fixture("text.sse");
    const error = await thrownBy(
      collect(decodeGeminiStream(fromPieces([body.subarray(0, body.length - 30)]))),
      ProviderError,
    );
    expect(error.errorClass).toBe("protocol");
  });

  it("fails an event that is not JSON as protocol", async () => {
    const error = await thrownBy(
      collect(decodeGeminiStream(fromPieces([Buffer.from("data: {nope\r\n\r\n")]))),
      ProviderError,
    );
    expect(error.errorClass).toBe("protocol");
  });
});

describe("fromGeminiJson", () => {
  it("replays one GenerateContentResponse", () => {
    expect(fromGeminiJson(chunk([{ text: "whole" }], "STOP", { usageMetadata: finalUsage }))).toEqual([
      { type: "text-delta", delta: "whole" },
      { type: "usage", usage: { inputTokens: 7, outputTokens: 3 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 7, outputTokens: 3 } },
    ]);
  });

  it("replays an array of chunks (the stream endpoint without alt=sse)", () => {
    const parts = fromGeminiJson([
      chunk([{ text: "a" }]),
      chunk([{ functionCall: { name: "f", args: { x: 1 } } }], "STOP"),
    ]);
    expect(summarize(parts)).toMatchObject({
      text: "a",
      tools: { 0: { id: "call_0", name: "f", arguments: '{"x":1}' } },
      last: { type: "response-end", finishReason: "tool_calls" },
    });
  });

  it("throws a Google error body with its class", () => {
    expect(() =>
      fromGeminiJson([{ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } }]),
    ).toThrow(expect.objectContaining({ errorClass: "rate_limited" }));
  });
});
