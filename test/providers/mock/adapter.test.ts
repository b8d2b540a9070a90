import { describe, expect, it } from "vitest";
import { createMockAdapter } from "../../../src/providers/mock/adapter.js";
import type { MockSettings } from "../../../src/providers/mock/mock-settings.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderCall, StreamPart } from "../../../src/providers/types.js";

function settings(mock: Partial<MockSettings> = {}): MockSettings {
  return { name: "mock", latencyMs: 0, tokenIntervalMs: 0, failureRate: 0, failure: "unavailable", ...mock };
}

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "m",
    messages: [{ role: "user", content: "hello world" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function parts(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of stream) out.push(part);
  return out;
}

function text(streamed: StreamPart[]): string {
  return streamed.map((part) => (part.type === "text-delta" ? part.delta : "")).join("");
}

describe("createMockAdapter", () => {
  it("streams the same answer every time, word by word, with its own usage estimate", async () => {
    const adapter = createMockAdapter(settings());
    const streamed = await parts(adapter.stream(call()));
    expect(await parts(adapter.stream(call()))).toEqual(streamed);
    expect(text(streamed)).toBe('This is mock/m, an offline mock. You said: "hello world"');
    expect(streamed.filter((part) => part.type === "text-delta")).toHaveLength(10);
    const usage = { inputTokens: 6, outputTokens: 10 };
    expect(streamed.slice(-2)).toEqual([
      { type: "usage", usage },
      { type: "response-end", finishReason: "stop", usage },
    ]);
  });

  it("answers one JSON object when JSON output is asked for", async () => {
    const adapter = createMockAdapter(settings());
    const answer = text(await parts(adapter.stream(call({ responseFormat: { type: "json_object" } }))));
    expect(JSON.parse(answer)).toEqual({
      answer: 'This is mock/m, an offline mock. You said: "hello world"',
    });
  });

  it("stops at maxTokens with finish reason length", async () => {
    const streamed = await parts(
      createMockAdapter(settings({ reply: "a b c d e" })).stream(call({ maxTokens: 2 })),
    );
    expect(text(streamed)).toBe("a b");
    expect(streamed.at(-1)).toMatchObject({ finishReason: "length", usage: { outputTokens: 2 } });
  });

  it("spreads failures evenly at the configured rate, before the first part", async () => {
    const adapter = createMockAdapter(settings({ failureRate: 0.5, failure: "rate_limited" }));
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++)
      outcomes.push(
        await parts(adapter.stream(call())).then(
          () => "ok",
          (error: ProviderError) => error.errorClass,
        ),
      );
    expect(outcomes).toEqual(["ok", "rate_limited", "ok", "rate_limited", "ok", "rate_limited"]);
  });

  it("hangs on a timeout failure until the call is aborted, then reports the abort reason", async () => {
    const controller = new AbortController();
    const pending = parts(
      createMockAdapter(settings({ failureRate: 1, failure: "timeout" })).stream(
        call({ signal: controller.signal }),
      ),
    );
    const reason = new ProviderError("timeout", "budget exhausted");
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });

  it("stops between tokens when the call is aborted", async () => {
    const controller = new AbortController();
    const iterator = createMockAdapter(settings({ tokenIntervalMs: 1000 }))
      .stream(call({ signal: controller.signal }))
      [Symbol.asyncIterator]();
    expect(await iterator.next()).toMatchObject({ value: { type: "text-delta" } });
    const next = iterator.next();
    controller.abort();
    await expect(next).rejects.toMatchObject({ errorClass: "cancelled" });
  });

  it("fails calls in flight as cancelled when closed", async () => {
    const adapter = createMockAdapter(settings({ latencyMs: 1000 }));
    const pending = parts(adapter.stream(call()));
    await adapter.close();
    await expect(pending).rejects.toMatchObject({ errorClass: "cancelled" });
  });
});
