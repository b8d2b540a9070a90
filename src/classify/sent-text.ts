import type { IdentifiedRequest } from "../core/call.js";

/** One piece of text a request would send a provider, and where it is. */
export interface SentText {
  text: string;
  /** Index into the messages; -1 for a field outside them. */
  message: number;
  field: string;
}

/**
 * Every piece of text the request would send a provider, in order: each message's content, name,
 * tool call id and image URLs (not inline image data), each tool call's arguments, id and name;
 * each tool's name, description and schema (as JSON); the stop sequences. What detection scans and content rules read: one list,
 * so nothing sent is left out of either.
 */
export function sentTexts(request: Pick<IdentifiedRequest, "messages" | "tools" | "params">): SentText[] {
  const texts: SentText[] = [];
  const add = (text: string | undefined, message: number, field: string) => {
    if (text) texts.push({ text, message, field });
  };
  request.messages.forEach((message, index) => {
    add(message.content, index, "content");
    add(message.name, index, "name");
    add(message.toolCallId, index, "tool_call_id");
    // An image's URL may carry a signed token; an inline image's bytes are not text to scan.
    message.images?.forEach((image, imageIndex) => {
      if (!image.url.startsWith("data:")) add(image.url, index, `images[${imageIndex}].url`);
    });
    message.toolCalls?.forEach((call, callIndex) => {
      add(call.arguments, index, `tool_calls[${callIndex}].arguments`);
      add(call.id, index, `tool_calls[${callIndex}].id`);
      add(call.name, index, `tool_calls[${callIndex}].name`);
    });
  });
  request.tools.forEach((tool, index) => {
    add(tool.name, -1, `tools[${index}].name`);
    add(tool.description, -1, `tools[${index}].description`);
    add(JSON.stringify(tool.parameters), -1, `tools[${index}].parameters`);
  });
  request.params.stop.forEach((sequence, index) => {
    add(sequence, -1, `params.stop[${index}]`);
  });
  return texts;
}
