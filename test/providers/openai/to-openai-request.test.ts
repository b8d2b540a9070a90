import { describe, expect, it } from "vitest";
import { toOpenAiRequest } from "../../../src/providers/openai/to-openai-request.js";
import type { ProviderCall } from "../../../src/providers/types.js";

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe("toOpenAiRequest", () => {
  it("sends only model, messages and a stream asking for usage for a bare call", () => {
    expect(toOpenAiRequest(call())).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("maps generation parameters to max_tokens, temperature, top_p and stop", () => {
    const body = toOpenAiRequest(call({ maxTokens: 256, temperature: 0, topP: 0.9, stop: ["\n\n", "END"] }));
    expect(body).toMatchObject({ max_tokens: 256, temperature: 0, top_p: 0.9, stop: ["\n\n", "END"] });
    expect(body).not.toHaveProperty("max_completion_tokens");
  });

  it("puts the cap in max_completion_tokens for providers configured so (OpenAI reasoning models)", () => {
    const body = toOpenAiRequest(call({ maxTokens: 256 }), {
      maxTokensField: "max_completion_tokens",
    });
    expect(body).toMatchObject({ max_completion_tokens: 256 });
    expect(body).not.toHaveProperty("max_tokens");
  });

  it("asks for JSON output as OpenAI's response_format says it", () => {
    expect(toOpenAiRequest(call({ responseFormat: { type: "json_object" } })).response_format).toEqual({
      type: "json_object",
    });
    const schema = { type: "object", properties: { city: { type: "string" } } };
    expect(
      toOpenAiRequest(call({ responseFormat: { type: "json_schema", name: "place", schema, strict: true } }))
        .response_format,
    ).toEqual({ type: "json_schema", json_schema: { name: "place", schema, strict: true } });
    expect(toOpenAiRequest(call())).not.toHaveProperty("response_format");
  });

  it("omits empty stop and tools, which strict servers reject", () => {
    const body = toOpenAiRequest(call({ stop: [], tools: [] }));
    expect(body).not.toHaveProperty("stop");
    expect(body).not.toHaveProperty("tools");
    expect(body).not.toHaveProperty("max_tokens");
    expect(body).not.toHaveProperty("temperature");
    expect(body).not.toHaveProperty("top_p");
  });

  it("wraps tools as function tools", () => {
    const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const body = toOpenAiRequest(
      call({ tools: [{ name: "get_weather", description: "Weather", parameters }] }),
    );
    expect(body.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather", parameters } },
    ]);
  });

  it("maps a tool round trip: assistant tool_calls with null content, then a tool message", () => {
    const body = toOpenAiRequest(
      call({
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "weather in Paris?", name: "alice" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
          },
          { role: "tool", content: '{"temp":21}', toolCallId: "call_1", name: "get_weather" },
          { role: "assistant", content: "21 °C" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "weather in Paris?", name: "alice" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", content: '{"temp":21}', tool_call_id: "call_1" },
      { role: "assistant", content: "21 °C" },
    ]);
  });

  it("keeps assistant text that accompanies tool calls", () => {
    const body = toOpenAiRequest(
      call({
        messages: [
          { role: "assistant", content: "Checking.", toolCalls: [{ id: "c", name: "f", arguments: "{}" }] },
        ],
      }),
    );
    expect(body.messages[0]).toMatchObject({ role: "assistant", content: "Checking." });
  });

  it("does not copy the caller's stop array", () => {
    const stop = ["x"];
    const body = toOpenAiRequest(call({ stop }));
    stop.push("y");
    expect(body.stop).toEqual(["x"]);
  });
});

describe("toOpenAiRequest stream usage", () => {
  const call: ProviderCall = {
    model: "mistral-small-latest",
    messages: [{ role: "user", content: "Hi" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
  };

  it("asks for usage in the stream by default, and leaves stream_options out when told (Mistral)", () => {
    expect(toOpenAiRequest(call).stream_options).toEqual({ include_usage: true });
    expect(toOpenAiRequest(call, { streamUsage: false })).not.toHaveProperty("stream_options");
  });
});

describe("toOpenAiRequest with images", () => {
  it("sends a user message with images as text and image_url parts", () => {
    const body = toOpenAiRequest(
      call({
        messages: [
          {
            role: "user",
            content: "what is this?",
            images: [
              { url: "https://example.com/cat.png" },
              { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" },
            ],
          },
        ],
      }),
    );
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
        ],
      },
    ]);
  });
});
