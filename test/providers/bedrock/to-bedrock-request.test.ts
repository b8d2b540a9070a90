import { describe, expect, it } from "vitest";
import { toBedrockRequest } from "../../../src/providers/bedrock/to-bedrock-request.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderCall } from "../../../src/providers/types.js";

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "anthropic.claude-3-5-sonnet-20240620-v1:0",
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

describe("toBedrockRequest", () => {
  it("sends a bare conversation with no optional fields", () => {
    expect(toBedrockRequest(call())).toEqual({
      body: { messages: [{ role: "user", content: [{ text: "Hi" }] }] },
    });
  });

  it("moves every system message to system and maps the generation parameters", () => {
    const { body } = toBedrockRequest(
      call({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello" },
          { role: "system", content: "Answer in French." },
          { role: "user", content: "Thanks" },
        ],
        maxTokens: 256,
        temperature: 0.3,
        topP: 0.9,
        stop: ["END"],
      }),
    );
    expect(body).toEqual({
      system: [{ text: "Be brief.\n\nAnswer in French." }],
      messages: [
        { role: "user", content: [{ text: "Hi" }] },
        { role: "assistant", content: [{ text: "Hello" }] },
        { role: "user", content: [{ text: "Thanks" }] },
      ],
      // Claude refuses temperature and top_p together: temperature goes alone.
      inferenceConfig: { maxTokens: 256, temperature: 0.3, stopSequences: ["END"] },
    });
    const nova = toBedrockRequest(call({ model: "amazon.nova-lite-v1:0", temperature: 0.3, topP: 0.9 })).body;
    expect(nova.inferenceConfig).toMatchObject({ temperature: 0.3, topP: 0.9 });
  });

  it("maps tools, assistant tool calls (arguments as objects) and grouped tool results", () => {
    const { body } = toBedrockRequest(
      call({
        tools: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
          { name: "now", description: "", parameters: { type: "object" } },
        ],
        messages: [
          { role: "user", content: "Weather in Paris and the time?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [
              { id: "t1", name: "get_weather", arguments: '{"city":"Paris"}' },
              { id: "t2", name: "now", arguments: "" },
            ],
          },
          { role: "tool", content: "18°C", toolCallId: "t1" },
          { role: "tool", content: "12:00", toolCallId: "t2" },
        ],
      }),
    );
    expect(body.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: "get_weather",
            description: "Weather for a city",
            inputSchema: { json: { type: "object", properties: { city: { type: "string" } } } },
          },
        },
        { toolSpec: { name: "now", inputSchema: { json: { type: "object" } } } },
      ],
    });
    expect(body.messages).toEqual([
      { role: "user", content: [{ text: "Weather in Paris and the time?" }] },
      {
        role: "assistant",
        content: [
          { toolUse: { toolUseId: "t1", name: "get_weather", input: { city: "Paris" } } },
          { toolUse: { toolUseId: "t2", name: "now", input: {} } },
        ],
      },
      {
        role: "user",
        content: [
          { toolResult: { toolUseId: "t1", content: [{ text: "18°C" }] } },
          { toolResult: { toolUseId: "t2", content: [{ text: "12:00" }] } },
        ],
      },
    ]);
  });

  it("asks for JSON output through a forced tool whose schema is the requested one", () => {
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
    const result = toBedrockRequest(
      call({ responseFormat: { type: "json_schema", name: "reply", schema, strict: true } }),
    );
    expect(result.jsonToolName).toBe("json_answer");
    expect(result.body.toolConfig?.toolChoice).toEqual({ tool: { name: "json_answer" } });
    expect(result.body.toolConfig?.tools).toEqual([
      {
        toolSpec: {
          name: "json_answer",
          description: expect.stringContaining("(reply)"),
          inputSchema: { json: schema },
        },
      },
    ]);
  });

  it("asks for any JSON object in json_object mode", () => {
    const { body } = toBedrockRequest(call({ responseFormat: { type: "json_object" } }));
    expect(body.toolConfig?.tools[0]?.toolSpec.inputSchema).toEqual({ json: { type: "object" } });
  });

  it("lets the model choose between the caller's tools and the JSON answer, under a free name", () => {
    const result = toBedrockRequest(
      call({
        tools: [{ name: "json_answer", description: "the caller's own", parameters: { type: "object" } }],
        responseFormat: { type: "json_object" },
      }),
    );
    expect(result.jsonToolName).toBe("json_answer_2");
    expect(result.body.toolConfig?.toolChoice).toEqual({ any: {} });
    expect(result.body.toolConfig?.tools.map((t) => t.toolSpec.name)).toEqual([
      "json_answer",
      "json_answer_2",
    ]);
  });
  describe("images", () => {
    it("sends an inline image as an image block with its format and base64 bytes, before the text", () => {
      const { body } = toBedrockRequest(
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
          content: [{ image: { format: "png", source: { bytes: PNG } } }, { text: "What is this?" }],
        },
      ]);
    });

    it("sends two images in the caller's order, then the text, each type as its Converse format", () => {
      const { body } = toBedrockRequest(
        call({
          messages: [
            {
              role: "user",
              content: "Compare them.",
              images: [
                { url: `data:image/gif;base64,${GIF}` },
                { url: `data:image/jpeg;base64,${PNG}` },
                { url: `data:image/webp;base64,${PNG}` },
              ],
            },
          ],
        }),
      );
      expect(body.messages[0]?.content).toEqual([
        { image: { format: "gif", source: { bytes: GIF } } },
        { image: { format: "jpeg", source: { bytes: PNG } } },
        { image: { format: "webp", source: { bytes: PNG } } },
        { text: "Compare them." },
      ]);
    });

    it("sends an image without text as the image block alone, after the tool results of its turn", () => {
      const { body } = toBedrockRequest(
        call({
          messages: [
            { role: "user", content: "Draw a chart" },
            { role: "assistant", content: "", toolCalls: [{ id: "t1", name: "plot", arguments: "{}" }] },
            { role: "tool", content: "done", toolCallId: "t1" },
            { role: "user", content: "", images: [{ url: `data:image/png;base64,${PNG}` }] },
          ],
        }),
      );
      expect(body.messages[2]).toEqual({
        role: "user",
        content: [
          { toolResult: { toolUseId: "t1", content: [{ text: "done" }] } },
          { image: { format: "png", source: { bytes: PNG } } },
        ],
      });
    });

    it("refuses an image by http(s) URL as invalid_request the next target may take, without naming the URL", () => {
      let thrown: unknown;
      try {
        toBedrockRequest(
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
        message: "bedrock takes images inline only (data: URLs)",
      });
    });
  });
});
