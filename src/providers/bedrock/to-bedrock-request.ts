import type { ChatMessage, ImageRef, ToolSpec } from "../../core/types.js";
import { groupTurns, splitSystem } from "../conversation.js";
import { type ImageMediaType, inlineImageOnly } from "../images.js";
import { JSON_TOOL_NAME, jsonAnswerTool, objectSchema } from "../json-tool.js";
import { argumentsObject } from "../tool-arguments.js";
import type { ProviderCall } from "../types.js";

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html */
export type BedrockContentBlock =
  | { text: string }
  | { image: BedrockImageBlock }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: Array<{ text: string } | { json: Record<string, never> }> } };

/**
 * An image by its bytes, base64-encoded as Converse's JSON carries a blob (the SDKs encode them
 * for their callers; we speak the HTTP API).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageSource.html
 */
export interface BedrockImageBlock {
  format: "png" | "jpeg" | "gif" | "webp";
  source: { bytes: string };
}

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html */
export interface BedrockMessage {
  role: "user" | "assistant";
  content: BedrockContentBlock[];
}

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Tool.html */
export interface BedrockTool {
  toolSpec: { name: string; description?: string; inputSchema: { json: Record<string, unknown> } };
}

/** https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html */
export type BedrockToolChoice =
  | { auto: Record<string, never> }
  | { any: Record<string, never> }
  | { tool: { name: string } };

/**
 * The body of POST /model/{modelId}/converse-stream, limited to what we send (the model goes in
 * the path). https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_RequestSyntax
 */
export interface BedrockConverseRequest {
  messages: BedrockMessage[];
  system?: { text: string }[];
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools: BedrockTool[]; toolChoice?: BedrockToolChoice };
}

/**
 * Builds the ConverseStream request body for one call, and the name of the JSON-answer tool when
 * there is one. Pure; `call.signal` is not looked at.
 *
 * - System messages (wherever they stood) go to `system`, joined (splitSystem); the rest become
 *   alternating user/assistant turns (groupTurns), tool results travelling in the user turn that
 *   follows the calls, as Converse requires.
 * - Assistant tool calls become `toolUse` blocks, their arguments' JSON text parsed back into the
 *   object the wire wants (empty arguments are `{}`).
 * - Empty text blocks are left out: Converse rejects blank text.
 * - A user message's images are `image` blocks (format and base64 bytes from the `data:` URL),
 *   placed before its text: the media-then-text order Amazon documents for Nova, and the one
 *   Anthropic recommends for Claude. `detail` has no equivalent on this wire and is not sent. An
 *   image by URL cannot be sent: ImageSource takes bytes or an S3 location only.
 *   https://docs.aws.amazon.com/nova/latest/userguide/prompting-vision-prompting.html
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageSource.html
 * - JSON output: Converse has no JSON mode. The answer is asked for as the input of a tool, named
 *   {@link JSON_TOOL_NAME}, whose input schema is the requested schema (`{"type":"object"}` for
 *   json_object), forced with `toolChoice: {tool}`; with tools of the caller's beside it,
 *   `toolChoice: {any}` lets the model call one of those or answer. The adapter streams that
 *   tool's input as the answer's text. The reference documents `toolChoice: {tool}` for
 *   Anthropic Claude 3+ and Amazon Nova models (`any` also for Mistral Large); others reject it
 *   (an invalid_request), so a route asking for JSON should list models that take it.
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
 *
 * @throws ProviderError class "invalid_request", marked retryable so the next target is tried,
 *   for an image by URL (see inlineImageOnly).
 */
export function toBedrockRequest(call: ProviderCall): {
  body: BedrockConverseRequest;
  jsonToolName?: string;
} {
  const { system, turns } = splitSystem(call.messages);
  const body: BedrockConverseRequest = {
    messages: groupTurns(turns, (message) => (message.role === "assistant" ? "assistant" : "user")).map(
      (turn) => ({ role: turn.role, content: turn.messages.flatMap(toContentBlocks) }),
    ),
  };
  if (system !== "") body.system = [{ text: system }];

  const inference: NonNullable<BedrockConverseRequest["inferenceConfig"]> = {};
  if (call.maxTokens !== undefined) inference.maxTokens = call.maxTokens;
  if (call.temperature !== undefined) inference.temperature = call.temperature;
  // Claude 4.x models refuse temperature and top_p together: for them temperature goes alone
  // (as the Anthropic adapter sends it); other models take both.
  const claude = /(?:^|\.)anthropic\.claude/.test(call.model);
  if (call.topP !== undefined && !(claude && call.temperature !== undefined)) inference.topP = call.topP;
  if (call.stop.length > 0) inference.stopSequences = [...call.stop];
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  const tools = call.tools.map(toBedrockTool);
  let jsonToolName: string | undefined;
  if (call.responseFormat !== undefined) {
    const { name, description, schema } = jsonAnswerTool(call.responseFormat, call.tools);
    jsonToolName = name;
    tools.push({ toolSpec: { name, description, inputSchema: { json: schema } } });
  }
  if (tools.length > 0) {
    body.toolConfig = { tools };
    if (jsonToolName !== undefined)
      body.toolConfig.toolChoice = call.tools.length === 0 ? { tool: { name: jsonToolName } } : { any: {} };
  }
  return jsonToolName === undefined ? { body } : { body, jsonToolName };
}

function toContentBlocks(message: ChatMessage): BedrockContentBlock[] {
  switch (message.role) {
    case "tool":
      return [
        {
          toolResult: {
            toolUseId: message.toolCallId ?? "",
            // Converse refuses blank text: a tool that returned nothing says so as an empty JSON object.
            content: [message.content.trim() === "" ? { json: {} } : { text: message.content }],
          },
        },
      ];
    case "assistant": {
      const blocks: BedrockContentBlock[] = message.content === "" ? [] : [{ text: message.content }];
      for (const call of message.toolCalls ?? [])
        blocks.push({
          toolUse: { toolUseId: call.id, name: call.name, input: argumentsObject(call.arguments, "bedrock") },
        });
      return blocks;
    }
    case "user":
      return [
        ...(message.images ?? []).map(toImageBlock),
        ...(message.content === "" ? [] : [{ text: message.content }]),
      ];
    default:
      return message.content === "" ? [] : [{ text: message.content }];
  }
}

const FORMATS: Readonly<Record<ImageMediaType, BedrockImageBlock["format"]>> = {
  "image/png": "png",
  "image/jpeg": "jpeg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function toImageBlock(image: ImageRef): BedrockContentBlock {
  const { mediaType, data } = inlineImageOnly(image, "bedrock");
  return { image: { format: FORMATS[mediaType], source: { bytes: data } } };
}

function toBedrockTool(tool: ToolSpec): BedrockTool {
  return {
    toolSpec: {
      name: tool.name,
      // Converse wants a description of at least one character, or none.
      ...(tool.description !== "" && { description: tool.description }),
      inputSchema: { json: objectSchema(tool.parameters) },
    },
  };
}
