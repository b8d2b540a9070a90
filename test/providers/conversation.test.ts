import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../src/core/types.js";
import { groupTurns, splitSystem } from "../../src/providers/conversation.js";

describe("splitSystem", () => {
  it("gathers every system message, a mid-conversation one included, in order", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "system", content: "Now answer in French." },
      { role: "user", content: "and now?" },
    ];
    expect(splitSystem(messages)).toEqual({
      system: "You are terse.\n\nNow answer in French.",
      turns: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "user", content: "and now?" },
      ],
    });
    expect(splitSystem([{ role: "user", content: "hi" }]).system).toBe("");
  });
});

describe("groupTurns", () => {
  it("puts consecutive messages of one wire role in one turn", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "a", name: "w", arguments: "{}" },
          { id: "b", name: "w", arguments: "{}" },
        ],
      },
      { role: "tool", content: "sunny", toolCallId: "a" },
      { role: "tool", content: "rain", toolCallId: "b" },
      { role: "assistant", content: "Paris sunny, Rome rain." },
    ];
    const turns = groupTurns(messages, (message) => (message.role === "assistant" ? "assistant" : "user"));
    expect(turns.map((turn) => [turn.role, turn.messages.length])).toEqual([
      ["user", 1],
      ["assistant", 1],
      ["user", 2],
      ["assistant", 1],
    ]);
  });
});
