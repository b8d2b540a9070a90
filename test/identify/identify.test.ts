import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import { InvalidRequestError } from "../../src/core/errors.js";
import type { ChatMessage, LlmRequest } from "../../src/core/types.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const policy = parsePolicy(
  `
data_classes:
  public: { may_leave: true }
  internal: { may_leave: false }
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m }
`,
  { source: "identify.test.yaml", env: {} },
);

/** The field and reason identify refuses `overrides` with; fails the test when it accepts them. */
function refusal(overrides: Partial<LlmRequest>): { field: string; reason: string } {
  try {
    identify(request(overrides), policy);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    const { field, reason } = error as InvalidRequestError;
    return { field, reason };
  }
  throw new Error("expected identify to refuse the request");
}

const user = (content: string): ChatMessage => ({ role: "user", content });
const toolCall = (id: string, name = "weather") => ({ id, name, arguments: "{}" });

describe("identify", () => {
  it('defaults the tenant to "default" and keeps everything else as sent', () => {
    const sent = request({ task: "chat", dataClass: "public", user: "u1", labels: { team: "a" } });
    expect(identify(sent, policy)).toEqual({ ...sent, tenant: "default" });
    expect(identify(request({ tenant: "acme" }), policy).tenant).toBe("acme");
  });

  it("accepts a tool conversation: an assistant's calls, each answered by a tool message", () => {
    const messages: ChatMessage[] = [
      user("weather in Oslo?"),
      { role: "assistant", content: "", toolCalls: [toolCall("call_1")] },
      { role: "tool", content: "sunny", toolCallId: "call_1" },
    ];
    expect(identify(request({ messages }), policy).messages).toBe(messages);
  });

  it("refuses a request without messages, or without a user message", () => {
    expect(refusal({ messages: [] })).toEqual({
      field: "messages",
      reason: "must contain at least one message",
    });
    expect(refusal({ messages: [{ role: "system", content: "be brief" }] })).toEqual({
      field: "messages",
      reason: "must contain at least one message with role ROLE_USER",
    });
  });

  it("refuses an empty message, except an assistant's that carries tool calls", () => {
    expect(refusal({ messages: [user("hi"), { role: "assistant", content: "" }] })).toEqual({
      field: "messages[1].content",
      reason: "must not be empty",
    });
  });

  it("refuses tool calls with an empty id or a name providers would not accept", () => {
    const withCall = (call: ReturnType<typeof toolCall>) => ({
      messages: [user("hi"), { role: "assistant" as const, content: "", toolCalls: [call] }],
    });
    expect(refusal(withCall(toolCall("")))).toEqual({
      field: "messages[1].toolCalls[0].id",
      reason: "must not be empty",
    });
    expect(refusal(withCall(toolCall("call_1", "get weather")))).toEqual({
      field: "messages[1].toolCalls[0].name",
      reason: "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
    });
    expect(refusal(withCall(toolCall("call_1", "x".repeat(65)))).field).toBe("messages[1].toolCalls[0].name");
  });

  it("refuses tool calls on a message that is not the assistant's", () => {
    expect(refusal({ messages: [{ role: "user", content: "hi", toolCalls: [toolCall("call_1")] }] })).toEqual(
      {
        field: "messages[0].toolCalls",
        reason: "only messages with role ROLE_ASSISTANT carry tool calls",
      },
    );
  });

  it("refuses a tool message without a tool call id, or answering no earlier call", () => {
    expect(refusal({ messages: [user("hi"), { role: "tool", content: "sunny" }] })).toEqual({
      field: "messages[1].toolCallId",
      reason: "is required for a message with role ROLE_TOOL",
    });
    expect(
      refusal({ messages: [user("hi"), { role: "tool", content: "sunny", toolCallId: "call_9" }] }),
    ).toEqual({
      field: "messages[1].toolCallId",
      reason: '"call_9" answers no earlier tool call',
    });
    // The call must come before its answer.
    expect(
      refusal({
        messages: [
          user("hi"),
          { role: "tool", content: "sunny", toolCallId: "call_1" },
          { role: "assistant", content: "", toolCalls: [toolCall("call_1")] },
        ],
      }).field,
    ).toBe("messages[1].toolCallId");
  });

  it("refuses a data class the policy does not declare, listing those it does", () => {
    expect(refusal({ dataClass: "pii" })).toEqual({
      field: "dataClass",
      reason: 'unknown data class "pii" (this policy declares: public, internal)',
    });
  });

  it("refuses generation parameters out of range", () => {
    const params = (values: Partial<LlmRequest["params"]>) => ({ params: { stop: [], ...values } });
    expect(refusal(params({ temperature: 2.5 }))).toEqual({
      field: "params.temperature",
      reason: "must be between 0 and 2",
    });
    expect(refusal(params({ temperature: Number.NaN })).field).toBe("params.temperature");
    expect(refusal(params({ topP: 0 }))).toEqual({
      field: "params.topP",
      reason: "must be greater than 0 and at most 1",
    });
    expect(refusal(params({ topP: 1.1 })).field).toBe("params.topP");
    expect(refusal(params({ maxTokens: 0 }))).toEqual({
      field: "params.maxTokens",
      reason: "must be at least 1",
    });
    expect(refusal(params({ stop: ["END", ""] }))).toEqual({
      field: "params.stop[1]",
      reason: "must not be empty",
    });
    // The bounds themselves are allowed.
    expect(() => identify(request(params({ temperature: 0, topP: 1, maxTokens: 1 })), policy)).not.toThrow();
    expect(() => identify(request(params({ temperature: 2 })), policy)).not.toThrow();
  });

  it("refuses tools with a name providers would not accept, or the same name twice", () => {
    const tool = (name: string) => ({ name, description: "", parameters: {} });
    expect(refusal({ tools: [tool("ok"), tool("not ok")] })).toEqual({
      field: "tools[1].name",
      reason: "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
    });
    expect(refusal({ tools: [tool("find"), tool("find")] })).toEqual({
      field: "tools[1].name",
      reason: 'duplicate tool name "find"',
    });
  });
});
