import { describe, expect, it } from "vitest";
import { toOllamaRequest } from "../../../src/providers/ollama/to-ollama-request.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderCall } from "../../../src/providers/types.js";

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "llama3.2",
    messages: [{ role: "user", content: "Hi" }],
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

describe("toOllamaRequest", () => {
  it("builds a minimal streaming request with no options", () => {
    expect(toOllamaRequest(call())).toEqual({
      model: "llama3.2",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
  });

  it("puts max tokens, temperature, top_p, stop and num_ctx into options, keep_alive beside them", () => {
    const body = toOllamaRequest(call({ maxTokens: 64, temperature: 0, topP: 0.9, stop: ["\n\n", "END"] }), {
      numCtx: 8192,
      keepAlive: "10m",
    });
    expect(body.options).toEqual({
      num_predict: 64,
      temperature: 0,
      top_p: 0.9,
      stop: ["\n\n", "END"],
      num_ctx: 8192,
    });
    expect(body.keep_alive).toBe("10m");
  });

  it("hoists every system message, a mid-conversation one too, into one leading system message", () => {
    const body = toOllamaRequest(
      call({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Q1" },
          { role: "assistant", content: "A1" },
          { role: "system", content: "Now answer in French." },
          { role: "user", content: "Q2" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: "system", content: "Be brief.\n\nNow answer in French." },
      { role: "user", content: "Q1" },
      { role: "assistant", content: "A1" },
      { role: "user", content: "Q2" },
    ]);
  });

  it("sends assistant tool calls with arguments as an object and tool results with tool_name and tool_call_id", () => {
    const body = toOllamaRequest(
      call({
        messages: [
          { role: "user", content: "Weather in Paris and Rome?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [
              { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
              { id: "call_2", name: "get_weather", arguments: "" },
            ],
          },
          { role: "tool", content: "11 degrees", toolCallId: "call_1" },
          { role: "tool", content: "20 degrees", toolCallId: "call_2", name: "weather_tool" },
        ],
      }),
    );
    expect(body.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { id: "call_1", function: { name: "get_weather", arguments: { city: "Paris" } } },
          { id: "call_2", function: { name: "get_weather", arguments: {} } },
        ],
      },
      { role: "tool", content: "11 degrees", tool_name: "get_weather", tool_call_id: "call_1" },
      { role: "tool", content: "20 degrees", tool_name: "weather_tool", tool_call_id: "call_2" },
    ]);
  });

  it("refuses tool call arguments that are JSON but not an object", () => {
    const messages = [
      { role: "assistant" as const, content: "", toolCalls: [{ id: "c", name: "f", arguments: "[1,2]" }] },
    ];
    expect(() => toOllamaRequest(call({ messages }))).toThrow(ProviderError);
  });

  it("sends tool definitions as functions with their JSON schema", () => {
    const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const body = toOllamaRequest(
      call({ tools: [{ name: "get_weather", description: "Weather", parameters }] }),
    );
    expect(body.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather", parameters } },
    ]);
  });

  it('uses format "json" for JSON mode and the schema itself for a json_schema format', () => {
    expect(toOllamaRequest(call({ responseFormat: { type: "json_object" } })).format).toBe("json");
    const schema = { type: "object", properties: { age: { type: "integer" } } };
    expect(
      toOllamaRequest(call({ responseFormat: { type: "json_schema", name: "person", schema, strict: true } }))
        .format,
    ).toEqual(schema);
  });
  describe("images", () => {
    it("sends an inline image as bare base64 in the message's images, the text unchanged", () => {
      const body = toOllamaRequest(
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
      expect(body.messages).toEqual([{ role: "user", content: "What is this?", images: [PNG] }]);
    });

    it("sends two images in the caller's order", () => {
      const body = toOllamaRequest(
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
      expect(body.messages).toEqual([{ role: "user", content: "Compare them.", images: [GIF, PNG] }]);
    });

    it("sends an image without text with empty content, and no images key on a message without images", () => {
      const body = toOllamaRequest(
        call({
          messages: [
            { role: "user", content: "", images: [{ url: `data:image/png;base64,${PNG}` }] },
            { role: "assistant", content: "A dot." },
            { role: "user", content: "Thanks" },
          ],
        }),
      );
      expect(body.messages).toEqual([
        { role: "user", content: "", images: [PNG] },
        { role: "assistant", content: "A dot." },
        { role: "user", content: "Thanks" },
      ]);
    });

    it("refuses an image by http(s) URL as invalid_request the next target may take, without naming the URL", () => {
      let thrown: unknown;
      try {
        toOllamaRequest(
          call({
            messages: [
              {
                role: "user",
                content: "Describe.",
                images: [{ url: "https://example.com/cat.jpg?X-Amz-Signature=s3cr3t" }],
              },
            ],
          }),
        );
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ProviderError);
      expect(thrown).toMatchObject({
        errorClass: "invalid_request",
        retryable: true,
        message: "ollama takes images inline only (data: URLs)",
      });
    });
  });
});
