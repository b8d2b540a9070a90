import type { ChatMessage, ImageRef, ToolSpec } from "../../core/types.js";
import { groupTurns, splitSystem } from "../conversation.js";
import { type ImageMediaType, inlineImage } from "../images.js";
import { JSON_TOOL_NAME, jsonAnswerTool, objectSchema } from "../json-tool.js";
import { argumentsObject } from "../tool-arguments.js";
import type { ProviderCall } from "../types.js";
import { DEFAULT_MAX_TOKENS } from "./anthropic-settings.js";

/** https://docs.anthropic.com/en/api/messages#body-messages-content */
export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: AnthropicImageSource }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  | { type: "tool_result"; tool_use_id: string; content?: string };

/**
 * An image inline (base64) or by a URL Anthropic fetches itself.
 * https://docs.anthropic.com/en/docs/build-with-claude/vision (base64 and URL sources)
 */
export type AnthropicImageSource =
  | { type: "base64"; media_type: ImageMediaType; data: string }
  | { type: "url"; url: string };

/** https://docs.anthropic.com/en/api/messages#body-messages */
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicContentBlock[];
}

/** https://docs.anthropic.com/en/api/messages#body-tools */
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

/** The request body of POST /v1/messages, limited to what we send. */
export interface AnthropicMessagesRequest {
  model: string;
  /** Required by the API. */
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  tools?: AnthropicTool[];
  /** https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use */
  tool_choice?: { type: "tool"; name: string } | { type: "any" };
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  /** Native JSON output. https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs */
  output_config?: { format: { type: "json_schema"; schema: Record<string, unknown> } };
  /** Always: every call streams, and the unary RPC assembles the answer from the stream. */
  stream: true;
}

/** A request, and the name of the tool whose input is the answer text when JSON output is emulated. */
export interface AnthropicRequestPlan {
  body: AnthropicMessagesRequest;
  /** Set when JSON output goes through a forced tool: that tool's input is streamed as text. */
  jsonToolName?: string;
}

/**
 * Builds the (streaming) Messages request for one call. Pure; `call.signal` is not looked at.
 * https://docs.anthropic.com/en/api/messages
 *
 * - System messages, wherever they stand, become the top-level `system` (splitSystem).
 * - The other messages alternate `user` and `assistant` turns (groupTurns): tool results are
 *   `tool_result` blocks of a user turn, placed before its text as the API requires; an assistant's
 *   tool calls are `tool_use` blocks whose `input` is the arguments parsed into an object ("" → {}).
 *   Empty texts are left out (the API refuses empty text blocks); a message left with nothing is
 *   dropped. `name` has no place on this wire.
 * - A user message's images are `image` blocks placed before its text, as Anthropic recommends
 *   ("Claude works best when images come before text"): a `data:` URL as a `base64` source, an
 *   https URL as a `url` source (Anthropic fetches it). `detail` has no equivalent on this wire
 *   (Claude sizes every image itself) and is not sent.
 *   https://docs.anthropic.com/en/docs/build-with-claude/vision
 * - `max_tokens` is the call's, else `options.maxTokensDefault`.
 * - Tools: `input_schema` is the tool's JSON Schema, given `"type": "object"` when it names no type
 *   (the API requires one; OpenAI-style callers often send `{}` for no parameters).
 * - JSON output: see {@link AnthropicRequestPlan.jsonToolName}. With `jsonMode: "tool"` (and always
 *   for `json_object`), a tool named {@link JSON_TOOL_NAME} whose input schema is the requested
 *   schema (`{"type":"object"}` for `json_object`) is added and forced with `tool_choice`
 *   `{type:"tool"}`, or `{type:"any"}` when the caller offered tools of its own (the model then
 *   either calls one of those or answers through the JSON tool). With `jsonMode: "output_config"`
 *   a `json_schema` format goes in `output_config.format` and the answer streams as text.
 *
 * @throws ProviderError class "invalid_request" when an assistant tool call's arguments are not a
 *   JSON object (the wire has no other form for them).
 */
export function toAnthropicRequest(
  call: ProviderCall,
  options: { maxTokensDefault?: number; jsonMode?: "tool" | "output_config" } = {},
): AnthropicRequestPlan {
  const { system, turns } = splitSystem(call.messages);
  const withContent = turns
    .map((message) => ({ message, blocks: toBlocks(message) }))
    .filter((entry) => entry.blocks.length > 0);
  const blocksOf = new Map(withContent.map((entry) => [entry.message, entry.blocks]));
  const messages = groupTurns(
    withContent.map((entry) => entry.message),
    (message) => (message.role === "assistant" ? ("assistant" as const) : ("user" as const)),
  ).map((turn): AnthropicMessage => {
    const content = turn.messages.flatMap((message) => blocksOf.get(message) ?? []);
    // "tool_result blocks must come first in the content array of a user message."
    // https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use#handling-results-from-client-tools
    if (turn.role === "user")
      content.sort((a, b) => Number(b.type === "tool_result") - Number(a.type === "tool_result"));
    return { role: turn.role, content };
  });

  const body: AnthropicMessagesRequest = {
    model: call.model,
    max_tokens: call.maxTokens ?? options.maxTokensDefault ?? DEFAULT_MAX_TOKENS,
    messages,
    stream: true,
  };
  if (system !== "") body.system = system;
  const tools = call.tools.map(toAnthropicTool);
  if (call.stop.length > 0) body.stop_sequences = [...call.stop];
  if (call.temperature !== undefined) body.temperature = call.temperature;
  // Claude 4.x models refuse temperature and top_p together ("cannot both be specified"), which
  // OpenAI-style SDKs often send: temperature, the one Anthropic recommends adjusting, goes alone.
  if (call.topP !== undefined && call.temperature === undefined) body.top_p = call.topP;

  const plan: AnthropicRequestPlan = { body };
  const format = call.responseFormat;
  if (format?.type === "json_schema" && options.jsonMode === "output_config") {
    body.output_config = { format: { type: "json_schema", schema: format.schema } };
  } else if (format !== undefined) {
    const { name, description, schema } = jsonAnswerTool(format, call.tools);
    tools.push({ name, description, input_schema: schema });
    body.tool_choice = call.tools.length > 0 ? { type: "any" } : { type: "tool", name };
    plan.jsonToolName = name;
  }
  // No tools means no key: the API wants at least one entry when `tools` is present.
  if (tools.length > 0) body.tools = tools;
  return plan;
}

function toBlocks(message: ChatMessage): AnthropicContentBlock[] {
  switch (message.role) {
    case "system":
      return message.content === "" ? [] : [{ type: "text", text: message.content }];
    case "user":
      // Images before the text they go with, as the vision guide recommends.
      return [
        ...(message.images ?? []).map(toImageBlock),
        ...(message.content === "" ? [] : [{ type: "text" as const, text: message.content }]),
      ];
    case "assistant": {
      const blocks: AnthropicContentBlock[] =
        message.content === "" ? [] : [{ type: "text", text: message.content }];
      for (const call of message.toolCalls ?? [])
        blocks.push({
          type: "tool_use",
          id: call.id,
          name: call.name,
          input: argumentsObject(call.arguments, "anthropic"),
        });
      return blocks;
    }
    case "tool":
      // `content` is optional on the wire; an empty string is left out rather than sent.
      return [
        {
          type: "tool_result",
          tool_use_id: message.toolCallId ?? "",
          ...(message.content !== "" && { content: message.content }),
        },
      ];
  }
}

function toImageBlock(image: ImageRef): AnthropicContentBlock {
  const inline = inlineImage(image);
  return {
    type: "image",
    source: inline
      ? { type: "base64", media_type: inline.mediaType, data: inline.data }
      : { type: "url", url: image.url },
  };
}

function toAnthropicTool(tool: ToolSpec): AnthropicTool {
  return {
    name: tool.name,
    ...(tool.description !== "" && { description: tool.description }),
    input_schema: objectSchema(tool.parameters),
  };
}
