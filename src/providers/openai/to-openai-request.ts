import type { ChatMessage, ToolSpec } from "../../core/types.js";
import type { ProviderCall } from "../types.js";

/** https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages */
export type OpenAiMessage =
  | { role: "system"; content: string; name?: string }
  | { role: "user"; content: string | OpenAiContentPart[]; name?: string }
  | {
      role: "assistant";
      content: string | null;
      name?: string;
      tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
    }
  | { role: "tool"; content: string; tool_call_id: string };

/** A part of a user message's content. */
export type OpenAiContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string; detail?: "low" | "high" } };

/** https://platform.openai.com/docs/api-reference/chat/create#chat-create-tools */
export interface OpenAiTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The request body of POST /chat/completions, limited to what we send. */
export interface OpenAiChatRequest {
  model: string;
  messages: OpenAiMessage[];
  tools?: OpenAiTool[];
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  response_format?:
    | { type: "json_object" }
    | {
        type: "json_schema";
        json_schema: { name: string; schema: Record<string, unknown>; strict: boolean };
      };
  /** Always: every call streams, and the unary RPC assembles the answer from the stream. */
  stream: true;
  /** Left out for servers that refuse it (Mistral). */
  stream_options?: { include_usage: boolean };
  /** vLLM: continue the final assistant message instead of starting a new one. */
  continue_final_message?: true;
  add_generation_prompt?: false;
}

/**
 * Builds the (streaming) chat-completions request body for one call. Pure; `call.signal` is not
 * looked at.
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export function toOpenAiRequest(
  call: ProviderCall,
  options: {
    maxTokensField?: "max_tokens" | "max_completion_tokens";
    assistantPrefix?: "none" | "vllm";
    /** Ask for usage in the stream (default true); Mistral refuses the key and sends it unasked. */
    streamUsage?: boolean;
  } = {},
): OpenAiChatRequest {
  const body: OpenAiChatRequest = {
    model: call.model,
    messages: call.messages.map(toOpenAiMessage),
    stream: true,
  };
  // Without it an OpenAI stream carries no token counts at all.
  // https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options
  if (options.streamUsage ?? true) body.stream_options = { include_usage: true };
  // OpenAI rejects `tools: []` ("[] is too short"), so no tools means no key at all.
  if (call.tools.length > 0) body.tools = call.tools.map(toOpenAiTool);
  // `max_tokens` by default: vLLM, Ollama, Mistral and older gateways only know it, and OpenAI
  // accepts it for every non-reasoning model; its reasoning models want `max_completion_tokens`.
  if (call.maxTokens !== undefined) body[options.maxTokensField ?? "max_tokens"] = call.maxTokens;
  if (call.temperature !== undefined) body.temperature = call.temperature;
  if (call.topP !== undefined) body.top_p = call.topP;
  if (call.stop.length > 0) body.stop = [...call.stop];
  // https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format
  const format = call.responseFormat;
  if (format?.type === "json_object") body.response_format = { type: "json_object" };
  else if (format?.type === "json_schema")
    body.response_format = {
      type: "json_schema",
      json_schema: { name: format.name, schema: format.schema, strict: format.strict },
    };
  // A partial answer to continue, as vLLM takes it (the answer streams only what follows it).
  // https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html (continue_final_message)
  if (call.assistantPrefix !== undefined && options.assistantPrefix === "vllm") {
    body.messages.push({ role: "assistant", content: call.assistantPrefix });
    body.continue_final_message = true;
    body.add_generation_prompt = false;
  }
  return body;
}

function toOpenAiMessage(message: ChatMessage): OpenAiMessage {
  const name = message.name === undefined || message.name === "" ? {} : { name: message.name };
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content, ...name };
    case "user": {
      const images = message.images ?? [];
      if (images.length === 0) return { role: "user", content: message.content, ...name };
      // https://platform.openai.com/docs/guides/images-vision (content parts; URLs and data URLs alike)
      return {
        role: "user",
        content: [
          ...(message.content === "" ? [] : [{ type: "text" as const, text: message.content }]),
          ...images.map((image) => ({
            type: "image_url" as const,
            image_url: { url: image.url, ...(image.detail && { detail: image.detail }) },
          })),
        ],
        ...name,
      };
    }
    case "assistant": {
      const toolCalls = message.toolCalls ?? [];
      if (toolCalls.length === 0) return { role: "assistant", content: message.content, ...name };
      return {
        role: "assistant",
        // The reference documents null content for a turn that only calls tools.
        content: message.content === "" ? null : message.content,
        ...name,
        tool_calls: toolCalls.map((call) => ({
          id: call.id,
          type: "function" as const,
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
    case "tool":
      // No `name` here: OpenAI's tool message has none and strict servers reject unknown keys.
      return { role: "tool", content: message.content, tool_call_id: message.toolCallId ?? "" };
  }
}

function toOpenAiTool(tool: ToolSpec): OpenAiTool {
  return {
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}
