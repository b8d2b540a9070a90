import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  createEventMapper,
  decodeAnthropicStream,
  fromAnthropicMessage,
  mapStopReason,
  readAnthropicUsage,
} from "../../../src/providers/anthropic/from-anthropic-response.js";
import { completionToParts } from "../../../src/providers/completion.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { StreamPart } from "../../../src/providers/types.js";
import { collect, thrownBy } from "../../helpers/async.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url));

async function* fromPieces(pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield piece;
}

const sse = (...events: Record<string, unknown>[]): string =>
  events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join("");

const messageStart = (usage: Record<string, unknown> = { input_tokens: 10, output_tokens: 1 }) => ({
  type: "message_start",
  message: { id: "msg_1", type: "message", role: "assistant", content: [], model: "m", usage },
});
const textStart = (index = 0) => ({
  type: "content_block_start",
  index,
  content_block: { type: "text", text: "" },
});
const textDelta = (text: string, index = 0) => ({
  type: "content_block_delta",
  index,
  delta: { type: "text_delta", text },
});
const toolStart = (index: number, id: string, name: string, input: unknown = {}) => ({
  type: "content_block_start",
  index,
  content_block: { type: "tool_use", id, name, input },
});
const jsonDelta = (index: number, partial_json: string) => ({
  type: "content_block_delta",
  index,
  delta: { type: "input_json_delta", partial_json },
});
const stop = (index: number) => ({ type: "content_block_stop", index });
const messageDelta = (
  stop_reason: string | null,
  usage: Record<string, unknown> | null = { output_tokens: 5 },
) => ({
  type: "message_delta",
  delta: { stop_reason, stop_sequence: null },
  ...(usage && { usage }),
});
const messageStop = { type: "message_stop" };

function decode(text: string | Buffer, jsonToolName?: string): Promise<StreamPart[]> {
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  return collect(
    decodeAnthropicStream(fromPieces([bytes]), jsonToolName === undefined ? {} : { jsonToolName }),
  );
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

describe("mapStopReason", () => {
  it.each([
    ["end_turn", false, "stop"],
    ["stop_sequence", false, "stop"],
    ["max_tokens", false, "length"],
    ["model_context_window_exceeded", false, "length"],
    ["tool_use", true, "tool_calls"],
    ["tool_use", false, "stop"],
    ["refusal", false, "content_filter"],
    ["pause_turn", false, "stop"],
    ["something_new", false, "stop"],
    ["end_turn", true, "tool_calls"],
  ] as const)("maps %s (tool calls seen: %s) to %s", (raw, sawTools, expected) => {
    expect(mapStopReason(raw, sawTools)).toBe(expected);
  });
});

describe("readAnthropicUsage", () => {
  it("counts cache reads and writes into the input tokens and reports them apart", () => {
    expect(
      readAnthropicUsage({
        input_tokens: 50,
        cache_creation_input_tokens: 1000,
        cache_read_input_tokens: 2000,
        output_tokens: 30,
      }),
    ).toEqual({ inputTokens: 3050, outputTokens: 30, cachedInputTokens: 2000, cacheWriteInputTokens: 1000 });
  });

  it("takes absent or null cache counts as not reported", () => {
    expect(readAnthropicUsage({ input_tokens: 5, output_tokens: 2 })).toEqual({
      inputTokens: 5,
      outputTokens: 2,
    });
    expect(readAnthropicUsage({ input_tokens: 5, output_tokens: 2, cache_read_input_tokens: null })).toEqual({
      inputTokens: 5,
      outputTokens: 2,
    });
  });

  it.each([
    ["a negative input count", { input_tokens: -1, output_tokens: 2 }],
    ["no output count", { input_tokens: 1 }],
    ["a fractional cache count", { input_tokens: 1, output_tokens: 2, cache_read_input_tokens: 1.5 }],
    ["a cache count as a string", { input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: "9" }],
    ["an absurd sum", { input_tokens: 9e7, output_tokens: 2, cache_read_input_tokens: 9e7 }],
    ["a string", "lots"],
    ["an array", [1, 2]],
  ])("does not trust %s", (_, usage) => {
    expect(readAnthropicUsage(usage)).toBeUndefined();
  });
});

describe("decodeAnthropicStream", () => {
  it("streams text, then usage from message_delta, then one response-end", async () => {
    const parts = await decode(
      sse(
        messageStart({
          input_tokens: 10,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 4,
          output_tokens: 1,
        }),
        textStart(),
        { type: "ping" },
        textDelta("Hel"),
        textDelta("lo"),
        stop(0),
        messageDelta("end_turn", { output_tokens: 7 }),
        messageStop,
      ),
    );
    const usage = { inputTokens: 14, outputTokens: 7, cachedInputTokens: 4, cacheWriteInputTokens: 0 };
    expect(parts).toEqual([
      { type: "text-delta", delta: "Hel" },
      { type: "text-delta", delta: "lo" },
      { type: "usage", usage },
      { type: "response-end", finishReason: "stop", usage },
    ]);
  });

  it("overwrites counts that message_delta repeats (cumulative), never adds", async () => {
    const parts = await decode(
      sse(
        messageStart({ input_tokens: 10, cache_read_input_tokens: 0, output_tokens: 1 }),
        textStart(),
        textDelta("x"),
        stop(0),
        messageDelta("end_turn", { input_tokens: 12, cache_read_input_tokens: 100, output_tokens: 3 }),
        messageStop,
      ),
    );
    expect(parts.at(-1)).toEqual({
      type: "response-end",
      finishReason: "stop",
      usage: { inputTokens: 112, outputTokens: 3, cachedInputTokens: 100 },
    });
  });

  it("reports no usage when message_delta carries none (message_start's output count is a placeholder)", async () => {
    const parts = await decode(
      sse(messageStart(), textStart(), textDelta("x"), stop(0), messageDelta("end_turn", null), messageStop),
    );
    expect(parts).toEqual([
      { type: "text-delta", delta: "x" },
      { type: "response-end", finishReason: "stop" },
    ]);
  });

  it("reports no usage it cannot trust", async () => {
    const parts = await decode(
      sse(
        messageStart({ input_tokens: -5, output_tokens: 1 }),
        textStart(),
        textDelta("x"),
        stop(0),
        messageDelta("end_turn"),
        messageStop,
      ),
    );
    expect(parts.some((p) => p.type === "usage")).toBe(false);
    expect(parts.at(-1)).toEqual({ type: "response-end", finishReason: "stop" });
  });

  it("streams tool calls numbered from 0 beside text, id and name first, fragments as they come", async () => {
    const parts = await decode(
      sse(
        messageStart(),
        textStart(0),
        textDelta("Checking."),
        stop(0),
        toolStart(1, "toolu_a", "get_weather"),
        jsonDelta(1, ""),
        jsonDelta(1, '{"city":'),
        jsonDelta(1, '"Paris"}'),
        stop(1),
        toolStart(2, "toolu_b", "get_time"),
        jsonDelta(2, '{"tz":"CET"}'),
        stop(2),
        messageDelta("tool_use"),
        messageStop,
      ),
    );
    expect(parts.filter((p) => p.type === "tool-call-delta")).toEqual([
      { type: "tool-call-delta", index: 0, id: "toolu_a", name: "get_weather", argumentsDelta: "" },
      { type: "tool-call-delta", index: 0, argumentsDelta: '{"city":' },
      { type: "tool-call-delta", index: 0, argumentsDelta: '"Paris"}' },
      { type: "tool-call-delta", index: 1, id: "toolu_b", name: "get_time", argumentsDelta: "" },
      { type: "tool-call-delta", index: 1, argumentsDelta: '{"tz":"CET"}' },
    ]);
    expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason: "tool_calls" });
  });

  it('gives a tool called without arguments "{}", and one whose input came whole its JSON', async () => {
    const parts = await decode(
      sse(
        messageStart(),
        toolStart(0, "toolu_a", "now"),
        jsonDelta(0, ""),
        stop(0),
        toolStart(1, "toolu_b", "get_weather", { city: "Rome" }),
        stop(1),
        messageDelta("tool_use"),
        messageStop,
      ),
    );
    expect(summarize(parts).tools).toEqual({
      0: { id: "toolu_a", name: "now", arguments: "{}" },
      1: { id: "toolu_b", name: "get_weather", arguments: '{"city":"Rome"}' },
    });
  });

  it("streams the emulated JSON tool's input as text, drops other text, and ends with stop", async () => {
    const parts = await decode(
      sse(
        messageStart(),
        textStart(0),
        textDelta("Here you go:"),
        stop(0),
        toolStart(1, "toolu_j", "json_answer"),
        jsonDelta(1, '{"city"'),
        jsonDelta(1, ':"Paris"}'),
        stop(1),
        messageDelta("tool_use"),
        messageStop,
      ),
      "json_answer",
    );
    expect(parts).toEqual([
      { type: "text-delta", delta: '{"city"' },
      { type: "text-delta", delta: ':"Paris"}' },
      { type: "usage", usage: { inputTokens: 10, outputTokens: 5 } },
      { type: "response-end", finishReason: "stop", usage: { inputTokens: 10, outputTokens: 5 } },
    ]);
  });

  it("keeps the caller's tool calls beside the JSON tool as tool calls", async () => {
    const parts = await decode(
      sse(
        messageStart(),
        toolStart(0, "toolu_a", "get_weather"),
        jsonDelta(0, "{}"),
        stop(0),
        messageDelta("tool_use"),
        messageStop,
      ),
      "json_answer",
    );
    expect(summarize(parts)).toMatchObject({
      text: "",
      tools: { 0: { name: "get_weather", arguments: "{}" } },
      last: { finishReason: "tool_calls" },
    });
  });

  it.each([
    ["max_tokens", "length"],
    ["refusal", "content_filter"],
    ["stop_sequence", "stop"],
  ])("ends a %s answer with %s", async (stopReason, finishReason) => {
    const parts = await decode(
      sse(messageStart(), textStart(), textDelta("a"), stop(0), messageDelta(stopReason), messageStop),
    );
    expect(parts.at(-1)).toMatchObject({ type: "response-end", finishReason });
  });

  it("skips thinking blocks, unknown deltas and unknown event types", async () => {
    const parts = await decode(
      sse(
        messageStart(),
        { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } },
        { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "hmm" } },
        { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "sig" } },
        stop(0),
        { type: "brand_new_event", whatever: 1 },
        textStart(1),
        textDelta("ok", 1),
        stop(1),
        messageDelta("end_turn"),
        messageStop,
      ),
    );
    expect(summarize(parts).text).toBe("ok");
    expect(summarize(parts).ends).toHaveLength(1);
  });

  it("ignores whatever follows message_stop", async () => {
    const parts = await decode(
      `${sse(messageStart(), textStart(), textDelta("a"), stop(0), messageDelta("end_turn"), messageStop)}${sse(textDelta("late"))}`,
    );
    expect(summarize(parts)).toMatchObject({ text: "a", ends: [expect.anything()] });
  });

  it("accepts a last event that lost its closing blank line", async () => {
    const text = sse(
      messageStart(),
      textStart(),
      textDelta("a"),
      stop(0),
      messageDelta("end_turn"),
      messageStop,
    );
    expect(summarize(await decode(text.slice(0, -2))).ends).toHaveLength(1);
  });

  it("throws the classified error of an error event mid-stream, after the text before it", async () => {
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        const text = `${sse(messageStart(), textStart(), textDelta("a"))}event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n`;
        for await (const part of decodeAnthropicStream(fromPieces([Buffer.from(text)]))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(err.errorClass).toBe("overloaded");
    expect(err.message).toBe("upstream reported an error (overloaded_error)");
    expect(summarize(seen).text).toBe("a");
  });

  it.each([
    [
      "ends without message_stop",
      sse(messageStart(), textStart(), textDelta("a"), stop(0), messageDelta("end_turn")),
    ],
    ["is empty", ""],
    [
      "starts without message_start",
      sse(textStart(), textDelta("a"), stop(0), messageDelta("end_turn"), messageStop),
    ],
    ["sends message_start twice", sse(messageStart(), messageStart())],
    ["has a delta for a block never started", sse(messageStart(), textDelta("a", 3))],
    ["has a text delta on a tool block", sse(messageStart(), toolStart(0, "t", "f"), textDelta("a", 0))],
    ["has a JSON delta on a text block", sse(messageStart(), textStart(), jsonDelta(0, "{}"))],
    ["starts a block twice", sse(messageStart(), textStart(), textStart())],
    [
      "has a tool_use without a name",
      sse(messageStart(), {
        type: "content_block_start",
        index: 0,
        content_block: { type: "tool_use", id: "t" },
      }),
    ],
    [
      "ends without a stop_reason",
      sse(messageStart(), textStart(), textDelta("a"), stop(0), messageDelta(null), messageStop),
    ],
    ["has data that is not JSON", "event: message_start\ndata: {nope\n\n"],
    [
      "has an event that does not fit its type",
      sse({ type: "content_block_delta", index: "zero", delta: {} }),
    ],
    ["has a malformed error event", "event: error\ndata: Overloaded\n\n"],
  ])("throws protocol when the stream %s", async (_, text) => {
    const err = await thrownBy(decode(text), ProviderError);
    expect(err.errorClass).toBe("protocol");
    expect(err.retryable).toBe(true);
  });

  it.each(["text.sse", "tool-call.sse"])(
    "decodes the recorded %s split at every byte offset",
    async (name) => {
      const bytes = fixture(name);
      const whole = summarize(await decode(bytes));
      if (name === "text.sse") {
        expect(whole.text).toBe("Héllo 👋 世界!");
        expect(whole.last).toEqual({
          type: "response-end",
          finishReason: "stop",
          usage: { inputTokens: 12, outputTokens: 9, cachedInputTokens: 0, cacheWriteInputTokens: 0 },
        });
      } else {
        expect(whole.text).toBe("Okay, let's check the weather for San Francisco, CA:");
        expect(whole.tools).toEqual({
          0: {
            id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            name: "get_weather",
            arguments: '{"location": "San Francisco, CA", "unit": "fahrenheit"}',
          },
        });
        expect(whole.last).toEqual({
          type: "response-end",
          finishReason: "tool_calls",
          usage: { inputTokens: 2520, outputTokens: 89, cachedInputTokens: 2048, cacheWriteInputTokens: 0 },
        });
      }
      for (let offset = 1; offset < bytes.length; offset += 1) {
        const parts = await collect(
          decodeAnthropicStream(fromPieces([bytes.subarray(0, offset), bytes.subarray(offset)])),
        );
        expect(summarize(parts), `split at ${offset}`).toEqual(whole);
      }
      // And one byte at a time.
      const single = await collect(
        decodeAnthropicStream(fromPieces([...bytes].map((b) => Uint8Array.of(b)))),
      );
      expect(summarize(single)).toEqual(whole);
    },
  );
});

describe("createEventMapper", () => {
  it("throws protocol for an event after message_stop", () => {
    const mapper = createEventMapper();
    mapper.push(messageStart());
    mapper.push(messageDelta("end_turn"));
    mapper.push(messageStop);
    expect(mapper.ended).toBe(true);
    expect(() => mapper.push(messageStop)).toThrow(ProviderError);
  });
});

describe("fromAnthropicMessage", () => {
  const message = (
    content: unknown[],
    stop_reason: string | null = "end_turn",
    usage: unknown = { input_tokens: 9, output_tokens: 3 },
  ) => ({
    id: "msg_1",
    type: "message",
    role: "assistant",
    model: "m",
    content,
    stop_reason,
    stop_sequence: null,
    usage,
  });

  it("maps text, tool calls with their input as JSON, the stop reason and usage", () => {
    expect(
      fromAnthropicMessage(
        message(
          [
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          ],
          "tool_use",
          { input_tokens: 9, cache_read_input_tokens: 1, output_tokens: 3 },
        ),
      ),
    ).toEqual({
      content: "Checking.",
      toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
      finishReason: "tool_calls",
      usage: { inputTokens: 10, outputTokens: 3, cachedInputTokens: 1 },
    });
  });

  it("makes the JSON tool's input the content", () => {
    const completion = fromAnthropicMessage(
      message([{ type: "tool_use", id: "t", name: "json_answer", input: { a: 1 } }], "tool_use"),
      { jsonToolName: "json_answer" },
    );
    expect(completion).toMatchObject({ content: '{"a":1}', toolCalls: [], finishReason: "stop" });
  });

  it("throws the classified error of an error body, protocol for anything else", () => {
    expect(() =>
      fromAnthropicMessage({ type: "error", error: { type: "overloaded_error", message: "x" } }),
    ).toThrow(expect.objectContaining({ errorClass: "overloaded" }));
    expect(() => fromAnthropicMessage({ result: "hi" })).toThrow(
      expect.objectContaining({ errorClass: "protocol" }),
    );
    expect(() => fromAnthropicMessage(message([], null))).toThrow(
      expect.objectContaining({ errorClass: "protocol" }),
    );
  });

  it("replays as parts, with usage only when reported", () => {
    expect(
      completionToParts(fromAnthropicMessage(message([{ type: "text", text: "hi" }], "end_turn", null))),
    ).toEqual([
      { type: "text-delta", delta: "hi" },
      { type: "response-end", finishReason: "stop" },
    ]);
  });
});
