import { describe, expect, it } from "vitest";
import { toAnthropicRequest } from "../../../src/providers/anthropic/to-anthropic-request.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderCall } from "../../../src/providers/types.js";

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "claude-sonnet-4-5",
    messages: [{ role: "user", content: "hi" }],
    tools: [],
    stop: [],
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** A 1×1 PNG and a 1×1 GIF, base64. */
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
const GIF = "R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==";

const weather = {
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe("toAnthropicRequest", () => {
  it("sends model, the default max_tokens, content blocks and stream for a bare call", () => {
    expect(toAnthropicRequest(call())).toEqual({
      body: {
        model: "claude-sonnet-4-5",
        max_tokens: 4096,
        messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
        stream: true,
      },
    });
  });

  it("uses the call's max tokens, else the configured default", () => {
    expect(toAnthropicRequest(call({ maxTokens: 77 }), { maxTokensDefault: 1000 }).body.max_tokens).toBe(77);
    expect(toAnthropicRequest(call(), { maxTokensDefault: 1000 }).body.max_tokens).toBe(1000);
  });

  it("maps stop sequences, temperature and top_p; leaves them out when unset", () => {
    const { body } = toAnthropicRequest(call({ stop: ["\n\nHuman:", "END"], topP: 0.9 }));
    expect(body).toMatchObject({ stop_sequences: ["\n\nHuman:", "END"], top_p: 0.9 });
    // Claude 4.x refuses the two together: temperature goes alone.
    const both = toAnthropicRequest(call({ temperature: 0, topP: 0.9 })).body;
    expect(both).toMatchObject({ temperature: 0 });
    expect(both).not.toHaveProperty("top_p");
    const bare = toAnthropicRequest(call()).body;
    for (const key of ["stop_sequences", "temperature", "top_p", "system", "tools", "tool_choice"])
      expect(bare).not.toHaveProperty(key);
  });

  it("takes every system message out of the conversation, a mid-conversation one included", () => {
    const { body } = toAnthropicRequest(
      call({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
          { role: "system", content: "Answer in French." },
          { role: "user", content: "how are you?" },
        ],
      }),
    );
    expect(body.system).toBe("Be brief.\n\nAnswer in French.");
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("joins consecutive messages of one role into one turn", () => {
    const { body } = toAnthropicRequest(
      call({
        messages: [
          { role: "user", content: "one" },
          { role: "user", content: "two" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "one" },
          { type: "text", text: "two" },
        ],
      },
    ]);
  });

  it("maps a tool round trip: tool_use with an input object, tool_result blocks first in one user turn", () => {
    const { body } = toAnthropicRequest(
      call({
        tools: [weather],
        messages: [
          { role: "user", content: "Weather in Paris and Rome?" },
          {
            role: "assistant",
            content: "Let me look.",
            toolCalls: [
              { id: "toolu_1", name: "get_weather", arguments: '{"city":"Paris"}' },
              { id: "toolu_2", name: "get_weather", arguments: "" },
            ],
          },
          { role: "tool", content: "18C", toolCallId: "toolu_1" },
          { role: "user", content: "Also, be quick." },
          { role: "tool", content: "", toolCallId: "toolu_2" },
        ],
      }),
    );
    expect(body.tools).toEqual([
      { name: "get_weather", description: "Weather for a city", input_schema: weather.parameters },
    ]);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me look." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_2", name: "get_weather", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "18C" },
          { type: "tool_result", tool_use_id: "toolu_2" },
          { type: "text", text: "Also, be quick." },
        ],
      },
    ]);
  });

  it("sends an assistant turn that only calls tools without a text block", () => {
    const { body } = toAnthropicRequest(
      call({
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: "", toolCalls: [{ id: "t", name: "f", arguments: "{}" }] },
        ],
      }),
    );
    expect(body.messages[1]).toEqual({
      role: "assistant",
      content: [{ type: "tool_use", id: "t", name: "f", input: {} }],
    });
  });

  it("leaves out messages with nothing to send, which the API refuses, and keeps roles alternating", () => {
    const { body } = toAnthropicRequest(
      call({
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "" },
          { role: "user", content: "b" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "a" },
          { type: "text", text: "b" },
        ],
      },
    ]);
  });

  it("refuses tool call arguments that are not a JSON object", () => {
    const bad = call({
      messages: [{ role: "assistant", content: "", toolCalls: [{ id: "t", name: "f", arguments: "[1]" }] }],
    });
    expect(() => toAnthropicRequest(bad)).toThrow(ProviderError);
    try {
      toAnthropicRequest(bad);
    } catch (error) {
      expect((error as ProviderError).errorClass).toBe("invalid_request");
    }
  });

  it("gives a tool schema without a type the object type the API requires, and drops empty descriptions", () => {
    const { body } = toAnthropicRequest(call({ tools: [{ name: "now", description: "", parameters: {} }] }));
    expect(body.tools).toEqual([{ name: "now", input_schema: { type: "object" } }]);
  });

  describe("JSON output", () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

    it("forces a tool whose input schema is the requested schema", () => {
      const plan = toAnthropicRequest(
        call({ responseFormat: { type: "json_schema", name: "place", schema, strict: true } }),
      );
      expect(plan.jsonToolName).toBe("json_answer");
      expect(plan.body.tools).toEqual([
        { name: "json_answer", description: expect.any(String), input_schema: schema },
      ]);
      expect(plan.body.tool_choice).toEqual({ type: "tool", name: "json_answer" });
    });

    it("forces an object-typed tool for JSON mode without a schema", () => {
      const plan = toAnthropicRequest(call({ responseFormat: { type: "json_object" } }));
      expect(plan.body.tools?.[0]?.input_schema).toEqual({ type: "object" });
      expect(plan.body.tool_choice).toEqual({ type: "tool", name: "json_answer" });
    });

    it("beside the caller's tools, requires some tool (theirs or the answer) under a name they do not use", () => {
      const plan = toAnthropicRequest(
        call({
          tools: [weather, { name: "json_answer", description: "", parameters: { type: "object" } }],
          responseFormat: { type: "json_object" },
        }),
      );
      expect(plan.jsonToolName).toBe("json_answer_2");
      expect(plan.body.tools?.map((t) => t.name)).toEqual(["get_weather", "json_answer", "json_answer_2"]);
      expect(plan.body.tool_choice).toEqual({ type: "any" });
    });

    it("with json_mode output_config, sends a schema as output_config.format and no tool", () => {
      const plan = toAnthropicRequest(
        call({ responseFormat: { type: "json_schema", name: "place", schema, strict: true } }),
        { jsonMode: "output_config" },
      );
      expect(plan.jsonToolName).toBeUndefined();
      expect(plan.body.output_config).toEqual({ format: { type: "json_schema", schema } });
      expect(plan.body).not.toHaveProperty("tools");
      // JSON mode without a schema has no native form: the tool still carries it.
      expect(
        toAnthropicRequest(call({ responseFormat: { type: "json_object" } }), { jsonMode: "output_config" })
          .jsonToolName,
      ).toBe("json_answer");
    });
  });
  describe("images", () => {
    it("sends an inline image as a base64 image block before the text, leaving detail out", () => {
      const { body } = toAnthropicRequest(
        call({
          messages: [
            {
              role: "user",
              content: "What is this?",
              images: [{ url: `data:image/png;base64,${PNG}`, detail: "low" }],
            },
          ],
        }),
      );
      expect(body.messages).toEqual([
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "text", text: "What is this?" },
          ],
        },
      ]);
    });

    it("sends two images in the caller's order, then the text", () => {
      const { body } = toAnthropicRequest(
        call({
          messages: [
            {
              role: "user",
              content: "Compare them.",
              images: [{ url: `data:image/gif;base64,${GIF}` }, { url: `data:image/png;base64,${PNG}` }],
            },
          ],
        }),
      );
      expect(body.messages[0]?.content).toEqual([
        { type: "image", source: { type: "base64", media_type: "image/gif", data: GIF } },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
        { type: "text", text: "Compare them." },
      ]);
    });

    it("sends an image by http(s) URL as a url source, for Anthropic to fetch", () => {
      const { body } = toAnthropicRequest(
        call({
          messages: [
            {
              role: "user",
              content: "Describe.",
              images: [{ url: "https://example.com/cat.jpg", detail: "high" }],
            },
          ],
        }),
      );
      expect(body.messages[0]?.content).toEqual([
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        { type: "text", text: "Describe." },
      ]);
    });

    it("sends an image without text as the image alone, after the tool results of its turn", () => {
      const { body } = toAnthropicRequest(
        call({
          messages: [
            { role: "user", content: "Draw a chart" },
            { role: "assistant", content: "", toolCalls: [{ id: "toolu_1", name: "plot", arguments: "{}" }] },
            { role: "tool", content: "done", toolCallId: "toolu_1" },
            { role: "user", content: "", images: [{ url: `data:image/png;base64,${PNG}` }] },
          ],
        }),
      );
      expect(body.messages[2]).toEqual({
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "done" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
        ],
      });
    });
  });
});
