import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../../../src/core/errors.js";
import { paramName, parseChatRequest, toChatCall } from "../../../src/server/openai/chat-request.js";

const USER = { role: "user", content: "hi" };
const mapped = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  toChatCall(parseChatRequest({ model: "auto", messages: [USER], ...body }), Object.entries(headers).flat());

/** The field an InvalidRequestError names, or "none". */
function refusedField(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error.field;
    throw error;
  }
  return "none";
}

describe("an OpenAI chat request as the domain request", () => {
  it("maps roles, content parts, names and tool calls", () => {
    const { request } = mapped({
      messages: [
        { role: "developer", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "part one, " },
            { type: "text", text: "part two" },
          ],
          name: "ann",
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }],
        },
        { role: "tool", content: "42", tool_call_id: "c1" },
      ],
    });
    expect(request.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "part one, part two", name: "ann" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "lookup", arguments: '{"q":1}' }] },
      { role: "tool", content: "42", toolCallId: "c1" },
    ]);
    expect(request.model).toBe("auto");
  });

  it("maps generation parameters, a lone stop string and JSON output", () => {
    const { request } = mapped({
      max_completion_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
    });
    expect(request.params).toEqual({
      maxTokens: 50,
      temperature: 0.2,
      topP: 0.9,
      stop: ["END"],
      responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true },
    });
    expect(mapped({ response_format: { type: "json_object" } }).request.params.responseFormat).toEqual({
      type: "json_object",
    });
    expect(mapped({ response_format: { type: "text" } }).request.params.responseFormat).toBeUndefined();
  });

  it("takes nulls as absent, as OpenAI does", () => {
    const { request, stream } = mapped({
      temperature: null,
      stop: null,
      tools: null,
      stream: null,
      user: null,
    });
    expect(request.params).toEqual({ stop: [] });
    expect(request.tools).toEqual([]);
    expect(stream).toBe(false);
  });

  it("offers no tools with tool_choice none, so the model cannot call one", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    expect(mapped({ tools }).request.tools).toEqual([
      { name: "f", description: "", parameters: { type: "object" } },
    ]);
    expect(mapped({ tools, tool_choice: "none" }).request.tools).toEqual([]);
    expect(refusedField(() => mapped({ tools, tool_choice: "required" }))).toBe("tool_choice");
  });

  it("reads who and what from headers or the body, and refuses the two disagreeing", () => {
    const fromHeaders = mapped(
      {},
      {
        "x-switchyard-tenant": "acme",
        "x-switchyard-user": "u1",
        "x-switchyard-task": "extract",
        "x-switchyard-data-class": "pii",
        "x-switchyard-approved-tools": "send_email, refund",
        "x-switchyard-eval": "true",
      },
    ).request;
    expect(fromHeaders).toMatchObject({
      tenant: "acme",
      user: "u1",
      task: "extract",
      dataClass: "pii",
      approvedTools: ["send_email", "refund"],
      eval: true,
    });
    const fromBody = mapped({
      user: "u2",
      metadata: { tenant: "acme", task: "code", data_class: "internal", team: "x" },
    }).request;
    expect(fromBody).toMatchObject({
      tenant: "acme",
      user: "u2",
      task: "code",
      dataClass: "internal",
      labels: { team: "x" },
    });
    expect(refusedField(() => mapped({ user: "a" }, { "x-switchyard-user": "b" }))).toBe("x-switchyard-user");
    expect(mapped({ user: "a" }, { "x-switchyard-user": "a" }).request.user).toBe("a");
    expect(refusedField(() => mapped({}, { "x-switchyard-eval": "yes" }))).toBe("x-switchyard-eval");
    // Sent twice (node would join them into "a, b"), or not ASCII (node reads header bytes as Latin-1).
    const twice = ["x-switchyard-tenant", "a", "X-Switchyard-Tenant", "b"];
    expect(refusedField(() => toChatCall(parseChatRequest({ model: "auto", messages: [USER] }), twice))).toBe(
      "x-switchyard-tenant",
    );
    expect(refusedField(() => mapped({}, { "x-switchyard-tenant": "caf\u00c3\u00a9" }))).toBe(
      "x-switchyard-tenant",
    );
  });

  it("refuses max_tokens and max_completion_tokens that disagree", () => {
    expect(refusedField(() => mapped({ max_tokens: 10, max_completion_tokens: 20 }))).toBe(
      "max_completion_tokens",
    );
    expect(mapped({ max_tokens: 10, max_completion_tokens: 10 }).request.params.maxTokens).toBe(10);
  });

  it("refuses what it cannot honour by name, and accepts those keys at their neutral value", () => {
    expect(refusedField(() => mapped({ logit_bias: {} }))).toBe("logit_bias");
    expect(refusedField(() => mapped({ n: 2 }))).toBe("n");
    expect(refusedField(() => mapped({ presence_penalty: 0.5 }))).toBe("presence_penalty");
    expect(refusedField(() => mapped({ parallel_tool_calls: false }))).toBe("parallel_tool_calls");
    expect(
      mapped({ n: 1, presence_penalty: 0, frequency_penalty: 0, logprobs: false, parallel_tool_calls: true })
        .stream,
    ).toBe(false);
    expect(refusedField(() => mapped({ messages: [{ role: "user", content: "hi", extra: 1 }] }))).toBe(
      "messages[0].extra",
    );
    expect(
      refusedField(() =>
        mapped({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) }),
      ),
    ).toBe("metadata");
  });
});

describe("paramName", () => {
  it("names domain fields as the OpenAI request spells them", () => {
    const call = mapped({ max_completion_tokens: 5, stop: "x" });
    expect(paramName(call, "params.maxTokens")).toBe("max_completion_tokens");
    expect(paramName(call, "params.stop[0]")).toBe("stop");
    expect(paramName(undefined, "params.maxTokens")).toBe("max_tokens");
    expect(paramName(undefined, "params.topP")).toBe("top_p");
    expect(paramName(undefined, "params.stop[2]")).toBe("stop[2]");
    expect(paramName(undefined, "messages[3].toolCalls[1].arguments")).toBe(
      "messages[3].tool_calls[1].function.arguments",
    );
    expect(paramName(undefined, "messages[3].toolCallId")).toBe("messages[3].tool_call_id");
    expect(paramName(undefined, "tools[0].parameters")).toBe("tools[0].function.parameters");
    expect(paramName(undefined, 'labels["team"]')).toBe('metadata["team"]');
    expect(paramName(undefined, "dataClass")).toBe("x-switchyard-data-class");
    expect(paramName(undefined, "params.responseFormat.schema")).toBe("response_format.json_schema.schema");
  });
});

describe("image parts in user messages", () => {
  it("are images, and errors in the other parts keep their own index", () => {
    const image = { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } };
    const { request } = mapped({
      messages: [{ role: "user", content: [{ type: "text", text: "what?" }, image] }],
    });
    expect(request.messages[0]).toEqual({
      role: "user",
      content: "what?",
      images: [{ url: "https://example.com/a.png", detail: "high" }],
    });
    expect(
      refusedField(() =>
        mapped({ messages: [{ role: "user", content: [image, { type: "text", text: 5 }] }] }),
      ),
    ).toBe("messages[0].content[1].text");
  });
});
