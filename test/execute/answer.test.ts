import { describe, expect, it } from "vitest";
import { createAnswerAssembler } from "../../src/execute/answer.js";

describe("createAnswerAssembler", () => {
  it("concatenates text deltas into an assistant message without tool calls", () => {
    const answer = createAnswerAssembler();
    answer.add({ type: "text-delta", delta: "Hello" });
    answer.add({ type: "text-delta", delta: ", world" });
    expect(answer.message()).toEqual({ role: "assistant", content: "Hello, world" });
  });

  it("is an empty assistant message before anything arrived", () => {
    expect(createAnswerAssembler().message()).toEqual({ role: "assistant", content: "" });
  });

  it("joins tool-call deltas by index and lists the calls in index order", () => {
    const answer = createAnswerAssembler();
    answer.add({ type: "tool-call-delta", index: 2, id: "c2", name: "second", argumentsDelta: '{"b"' });
    answer.add({ type: "tool-call-delta", index: 0, id: "c0", name: "first", argumentsDelta: '{"a"' });
    answer.add({ type: "tool-call-delta", index: 2, argumentsDelta: ":2}" });
    answer.add({ type: "tool-call-delta", index: 0, argumentsDelta: ":1}" });
    expect(answer.message().toolCalls).toEqual([
      { id: "c0", name: "first", arguments: '{"a":1}' },
      { id: "c2", name: "second", arguments: '{"b":2}' },
    ]);
  });

  it("takes a call's id and name from the first piece that carries them", () => {
    const answer = createAnswerAssembler();
    answer.add({ type: "tool-call-delta", index: 0, argumentsDelta: "{" });
    answer.add({ type: "tool-call-delta", index: 0, id: "call_1", name: "lookup", argumentsDelta: "" });
    answer.add({ type: "tool-call-delta", index: 0, id: "call_2", name: "other", argumentsDelta: "}" });
    expect(answer.message().toolCalls).toEqual([{ id: "call_1", name: "lookup", arguments: "{}" }]);
  });
});
