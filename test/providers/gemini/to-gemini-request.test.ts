import { describe, expect, it } from "vitest";
import {
  THOUGHT_SIGNATURE_SENTINEL,
  toGeminiRequest,
  toGeminiSchema,
} from "../../../src/providers/gemini/to-gemini-request.js";
import { ProviderError } from "../../../src/providers/provider-error.js";
import type { ProviderCall } from "../../../src/providers/types.js";

function call(overrides: Partial<ProviderCall> = {}): ProviderCall {
  return {
    model: "gemini-2.5-flash",
    messages: [{ role: "user", content: "Say hello" }],
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

describe("toGeminiRequest", () => {
  it("maps a plain user message and nothing else", () => {
    expect(toGeminiRequest(call())).toEqual({ contents: [{ role: "user", parts: [{ text: "Say hello" }] }] });
  });

  it("puts every system message, a mid-conversation one included, into systemInstruction", () => {
    const body = toGeminiRequest(
      call({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello." },
          { role: "system", content: "Now answer in French." },
          { role: "user", content: "Bye" },
        ],
      }),
    );
    expect(body.systemInstruction).toEqual({ parts: [{ text: "Be brief.\n\nNow answer in French." }] });
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Hi" }] },
      { role: "model", parts: [{ text: "Hello." }] },
      { role: "user", parts: [{ text: "Bye" }] },
    ]);
  });

  it("maps generation parameters into generationConfig", () => {
    const body = toGeminiRequest(call({ maxTokens: 64, temperature: 0.2, topP: 0.9, stop: ["END", "\n\n"] }));
    expect(body.generationConfig).toEqual({
      maxOutputTokens: 64,
      temperature: 0.2,
      topP: 0.9,
      stopSequences: ["END", "\n\n"],
    });
  });

  it("asks for JSON with responseMimeType, and for a schema with responseSchema", () => {
    expect(toGeminiRequest(call({ responseFormat: { type: "json_object" } })).generationConfig).toEqual({
      responseMimeType: "application/json",
    });
    const schema = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { answer: { type: "string" } },
      required: ["answer"],
      additionalProperties: false,
    };
    const format = { type: "json_schema" as const, name: "answer", schema, strict: true };
    expect(toGeminiRequest(call({ responseFormat: format })).generationConfig).toEqual({
      responseMimeType: "application/json",
      responseSchema: { type: "OBJECT", properties: { answer: { type: "STRING" } }, required: ["answer"] },
    });
    expect(
      toGeminiRequest(call({ responseFormat: format }), { schemaFormat: "json_schema" }).generationConfig,
    ).toEqual({
      responseMimeType: "application/json",
      responseJsonSchema: {
        type: "object",
        properties: { answer: { type: "string" } },
        required: ["answer"],
        additionalProperties: false,
      },
    });
  });

  it("declares tools, leaving out parameters of a function without arguments", () => {
    const body = toGeminiRequest(
      call({
        tools: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          },
          { name: "now", description: "The time", parameters: { type: "object", properties: {} } },
        ],
      }),
    );
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"] },
          },
          { name: "now", description: "The time" },
        ],
      },
    ]);
    const raw = toGeminiRequest(
      call({ tools: [{ name: "f", description: "", parameters: { type: "object" } }] }),
      {
        schemaFormat: "json_schema",
      },
    );
    expect(raw.tools?.[0]?.functionDeclarations[0]).toEqual({
      name: "f",
      description: "",
      parametersJsonSchema: { type: "object" },
    });
  });

  it("replays an assistant tool turn and answers its calls with function responses named after them", () => {
    const body = toGeminiRequest(
      call({
        messages: [
          { role: "user", content: "Weather in Paris and Rome?" },
          {
            role: "assistant",
            content: "Checking.",
            toolCalls: [
              { id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
              { id: "call_b", name: "get_time", arguments: "" },
            ],
          },
          { role: "tool", toolCallId: "call_b", content: "12:00" },
          { role: "tool", toolCallId: "call_a", content: '{"temp":21}' },
          { role: "user", content: "Thanks" },
        ],
      }),
    );
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
      {
        role: "model",
        parts: [
          { text: "Checking." },
          {
            functionCall: { name: "get_weather", args: { city: "Paris" } },
            thoughtSignature: THOUGHT_SIGNATURE_SENTINEL,
          },
          { functionCall: { name: "get_time", args: {} } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_time", response: { output: "12:00" } } },
          { functionResponse: { name: "get_weather", response: { temp: 21 } } },
          { text: "Thanks" },
        ],
      },
    ]);
  });

  it("names a result after the nearest earlier call with its id (synthesized ids repeat across turns)", () => {
    const body = toGeminiRequest(
      call({
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: "", toolCalls: [{ id: "call_0", name: "first", arguments: "{}" }] },
          { role: "tool", toolCallId: "call_0", content: "[1,2]" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_0", name: "second", arguments: '{"n":3}' }],
          },
          { role: "tool", toolCallId: "call_0", content: "null" },
        ],
      }),
    );
    expect(body.contents.slice(1)).toEqual([
      {
        role: "model",
        parts: [{ functionCall: { name: "first", args: {} }, thoughtSignature: THOUGHT_SIGNATURE_SENTINEL }],
      },
      { role: "user", parts: [{ functionResponse: { name: "first", response: { output: [1, 2] } } }] },
      {
        role: "model",
        parts: [
          {
            functionCall: { name: "second", args: { n: 3 } },
            thoughtSignature: THOUGHT_SIGNATURE_SENTINEL,
          },
        ],
      },
      { role: "user", parts: [{ functionResponse: { name: "second", response: { output: null } } }] },
    ]);
  });

  it("falls back to the result's own name, and refuses a result that answers nothing", () => {
    const named = toGeminiRequest(
      call({ messages: [{ role: "tool", toolCallId: "x", name: "lookup", content: "ok" }] }),
    );
    expect(named.contents[0]?.parts).toEqual([
      { functionResponse: { name: "lookup", response: { output: "ok" } } },
    ]);
    expect(() =>
      toGeminiRequest(call({ messages: [{ role: "tool", toolCallId: "x", content: "ok" }] })),
    ).toThrow(expect.objectContaining({ errorClass: "invalid_request" }));
    expect(() =>
      toGeminiRequest(call({ messages: [{ role: "tool", toolCallId: "x", content: "ok" }] })),
    ).toThrow(ProviderError);
  });
  describe("images", () => {
    it("sends an inline image as an inlineData part before the text, leaving detail out", () => {
      const body = toGeminiRequest(
        call({
          messages: [
            {
              role: "user",
              content: "What is this?",
              images: [{ url: `data:image/png;base64,${PNG}`, detail: "high" }],
            },
          ],
        }),
      );
      expect(body.contents).toEqual([
        {
          role: "user",
          parts: [{ inlineData: { mimeType: "image/png", data: PNG } }, { text: "What is this?" }],
        },
      ]);
    });

    it("sends two images in the caller's order, then the text", () => {
      const body = toGeminiRequest(
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
      expect(body.contents[0]?.parts).toEqual([
        { inlineData: { mimeType: "image/gif", data: GIF } },
        { inlineData: { mimeType: "image/png", data: PNG } },
        { text: "Compare them." },
      ]);
    });

    it("sends an image without text as the image part alone (no empty text part)", () => {
      const body = toGeminiRequest(
        call({
          messages: [{ role: "user", content: "", images: [{ url: `data:image/gif;base64,${GIF}` }] }],
        }),
      );
      expect(body.contents).toEqual([
        { role: "user", parts: [{ inlineData: { mimeType: "image/gif", data: GIF } }] },
      ]);
    });

    it("refuses an image by http(s) URL as invalid_request the next target may take, without naming the URL", () => {
      let thrown: unknown;
      try {
        toGeminiRequest(
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
        message: "gemini takes images inline only (data: URLs)",
      });
    });
  });
});

describe("toGeminiSchema", () => {
  it("converts types, nullability, const and string enums", () => {
    expect(
      toGeminiSchema({
        type: "object",
        properties: {
          name: { type: ["string", "null"], description: "Name" },
          kind: { const: "cat" },
          color: { type: "string", enum: ["red", "green", null] },
          size: { type: "integer", enum: [1, 2, 3] },
          when: { type: "string", format: "date-time" },
          url: { type: "string", format: "uri" },
          either: { type: ["string", "number"] },
        },
        required: ["name", "ghost"],
      }),
    ).toEqual({
      type: "OBJECT",
      properties: {
        name: { type: "STRING", description: "Name", nullable: true },
        kind: { type: "STRING", enum: ["cat"] },
        color: { type: "STRING", enum: ["red", "green"], nullable: true },
        size: { type: "INTEGER", description: "Allowed values: 1, 2, 3." },
        when: { type: "STRING", format: "date-time" },
        url: { type: "STRING" },
        either: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }] },
      },
      required: ["name"],
    });
  });

  it("turns oneOf into anyOf, inlines a single non-null branch and merges allOf", () => {
    expect(toGeminiSchema({ oneOf: [{ type: "string" }, { type: "integer" }] })).toEqual({
      anyOf: [{ type: "STRING" }, { type: "INTEGER" }],
    });
    expect(toGeminiSchema({ description: "maybe", anyOf: [{ type: "string" }, { type: "null" }] })).toEqual({
      description: "maybe",
      type: "STRING",
      nullable: true,
    });
    expect(
      toGeminiSchema({
        allOf: [
          { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
          { properties: { b: { type: "boolean" } }, required: ["b"] },
        ],
      }),
    ).toEqual({
      type: "OBJECT",
      properties: { a: { type: "STRING" }, b: { type: "BOOLEAN" } },
      required: ["a", "b"],
    });
  });

  it("inlines local $refs and cuts recursion", () => {
    const schema = {
      type: "object",
      properties: { root: { $ref: "#/$defs/node" }, legacy: { $ref: "#/definitions/leaf" } },
      $defs: {
        node: {
          type: "object",
          description: "A node",
          properties: { value: { type: "number" }, child: { $ref: "#/$defs/node" } },
        },
      },
      definitions: { leaf: { type: "boolean" } },
    };
    const converted = toGeminiSchema(schema);
    expect(converted.properties).toMatchObject({
      root: { type: "OBJECT", description: "A node", properties: { value: { type: "NUMBER" } } },
      legacy: { type: "BOOLEAN" },
    });
    let depth = 0;
    let node = (converted.properties as Record<string, Record<string, unknown>>).root;
    while (node?.properties !== undefined) {
      node = (node.properties as Record<string, Record<string, unknown>>).child;
      depth += 1;
    }
    expect(depth).toBe(6);
    expect(node).toEqual({ type: "OBJECT", description: "A node" });
    expect(JSON.stringify(converted)).not.toContain("$ref");
    expect(JSON.stringify(converted)).not.toContain("$defs");
  });

  it("drops what Gemini's Schema has no word for, keeps what it has", () => {
    expect(
      toGeminiSchema({
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $id: "x",
        type: "array",
        items: { type: "string", minLength: 1, maxLength: 9, pattern: "^a" },
        minItems: 1,
        maxItems: 3,
        uniqueItems: true,
        additionalProperties: false,
        examples: [["a"]],
        title: "Tags",
      }),
    ).toEqual({
      title: "Tags",
      minItems: 1,
      maxItems: 3,
      example: ["a"],
      type: "ARRAY",
      items: { type: "STRING", minLength: 1, maxLength: 9, pattern: "^a" },
    });
  });

  it("infers OBJECT and ARRAY, and turns tuples into items with anyOf", () => {
    expect(toGeminiSchema({ properties: { a: {} } })).toEqual({ type: "OBJECT", properties: { a: {} } });
    expect(toGeminiSchema({ prefixItems: [{ type: "string" }, { type: "number" }] })).toEqual({
      type: "ARRAY",
      items: { anyOf: [{ type: "STRING" }, { type: "NUMBER" }] },
    });
  });
});

describe("toGeminiSchema with self-referring definitions", () => {
  it("refuses, retryably, schemas that expand past the bound once their $refs are inlined", () => {
    const properties = Object.fromEntries(
      Array.from({ length: 14 }, (_, i) => [`p${i}`, { $ref: "#/$defs/node" }]),
    );
    const schema = { $defs: { node: { type: "object", properties } }, $ref: "#/$defs/node" };
    expect(() => toGeminiSchema(schema)).toThrow(
      expect.objectContaining({ errorClass: "invalid_request", retryable: true }),
    );
  });

  it("counts every schema of a request against one bound (many tools each under it are not)", () => {
    const inline = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`b${i}`, { type: "integer" }]));
    const recursive = {
      $defs: { a: { type: "object", properties: { p: { $ref: "#/$defs/a" }, ...inline } } },
      $ref: "#/$defs/a",
    };
    const tools = Array.from({ length: 10 }, (_, i) => ({
      name: `t${i}`,
      description: "",
      parameters: recursive,
    }));
    expect(() => toGeminiRequest(call({ tools }))).toThrow(
      expect.objectContaining({ errorClass: "invalid_request", retryable: true }),
    );
    // One small recursive schema converts, its recursion cut at the depth bound.
    const small = {
      $defs: { a: { type: "object", properties: { p: { $ref: "#/$defs/a" } } } },
      $ref: "#/$defs/a",
    };
    expect(JSON.stringify(toGeminiSchema(small))).toContain('"type":"OBJECT"');
  });
});
