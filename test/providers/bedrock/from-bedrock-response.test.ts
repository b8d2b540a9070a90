import { EventStreamCodec } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { describe, expect, it } from "vitest";
import { readEventStream } from "../../../src/providers/bedrock/bedrock-event-stream.js";
import {
  createEventMapper,
  decodeBedrockStream,
  fromConverseResponse,
  mapStopReason,
  readBedrockUsage,
} from "../../../src/providers/bedrock/from-bedrock-response.js";
import { completionToParts } from "../../../src/providers/completion.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { StreamPart } from "../../../src/providers/types.js";
import { encodeEvent, encodeException } from "../../fakes/fake-bedrock-server.js";
import { collect, thrownBy } from "../../helpers/async.js";

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** A ConverseStream body as Bedrock sends it for a text answer followed by a tool call. */
function recordedStream(): Buffer {
  return Buffer.concat([
    encodeEvent("messageStart", { role: "assistant" }),
    encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Héllo 👋" } }),
    encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: " 世界!" } }),
    encodeEvent("contentBlockStop", { contentBlockIndex: 0 }),
    encodeEvent("contentBlockStart", {
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", name: "get_weather" } },
    }),
    encodeEvent("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: "" } } }),
    encodeEvent("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
    encodeEvent("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '"Zürich"}' } } }),
    encodeEvent("contentBlockStop", { contentBlockIndex: 1 }),
    encodeEvent("messageStop", { stopReason: "tool_use" }),
    encodeEvent("metadata", {
      usage: { inputTokens: 20, outputTokens: 36, totalTokens: 106, cacheReadInputTokens: 50 },
      metrics: { latencyMs: 812 },
    }),
  ]);
}

const EXPECTED: StreamPart[] = [
  { type: "text-delta", delta: "Héllo 👋" },
  { type: "text-delta", delta: " 世界!" },
  {
    type: "tool-call-delta",
    index: 0,
    id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
    name: "get_weather",
    argumentsDelta: "",
  },
  { type: "tool-call-delta", index: 0, argumentsDelta: '{"city":' },
  { type: "tool-call-delta", index: 0, argumentsDelta: '"Zürich"}' },
  { type: "usage", usage: { inputTokens: 70, outputTokens: 36, cachedInputTokens: 50 } },
  {
    type: "response-end",
    finishReason: "tool_calls",
    usage: { inputTokens: 70, outputTokens: 36, cachedInputTokens: 50 },
  },
];

async function* pieces(bytes: Buffer, offsets: number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    if (offset > start) yield bytes.subarray(start, offset);
    start = offset;
  }
}

/** Text deltas may be re-cut when bytes split (they are not here: each is one message), so compare joined. */
function summary(parts: StreamPart[]) {
  return {
    text: parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join(""),
    args: parts.map((p) => (p.type === "tool-call-delta" ? p.argumentsDelta : "")).join(""),
    rest: parts.filter((p) => p.type !== "text-delta" && p.type !== "tool-call-delta"),
  };
}

describe("decodeBedrockStream", () => {
  it("decodes a whole ConverseStream body", async () => {
    expect(await collect(decodeBedrockStream(pieces(recordedStream(), [])))).toEqual(EXPECTED);
  });

  it("decodes it identically when split at every byte boundary (inside preludes, headers, CRCs and multi-byte characters)", async () => {
    const bytes = recordedStream();
    for (let offset = 1; offset < bytes.length; offset += 1) {
      const parts = await collect(decodeBedrockStream(pieces(bytes, [offset])));
      expect(parts, `split at ${offset}`).toEqual(EXPECTED);
    }
  });

  it("decodes it identically when delivered one byte at a time", async () => {
    const bytes = recordedStream();
    const every = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(summary(await collect(decodeBedrockStream(pieces(bytes, every))))).toEqual(summary(EXPECTED));
  });

  it("rejects a body that ends before messageStop as protocol, after what it got", async () => {
    const body = Buffer.concat([
      encodeEvent("messageStart", { role: "assistant" }),
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "cut" } }),
    ]);
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of decodeBedrockStream(pieces(body, []))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(err.errorClass).toBe("protocol");
    expect(err.message).toBe("upstream stream ended without messageStop");
    expect(seen).toEqual([{ type: "text-delta", delta: "cut" }]);
  });

  it("rejects a body cut inside a message before messageStop as protocol", async () => {
    const bytes = recordedStream();
    const cut = bytes.subarray(0, bytes.indexOf(Buffer.from("messageStop")) - 3);
    expect((await thrownBy(collect(decodeBedrockStream(pieces(cut, []))), ProviderError)).errorClass).toBe(
      "protocol",
    );
  });

  it("ends without usage when the body ends after messageStop without metadata", async () => {
    const body = Buffer.concat([
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "ok" } }),
      encodeEvent("messageStop", { stopReason: "max_tokens" }),
    ]);
    expect(await collect(decodeBedrockStream(pieces(body, [])))).toEqual([
      { type: "text-delta", delta: "ok" },
      { type: "response-end", finishReason: "length" },
    ]);
  });

  it("rejects a message whose CRC does not match as protocol", async () => {
    const body = Buffer.from(
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "ok" } }),
    );
    body.writeUInt8(body.readUInt8(body.length - 10) ^ 0xff, body.length - 10);
    const err = await thrownBy(collect(decodeBedrockStream(pieces(body, []))), ProviderError);
    expect(err.errorClass).toBe("protocol");
    expect(err.message).toBe("upstream event-stream message is malformed");
  });

  it("rejects a prelude announcing an impossible length without waiting for it", async () => {
    const body = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const err = await thrownBy(collect(decodeBedrockStream(pieces(body, []))), ProviderError);
    expect(err.message).toBe("upstream event-stream message has an impossible length");
  });

  it("fails with the classified exception delivered inside the stream, after the text before it", async () => {
    const body = Buffer.concat([
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "a" } }),
      encodeException("modelStreamErrorException", "Model stream error: the prompt was 'secret plans'"),
    ]);
    const seen: StreamPart[] = [];
    const err = await thrownBy(
      (async () => {
        for await (const part of decodeBedrockStream(pieces(body, []))) seen.push(part);
      })(),
      ProviderError,
    );
    expect(seen).toEqual([{ type: "text-delta", delta: "a" }]);
    expect(err.errorClass).toBe("server");
    expect(err.retryable).toBe(true);
    expect(err.message).toBe("upstream reported an error (modelStreamErrorException)");
  });

  it("ignores what follows the response-end", async () => {
    const body = Buffer.concat([
      encodeEvent("messageStop", { stopReason: "end_turn" }),
      encodeEvent("metadata", { usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }),
      encodeEvent("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "late" } }),
    ]);
    const parts = await collect(decodeBedrockStream(pieces(body, [])));
    expect(parts.filter((p) => p.type === "response-end")).toHaveLength(1);
    expect(parts.some((p) => p.type === "text-delta")).toBe(false);
  });
});

describe("createEventMapper", () => {
  const message = (eventType: string, payload: object) =>
    codec.decode(encodeEvent(eventType, payload as Record<string, unknown>));

  it("gives a tool call with no input streamed the arguments {}", () => {
    const mapper = createEventMapper();
    const parts = [
      message("contentBlockStart", {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: "t1", name: "now" } },
      }),
      message("contentBlockStop", { contentBlockIndex: 0 }),
    ].flatMap((m) => mapper.push(m));
    expect(parts).toEqual([
      { type: "tool-call-delta", index: 0, id: "t1", name: "now", argumentsDelta: "" },
      { type: "tool-call-delta", index: 0, argumentsDelta: "{}" },
    ]);
  });

  it("numbers tool calls by their order, not by content block index", () => {
    const mapper = createEventMapper();
    const parts = [
      message("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Let me check." } }),
      message("contentBlockStart", {
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: "a", name: "x" } },
      }),
      message("contentBlockStart", {
        contentBlockIndex: 2,
        start: { toolUse: { toolUseId: "b", name: "y" } },
      }),
      message("contentBlockDelta", { contentBlockIndex: 2, delta: { toolUse: { input: "{}" } } }),
    ].flatMap((m) => mapper.push(m));
    expect(
      parts
        .filter((p) => p.type === "tool-call-delta")
        .map((p) => (p.type === "tool-call-delta" ? p.index : -1)),
    ).toEqual([0, 1, 1]);
  });

  it("streams the JSON-answer tool's input as text and ends with stop", () => {
    const mapper = createEventMapper({ jsonToolName: "json_answer" });
    const parts = [
      // A preamble beside the JSON tool would make the answer something other than JSON.
      message("contentBlockDelta", { contentBlockIndex: 0, delta: { text: "Sure: " } }),
      message("contentBlockStart", {
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: "j", name: "json_answer" } },
      }),
      message("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: '{"ok":' } } }),
      message("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: "true}" } } }),
      message("contentBlockStop", { contentBlockIndex: 1 }),
      message("messageStop", { stopReason: "tool_use" }),
    ].flatMap((m) => mapper.push(m));
    expect([...parts, ...mapper.end()]).toEqual([
      { type: "text-delta", delta: '{"ok":' },
      { type: "text-delta", delta: "true}" },
      { type: "response-end", finishReason: "stop" },
    ]);
  });

  it("ignores reasoning deltas and unknown event types", () => {
    const mapper = createEventMapper();
    expect(
      mapper.push(
        message("contentBlockDelta", { contentBlockIndex: 0, delta: { reasoningContent: { text: "hmm" } } }),
      ),
    ).toEqual([]);
    expect(mapper.push(message("somethingNew", { x: 1 }))).toEqual([]);
  });

  it("rejects tool input for a block that never started as protocol", () => {
    const mapper = createEventMapper();
    expect(() =>
      mapper.push(message("contentBlockDelta", { contentBlockIndex: 3, delta: { toolUse: { input: "{" } } })),
    ).toThrow(/never started/);
  });

  it("rejects an event whose payload does not fit its type as protocol", () => {
    const mapper = createEventMapper();
    expect(() => mapper.push(message("messageStop", { reason: "end_turn" }))).toThrow(ProviderError);
  });

  it("fails a malformed-output stop reason as protocol (the next target may serve)", () => {
    const mapper = createEventMapper();
    try {
      mapper.push(message("messageStop", { stopReason: "malformed_tool_use" }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).errorClass).toBe("protocol");
    }
  });

  it("classifies a generic event-stream error message by its :error-code", () => {
    const mapper = createEventMapper();
    const error = codec.decode(
      codec.encode({
        headers: {
          ":message-type": { type: "string", value: "error" },
          ":error-code": { type: "string", value: "ThrottlingException" },
          ":error-message": { type: "string", value: "slow down" },
        },
        body: new Uint8Array(),
      }),
    );
    try {
      mapper.push(error);
      expect.unreachable();
    } catch (err) {
      expect((err as ProviderError).errorClass).toBe("rate_limited");
    }
  });
});

describe("mapStopReason", () => {
  it.each([
    ["end_turn", false, "stop"],
    ["stop_sequence", false, "stop"],
    ["tool_use", true, "tool_calls"],
    ["tool_use", false, "stop"],
    ["end_turn", true, "tool_calls"],
    ["max_tokens", false, "length"],
    ["model_context_window_exceeded", false, "length"],
    ["guardrail_intervened", false, "content_filter"],
    ["content_filtered", true, "content_filter"],
    ["something_new", false, "stop"],
  ] as const)("maps %s (tool calls: %s) to %s", (raw, sawToolCalls, expected) => {
    expect(mapStopReason(raw, sawToolCalls)).toBe(expected);
  });
});

describe("readBedrockUsage", () => {
  it("adds cache reads and writes back into inputTokens", () => {
    expect(
      readBedrockUsage({
        inputTokens: 10,
        outputTokens: 5,
        cacheReadInputTokens: 100,
        cacheWriteInputTokens: 30,
        totalTokens: 145,
      }),
    ).toEqual({ inputTokens: 140, outputTokens: 5, cachedInputTokens: 100, cacheWriteInputTokens: 30 });
  });

  it("reads usage without cache fields", () => {
    expect(readBedrockUsage({ inputTokens: 3, outputTokens: 4, totalTokens: 7 })).toEqual({
      inputTokens: 3,
      outputTokens: 4,
    });
  });

  it.each([
    [{ inputTokens: -1, outputTokens: 4 }],
    [{ inputTokens: 3 }],
    [{ inputTokens: 3, outputTokens: 4, cacheReadInputTokens: "many" }],
    [{ inputTokens: 3, outputTokens: 1.5 }],
    [null],
    ["usage"],
  ])("trusts nothing of %j", (usage) => {
    expect(readBedrockUsage(usage)).toBeUndefined();
  });
});

describe("fromConverseResponse", () => {
  it("maps a whole Converse answer with text, a tool call and usage", () => {
    const completion = fromConverseResponse({
      output: {
        message: {
          role: "assistant",
          content: [
            { text: "Checking." },
            { toolUse: { toolUseId: "t1", name: "lookup", input: { q: "x" } } },
          ],
        },
      },
      stopReason: "tool_use",
      usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
      metrics: { latencyMs: 100 },
    });
    expect(completion).toEqual({
      content: "Checking.",
      toolCalls: [{ id: "t1", name: "lookup", arguments: '{"q":"x"}' }],
      finishReason: "tool_calls",
      usage: { inputTokens: 5, outputTokens: 7 },
    });
    expect(completionToParts(completion).at(-1)).toEqual({
      type: "response-end",
      finishReason: "tool_calls",
      usage: { inputTokens: 5, outputTokens: 7 },
    });
  });

  it("turns the JSON-answer tool's input into the text", () => {
    const completion = fromConverseResponse(
      {
        output: {
          message: {
            role: "assistant",
            content: [
              { text: "Sure: " },
              { toolUse: { toolUseId: "j", name: "json_answer", input: { a: 1 } } },
            ],
          },
        },
        stopReason: "tool_use",
      },
      { jsonToolName: "json_answer" },
    );
    expect(completion).toEqual({ content: '{"a":1}', toolCalls: [], finishReason: "stop" });
  });

  it("rejects a body that is not a Converse answer as protocol", () => {
    expect(() => fromConverseResponse({ message: "hi" })).toThrow(ProviderError);
  });
});

describe("readEventStream", () => {
  it("says whether the body ended on a message boundary", async () => {
    const whole = Buffer.from(encodeEvent("messageStart", { role: "assistant" }));
    const clean = readEventStream(pieces(whole, [3]), { maxMessageBytes: 1024 });
    expect(await collect(clean)).toHaveLength(1);
    expect(clean.endedCleanly).toBe(true);
    const cut = readEventStream(pieces(whole.subarray(0, 20), []), { maxMessageBytes: 1024 });
    expect(await collect(cut)).toHaveLength(0);
    expect(cut.endedCleanly).toBe(false);
  });
});
