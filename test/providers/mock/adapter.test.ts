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

describe("createMockAdapter", () => {
  it("answers deterministically, the same text unary and streamed", async () => {
    const adapter = createMockAdapter(settings());
    const unary = await adapter.complete(call());
    const again = await adapter.complete(call());
    expect(unary).toEqual(again);
    expect(unary.content).toBe('This is mock/m, an offline mock. You said: "hello world"');
    const streamed = await parts(adapter.stream(call()));
    const text = streamed.map((part) => (part.type === "text-delta" ? part.delta : "")).join("");
    expect(text).toBe(unary.content);
    expect(streamed.at(-1)).toEqual({ type: "response-end", finishReason: "stop", usage: unary.usage });
  });

  it("stops at maxTokens with finish reason length", async () => {
    const result = await createMockAdapter(settings({ reply: "a b c d e" })).complete(call({ maxTokens: 2 }));
    expect(result).toMatchObject({ content: "a b", finishReason: "length", usage: { outputTokens: 2 } });
  });

  it("spreads failures evenly at the configured rate", async () => {
    const adapter = createMockAdapter(settings({ failureRate: 0.5, failure: "rate_limited" }));
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++)
      outcomes.push(
        await adapter.complete(call()).then(
          () => "ok",
          (error: ProviderError) => error.errorClass,
        ),
      );
    expect(outcomes).toEqual(["ok", "rate_limited", "ok", "rate_limited", "ok", "rate_limited"]);
  });

  it("hangs on a timeout failure until the call is aborted, then reports the abort reason", async () => {
    const controller = new AbortController();
    const pending = createMockAdapter(settings({ failureRate: 1, failure: "timeout" })).complete(
      call({ signal: controller.signal }),
    );
    const reason = new ProviderError("timeout", "budget exhausted");
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });
});
