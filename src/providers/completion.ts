import type { Completion, StreamPart } from "./types.js";

/**
 * A whole answer replayed as the parts a stream would have brought: what an adapter yields when
 * a server ignores `stream: true` and answers in one JSON body.
 */
export function completionToParts(completion: Completion): StreamPart[] {
  const parts: StreamPart[] = [];
  if (completion.content !== "") parts.push({ type: "text-delta", delta: completion.content });
  completion.toolCalls.forEach((call, index) => {
    parts.push({
      type: "tool-call-delta",
      index,
      id: call.id,
      name: call.name,
      argumentsDelta: call.arguments,
    });
  });
  if (completion.usage === undefined) {
    parts.push({ type: "response-end", finishReason: completion.finishReason });
  } else {
    parts.push({ type: "usage", usage: completion.usage });
    parts.push({ type: "response-end", finishReason: completion.finishReason, usage: completion.usage });
  }
  return parts;
}
