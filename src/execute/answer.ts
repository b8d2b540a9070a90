import type { ChatMessage, ToolCall } from "../core/types.js";
import type { StreamPart } from "../providers/types.js";

type AnswerPart = Extract<StreamPart, { type: "text-delta" } | { type: "tool-call-delta" }>;

/** Collects one attempt's answer from its stream parts. */
export interface AnswerAssembler {
  add(part: AnswerPart): void;
  /** The assistant message built from everything received. */
  message(): ChatMessage;
}

/**
 * Text deltas are concatenated; tool-call deltas are joined by index, each call's id and name
 * taken from the first piece that carries them (adapters announce them once).
 */
export function createAnswerAssembler(): AnswerAssembler {
  const text: string[] = [];
  const calls = new Map<number, ToolCall>();
  return {
    add(part) {
      if (part.type === "text-delta") {
        text.push(part.delta);
        return;
      }
      const call = calls.get(part.index) ?? { id: "", name: "", arguments: "" };
      if (part.id !== undefined && call.id === "") call.id = part.id;
      if (part.name !== undefined && call.name === "") call.name = part.name;
      call.arguments += part.argumentsDelta;
      calls.set(part.index, call);
    },
    message() {
      const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
      return {
        role: "assistant",
        content: text.join(""),
        ...(toolCalls.length > 0 && { toolCalls }),
      };
    },
  };
}
