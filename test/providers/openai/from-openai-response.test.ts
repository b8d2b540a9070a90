import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { completionToParts } from "../../../src/providers/completion.js";
import {
  createChunkMapper,
  decodeOpenAiStream,
  fromOpenAiResponse,
  mapFinishReason,
  readOpenAiUsage,
} from "../../../src/providers/openai/from-openai-response.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { StreamPart } from "../../../src/providers/types.js";
import { collect, thrownBy } from "../../helpers/async.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url));

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

/** Folds parts into what a consumer ends up with, so differently-split streams can be compared. */
function summarize(parts: StreamPart[]) {
  let text = "";
  const tools: Record<number, { id?: string; name?: string; arguments: string }> = {};
  const ends = parts.filter((p) => p.type === "response-end");
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
  return { text, tools, ends, last: parts.at(-1)?.type };
}

function chunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
) {
  return {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  };
}

/** Usage values no count can be made of: each is treated as if the upstream had sent none. */
const untrustedUsage: [string, unknown][] = [
  ["a negative count", { prompt_tokens: -3, completion_tokens: 2, total_tokens: -1 }],
  ["a fractional count", { prompt_tokens: 3.5, completion_tokens: 2 }],
  ["a count as a string", { prompt_tokens: "3", completion_tokens: 2 }],
  ["a count that is null", { prompt_tokens: 3, completion_tokens: null }],
  ["an absurd count", { prompt_tokens: 3, completion_tokens: 1e12 }],
  ["a count past 2^53", { prompt_tokens: 2 ** 60, completion_tokens: 2 }],
  ["no completion count", { prompt_tokens: 3 }],
  ["no prompt count", { completion_tokens: 3 }],
  ["a string instead of an object", "lots"],
  ["an array instead of an object", [3, 2]],
];

describe("mapFinishReason", () => {
  it.each([
    ["stop", false, "stop"],
    ["length", false, "length"],
    ["tool_calls", true, "tool_calls"],
    ["content_filter", false, "content_filter"],
    ["function_call", true, "tool_calls"],
    [null, false, "stop"],
    ["something_new", false, "stop"],
    // Ollama and older vLLM say "stop" on a turn that called tools.
    ["stop", true, "tool_calls"],
    [undefined, true, "tool_calls"],
  ] as const)("maps %s (tool calls seen: %s) to %s", (raw, sawTools, expected) => {
    expect(mapFinishReason(raw, sawTools)).toBe(expected);
  });
});

describe("fromOpenAiResponse", () => {
  it("maps text, finish reason and usage", () => {
    const completion = fromOpenAiResponse({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello!", refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: "length",
        },
      ],
      usage: {
        prompt_tokens: 9,
        completion_tokens: 3,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 0 },
      },
      service_tier: "default",
      system_fingerprint: "fp_x",
    });
    expect(completion).toEqual({
      content: "Hello!",
      toolCalls: [],
      finishReason: "length",
      usage: { inputTokens: 9, outputTokens: 3 },
    });
  });

  it("maps tool calls and null content", () => {
    const completion = fromOpenAiResponse({
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_a",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
              // Some compatible servers hand back the arguments object itself.
              { id: "call_b", type: "function", function: { name: "get_time", arguments: { tz: "CET" } } },
            ],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
    });
    expect(completion.content).toBe("");
    expect(completion.finishReason).toBe("tool_calls");
    expect(completion.toolCalls).toEqual([
      { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_b", name: "get_time", arguments: '{"tz":"CET"}' },
    ]);
  });

  it("maps the deprecated function_call to a tool call", () => {
    const completion = fromOpenAiResponse({
      choices: [
        {
          message: { role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } },
          finish_reason: "function_call",
        },
      ],
    });
    expect(completion.toolCalls).toEqual([{ id: "", name: "f", arguments: "{}" }]);
    expect(completion.finishReason).toBe("tool_calls");
  });

  it("reports no usage, rather than zero, when the server sends none", () => {
    const completion = fromOpenAiResponse({
      choices: [{ message: { content: "x" }, finish_reason: "stop" }],
    });
    expect(completion).toEqual({ content: "x", toolCalls: [], finishReason: "stop" });
    expect(completion).not.toHaveProperty("usage");
  });

  it.each(untrustedUsage)("treats usage with %s as missing, keeping the answer", (_label, usage) => {
    const completion = fromOpenAiResponse({
      choices: [{ message: { content: "x" }, finish_reason: "stop" }],
      usage,
    });
    expect(completion).toEqual({ content: "x", toolCalls: [], finishReason: "stop" });
  });

  it("ignores a total_tokens it does not use", () => {
    const completion = fromOpenAiResponse({
      choices: [{ message: { content: "x" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 4, completion_tokens: 1, total_tokens: -1 },
    });
    expect(completion.usage).toEqual({ inputTokens: 4, outputTokens: 1 });
  });

  it("throws the classified error for an error envelope answered with 200", () => {
    const err = (() => {
      try {
        fromOpenAiResponse({
          error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" },
        });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).errorClass).toBe("rate_limited");
  });

  it.each([
    ["a string", "hello"],
    ["an object without choices", { id: "x" }],
    ["empty choices", { choices: [] }],
    ["a message that is not an object", { choices: [{ message: "hi" }] }],
  ])("throws protocol for %s", (_label, body) => {
    expect(() => fromOpenAiResponse(body)).toThrowError(
      expect.objectContaining({ errorClass: "protocol", retryable: true }),
    );
  });
});

describe("createChunkMapper", () => {
  it("emits text deltas, a usage part and one response-end with finish reason and usage", () => {
    const mapper = createChunkMapper();
    const parts = [
      ...mapper.push(chunk({ role: "assistant", content: "", refusal: null })),
      ...mapper.push(chunk({ content: "Hel" })),
      ...mapper.push(chunk({ content: "lo" })),
      ...mapper.push(chunk({}, "stop")),
      ...mapper.push({
        id: "x",
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
      }),
      ...mapper.done(),
    ];
    expect(parts).toEqual([
      { type: "text-delta", delta: "Hel" },
      { type: "text-delta", delta: "lo" },
      { type: "usage", usage: { inputTokens: 5, outputTokens: 2 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 5, outputTokens: 2 } },
    ]);
  });

  it("ends without usage when none was sent", () => {
    const mapper = createChunkMapper();
    mapper.push(chunk({ content: "x" }, "length"));
    expect(mapper.done()).toEqual([{ type: "response-end", finishReason: "length" }]);
  });

  it("announces a tool call's id and name once, then argument pieces", () => {
    const mapper = createChunkMapper();
    const parts = [
      ...mapper.push(
        chunk({
          role: "assistant",
          content: null,
          tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }],
        }),
      ),
      ...mapper.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] })),
      // A gateway repeating the id on a later piece must not look like a new call.
      ...mapper.push(chunk({ tool_calls: [{ index: 0, id: "call_1", function: { arguments: ":1}" } }] })),
      ...mapper.push(chunk({}, "tool_calls")),
      ...mapper.done(),
    ];
    expect(parts).toEqual([
      { type: "tool-call-delta", index: 0, id: "call_1", name: "f", argumentsDelta: "" },
      { type: "tool-call-delta", index: 0, argumentsDelta: '{"a"' },
      { type: "tool-call-delta", index: 0, argumentsDelta: ":1}" },
      { type: "response-end", finishReason: "tool_calls" },
    ]);
  });

  it("gives index-less tool calls (Mistral) distinct indexes by id", () => {
    const mapper = createChunkMapper();
    const parts = [
      ...mapper.push(chunk({ tool_calls: [{ id: "a", function: { name: "f", arguments: "{}" } }] })),
      ...mapper.push(chunk({ tool_calls: [{ id: "b", function: { name: "g", arguments: "{}" } }] })),
    ];
    expect(parts.map((p) => (p.type === "tool-call-delta" ? [p.index, p.id] : p.type))).toEqual([
      [0, "a"],
      [1, "b"],
    ]);
  });

  it("reports tool_calls when a server says stop after calling tools", () => {
    const mapper = createChunkMapper();
    mapper.push(
      chunk({ tool_calls: [{ index: 0, id: "a", function: { name: "f", arguments: "{}" } }] }, "stop"),
    );
    expect(mapper.done()).toEqual([{ type: "response-end", finishReason: "tool_calls" }]);
  });

  it.each(untrustedUsage)(
    "treats usage with %s as missing: no usage part, none on response-end",
    (_label, usage) => {
      const mapper = createChunkMapper();
      const parts = [
        ...mapper.push(chunk({ content: "hi" }, "stop")),
        ...mapper.push({ id: "x", choices: [], usage }),
        ...mapper.done(),
      ];
      expect(parts).toEqual([
        { type: "text-delta", delta: "hi" },
        { type: "response-end", finishReason: "stop" },
      ]);
    },
  );

  it("accepts vLLM's null choices and Azure's prompt-filter chunk", () => {
    const mapper = createChunkMapper();
    expect(mapper.push({ id: "", choices: [], prompt_filter_results: [{ prompt_index: 0 }] })).toEqual([]);
    expect(
      mapper.push({ id: "x", choices: null, usage: { prompt_tokens: 1, completion_tokens: 1 } }),
    ).toEqual([{ type: "usage", usage: { inputTokens: 1, outputTokens: 1 } }]);
  });

  it("ignores choices other than the first", () => {
    const mapper = createChunkMapper();
    const parts = mapper.push({
      choices: [
        { index: 1, delta: { content: "other" }, finish_reason: null },
        { index: 0, delta: { content: "mine" }, finish_reason: null },
      ],
    });
    expect(parts).toEqual([{ type: "text-delta", delta: "mine" }]);
  });

  it("throws the classified error for an error payload", () => {
    const mapper = createChunkMapper();
    expect(() => mapper.push({ error: { message: "boom", type: "server_error", code: null } })).toThrowError(
      expect.objectContaining({ errorClass: "server", retryable: true }),
    );
  });

  it("throws protocol for a chunk of the wrong shape and for a second [DONE]", () => {
    const mapper = createChunkMapper();
    expect(() => mapper.push({ choices: "nope" })).toThrowError(
      expect.objectContaining({ errorClass: "protocol" }),
    );
    mapper.push(chunk({ content: "x" }, "stop"));
    mapper.done();
    expect(() => mapper.done()).toThrowError(expect.objectContaining({ errorClass: "protocol" }));
  });

  it("ends an answer with empty content but a finish_reason as a valid empty answer", () => {
    const mapper = createChunkMapper();
    const parts = [
      ...mapper.push(chunk({ role: "assistant", content: "", refusal: null })),
      ...mapper.push(chunk({}, "length")),
      ...mapper.push({ id: "x", choices: [], usage: { prompt_tokens: 5, completion_tokens: 0 } }),
      ...mapper.done(),
    ];
    expect(parts).toEqual([
      { type: "usage", usage: { inputTokens: 5, outputTokens: 0 } },
      { type: "response-end", finishReason: "length", usage: { inputTokens: 5, outputTokens: 0 } },
    ]);
  });

  it.each([
    ["nothing at all", []],
    ["only chunks it does not recognise", [{ foo: 1 }, { foo: 2, bar: [] }]],
    [
      "only chunks without choices or usage",
      [
        { id: "x", choices: [] },
        { id: "y", choices: null },
      ],
    ],
    [
      "only Azure's prompt-filter chunk",
      [{ id: "", choices: [], prompt_filter_results: [{ prompt_index: 0 }] }],
    ],
    ["only a role, no content and no finish_reason", [chunk({ role: "assistant", content: "" })]],
    [
      "only choices other than the first",
      [{ choices: [{ index: 1, delta: { content: "x" }, finish_reason: "stop" }] }],
    ],
    ["only usage", [{ id: "x", choices: [], usage: { prompt_tokens: 5, completion_tokens: 0 } }]],
  ])("throws protocol at [DONE] after %s: no answer came", (_label, chunks) => {
    const mapper = createChunkMapper();
    for (const payload of chunks) mapper.push(payload);
    expect(() => mapper.done()).toThrowError(
      expect.objectContaining({
        errorClass: "protocol",
        retryable: true,
        message: "upstream stream ended without an answer",
      }),
    );
  });
});

describe("decodeOpenAiStream", () => {
  const text = fixture("text.sse");
  const tools = fixture("tool-call.sse");
  const expectedText = {
    text: "Héllo 👋 世界!",
    tools: {},
    ends: [{ type: "response-end", finishReason: "stop", usage: { inputTokens: 19, outputTokens: 5 } }],
    last: "response-end",
  };
  const expectedTools = {
    text: "",
    tools: {
      0: {
        id: "call_DdmO9pD3xa9XTPNJ32zg2hcA",
        name: "get_weather",
        arguments: '{"location":"Paris, France"}',
      },
      1: { id: "call_8rMZ2kYwqVfQ1hLcT0aJ4eNs", name: "get_time", arguments: '{"tz":"CET"}' },
    },
    ends: [
      { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 82, outputTokens: 36 } },
    ],
    last: "response-end",
  };

  it("decodes the recorded text stream", async () => {
    const parts = await collect(decodeOpenAiStream(fromPieces([text])));
    expect(summarize(parts)).toEqual(expectedText);
    expect(parts.filter((p) => p.type === "usage")).toHaveLength(1);
  });

  it("decodes the recorded tool-call stream", async () => {
    expect(summarize(await collect(decodeOpenAiStream(fromPieces([tools]))))).toEqual(expectedTools);
  });

  it.each([
    ["text.sse", text, expectedText],
    ["tool-call.sse", tools, expectedTools],
  ])("decodes %s identically when split at every byte boundary", async (_name, bytes, expected) => {
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const parts = await collect(
        decodeOpenAiStream(fromPieces([bytes.subarray(0, cut), bytes.subarray(cut)])),
      );
      expect(summarize(parts), `split at byte ${cut}`).toEqual(expected);
    }
  });

  it.each([
    ["text.sse", text, expectedText],
    ["tool-call.sse", tools, expectedTools],
  ])("decodes %s fed one byte at a time", async (_name, bytes, expected) => {
    const pieces = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect(summarize(await collect(decodeOpenAiStream(fromPieces(pieces))))).toEqual(expected);
  });

  it("decodes CRLF line endings", async () => {
    const crlf = Buffer.from(text.toString("utf8").replaceAll("\n", "\r\n"), "utf8");
    expect(summarize(await collect(decodeOpenAiStream(fromPieces([crlf]))))).toEqual(expectedText);
  });

  it("ignores SSE comments (OpenRouter's keep-alives)", async () => {
    const withComments = Buffer.concat([Buffer.from(": OPENROUTER PROCESSING\n\n"), text]);
    expect(summarize(await collect(decodeOpenAiStream(fromPieces([withComments]))))).toEqual(expectedText);
  });

  it("rejects with protocol when the stream ends without [DONE], wherever it is cut", async () => {
    const frames = text.toString("utf8").split("\n\n").filter(Boolean);
    for (let keep = 0; keep < frames.length - 1; keep += 1) {
      const truncated = Buffer.from(
        frames
          .slice(0, keep)
          .map((f) => `${f}\n\n`)
          .join(""),
        "utf8",
      );
      const err = await thrownBy(collect(decodeOpenAiStream(fromPieces([truncated]))), ProviderError);
      expect(err.errorClass).toBe("protocol");
      expect(err.message).toMatch(/\[DONE\]/);
    }
  });

  it("yields the parts before failing, never a response-end", async () => {
    const truncated = text.subarray(0, text.indexOf("data: [DONE]"));
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of decodeOpenAiStream(fromPieces([truncated]))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
    expect(summarize(seen).text).toBe("Héllo 👋 世界!");
    expect(seen.some((p) => p.type === "response-end")).toBe(false);
  });

  it("accepts a final [DONE] without its blank line", async () => {
    const bytes = Buffer.concat([
      text.subarray(0, text.indexOf("data: [DONE]")),
      Buffer.from("data: [DONE]\n"),
    ]);
    expect(summarize(await collect(decodeOpenAiStream(fromPieces([bytes]))))).toEqual(expectedText);
  });

  it("throws the classified error for a mid-stream error payload", async () => {
    const bytes = Buffer.from(
      `data: ${JSON.stringify(chunk({ content: "partial" }))}\n\n` +
        `data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}\n\n`,
    );
    const err = await thrownBy(collect(decodeOpenAiStream(fromPieces([bytes]))), ProviderError);
    expect(err.errorClass).toBe("server");
    expect(err.message).not.toContain("overloaded");
  });

  it("throws the classified error for an `event: error` frame", async () => {
    const typed = Buffer.from(
      `event: error\ndata: {"error":{"message":"too many","type":"rate_limit_error"}}\n\n`,
    );
    expect((await thrownBy(collect(decodeOpenAiStream(fromPieces([typed]))), ProviderError)).errorClass).toBe(
      "rate_limited",
    );
  });

  it("throws protocol for a stream of unrecognised chunks ended by [DONE], yielding no response-end", async () => {
    const bytes = Buffer.from('data: {"foo":1}\n\ndata: {"foo":2}\n\ndata: [DONE]\n\n');
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of decodeOpenAiStream(fromPieces([bytes]))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
    expect(seen).toEqual([]);
  });

  it("throws protocol for a data line that is not JSON", async () => {
    const err = await thrownBy(
      collect(decodeOpenAiStream(fromPieces([Buffer.from("data: {not json\n\n")]))),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
  });

  it("ignores frames after [DONE] but reads the source to its end", async () => {
    let drained = false;
    async function* source() {
      yield text;
      yield Buffer.from(`data: ${JSON.stringify(chunk({ content: "late" }))}\n\n`);
      drained = true;
    }
    expect(summarize(await collect(decodeOpenAiStream(source())))).toEqual(expectedText);
    expect(drained).toBe(true);
  });

  it("stops reading the source when the consumer stops", async () => {
    let finalized = false;
    async function* source() {
      try {
        yield text.subarray(0, text.indexOf("data: [DONE]"));
        yield Buffer.from("data: [DONE]\n\n");
      } finally {
        finalized = true;
      }
    }
    for await (const part of decodeOpenAiStream(source())) {
      if (part.type === "text-delta") break;
    }
    expect(finalized).toBe(true);
  });
});

describe("completionToParts", () => {
  it("replays a completion as a well-formed stream", () => {
    const parts = completionToParts({
      content: "hi",
      toolCalls: [{ id: "c", name: "f", arguments: "{}" }],
      finishReason: "tool_calls",
      usage: { inputTokens: 1, outputTokens: 2 },
    });
    expect(parts).toEqual([
      { type: "text-delta", delta: "hi" },
      { type: "tool-call-delta", index: 0, id: "c", name: "f", argumentsDelta: "{}" },
      { type: "usage", usage: { inputTokens: 1, outputTokens: 2 } },
      { type: "response-end", finishReason: "tool_calls", usage: { inputTokens: 1, outputTokens: 2 } },
    ]);
  });

  it("replays a completion without usage without a usage part", () => {
    expect(completionToParts({ content: "hi", toolCalls: [], finishReason: "stop" })).toEqual([
      { type: "text-delta", delta: "hi" },
      { type: "response-end", finishReason: "stop" },
    ]);
  });
});

describe("readOpenAiUsage cached tokens", () => {
  const usage = (cached: unknown) => ({
    prompt_tokens: 100,
    completion_tokens: 7,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
  });

  it("reads cached_tokens as cachedInputTokens, inputTokens staying prompt_tokens", () => {
    expect(readOpenAiUsage(usage(64))).toEqual({ inputTokens: 100, outputTokens: 7, cachedInputTokens: 64 });
  });

  it("leaves out 0, and ignores a cached count it cannot trust without voiding the usage", () => {
    for (const cached of [0, -1, 1.5, "64", null, 101])
      expect(readOpenAiUsage(usage(cached))).toEqual({ inputTokens: 100, outputTokens: 7 });
    expect(
      readOpenAiUsage({ prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: null }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 7,
    });
  });
});

describe("finish reasons of the compatible servers", () => {
  it("maps Mistral's model_length to length", () => {
    expect(mapFinishReason("model_length", false)).toBe("length");
  });

  it("throws finish_reason error (Mistral, OpenRouter) as server, streamed or not", () => {
    const mapper = createChunkMapper();
    expect(() => mapper.push(chunk({}, "error"))).toThrow(ProviderError);
    const body = {
      id: "c",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "" }, finish_reason: "error" }],
    };
    expect(() => fromOpenAiResponse(body)).toThrow(/finish_reason error/);
  });
});
