import type { ChatMessage, ToolCall, ToolSpec } from "../../core/types.js";
import { splitSystem } from "../conversation.js";
import { inlineImageOnly } from "../images.js";
import { argumentsObject } from "../tool-arguments.js";
import type { ProviderCall } from "../types.js";

/**
 * A message of POST /api/chat.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 */
export type OllamaMessage =
  | { role: "system"; content: string }
  /** `images`: base64 data, without a `data:` prefix. */
  | { role: "user"; content: string; images?: string[] }
  | {
      role: "assistant";
      content: string;
      tool_calls?: { id?: string; function: { name: string; arguments: Record<string, unknown> } }[];
    }
  | { role: "tool"; content: string; tool_name?: string; tool_call_id?: string };

/** https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-streaming-with-tools */
export interface OllamaTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The request body of POST /api/chat, limited to what we send. */
export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  tools?: OllamaTool[];
  /** Always: every call streams (NDJSON), and the unary RPC assembles the answer from the stream. */
  stream: true;
  /** `"json"` for JSON mode, or the JSON schema the answer must fit (structured outputs). */
  format?: "json" | Record<string, unknown>;
  /** Model parameters, as a Modelfile's PARAMETER lines name them. */
  options?: {
    num_predict?: number;
    temperature?: number;
    top_p?: number;
    stop?: string[];
    num_ctx?: number;
  };
  keep_alive?: string | number;
}

/**
 * Builds the (streaming) /api/chat request body for one call. Pure; `call.signal` is not looked at.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion
 *
 * System messages: all of them, wherever they stood, become one system message at the start
 * (splitSystem). Ollama's template engine hands most chat templates exactly that (every system
 * message joined by a blank line, as `.System`), so hoisting them here makes a mid-conversation
 * system message mean the same to every model template, and the same as on the other providers.
 * https://github.com/ollama/ollama/blob/main/template/template.go (collate)
 *
 * Tool results carry `tool_name` (what Ollama's templates read; from the message's name or, when it
 * has none, the name of the call it answers) and `tool_call_id` (newer releases).
 *
 * A user message's images go in its `images` list as bare base64 (the `data:` prefix dropped: the
 * list carries no type, Ollama decodes the bytes); the model's template places them, so their
 * order relative to the text is not ours to choose. `detail` has no equivalent and is not sent. An image by URL
 * cannot be sent: the list takes image data only.
 * https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-with-images
 *
 * @throws ProviderError class "invalid_request" when an assistant tool call's arguments are JSON
 *   but not an object: Ollama's wire takes arguments only as an object; class "invalid_request",
 *   marked retryable so the next target is tried, for an image by URL (see inlineImageOnly).
 */
export function toOllamaRequest(
  call: ProviderCall,
  options: { numCtx?: number; keepAlive?: string | number } = {},
): OllamaChatRequest {
  const { system, turns } = splitSystem(call.messages);
  const namesById = new Map<string, string>();
  for (const message of turns)
    for (const toolCall of message.toolCalls ?? []) namesById.set(toolCall.id, toolCall.name);

  const messages: OllamaMessage[] = system === "" ? [] : [{ role: "system", content: system }];
  for (const message of turns) messages.push(toOllamaMessage(message, namesById));

  const body: OllamaChatRequest = { model: call.model, messages, stream: true };
  if (call.tools.length > 0) body.tools = call.tools.map(toOllamaTool);
  // https://github.com/ollama/ollama/blob/main/docs/api.md#request-json-mode and #request-structured-outputs
  const format = call.responseFormat;
  if (format?.type === "json_object") body.format = "json";
  else if (format?.type === "json_schema") body.format = format.schema;

  // https://github.com/ollama/ollama/blob/main/docs/modelfile.mdx#valid-parameters-and-values
  const modelOptions: NonNullable<OllamaChatRequest["options"]> = {};
  if (call.maxTokens !== undefined) modelOptions.num_predict = call.maxTokens;
  if (call.temperature !== undefined) modelOptions.temperature = call.temperature;
  if (call.topP !== undefined) modelOptions.top_p = call.topP;
  if (call.stop.length > 0) modelOptions.stop = [...call.stop];
  if (options.numCtx !== undefined) modelOptions.num_ctx = options.numCtx;
  if (Object.keys(modelOptions).length > 0) body.options = modelOptions;
  if (options.keepAlive !== undefined) body.keep_alive = options.keepAlive;
  return body;
}

function toOllamaMessage(message: ChatMessage, namesById: ReadonlyMap<string, string>): OllamaMessage {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content };
    case "user": {
      const images = (message.images ?? []).map((image) => inlineImageOnly(image, "ollama").data);
      return images.length === 0
        ? { role: "user", content: message.content }
        : { role: "user", content: message.content, images };
    }
    case "assistant": {
      const toolCalls = message.toolCalls ?? [];
      if (toolCalls.length === 0) return { role: "assistant", content: message.content };
      return { role: "assistant", content: message.content, tool_calls: toolCalls.map(toOllamaToolCall) };
    }
    case "tool": {
      const result: OllamaMessage = { role: "tool", content: message.content };
      const id = message.toolCallId;
      const name =
        message.name !== undefined && message.name !== ""
          ? message.name
          : id === undefined
            ? undefined
            : namesById.get(id);
      if (name !== undefined) result.tool_name = name;
      if (id !== undefined && id !== "") result.tool_call_id = id;
      return result;
    }
  }
}

function toOllamaToolCall(call: ToolCall): {
  id?: string;
  function: { name: string; arguments: Record<string, unknown> };
} {
  const wire = { function: { name: call.name, arguments: argumentsObject(call.arguments, "ollama") } };
  return call.id === "" ? wire : { id: call.id, ...wire };
}

function toOllamaTool(tool: ToolSpec): OllamaTool {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}
