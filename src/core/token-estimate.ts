import type { ChatMessage, ToolSpec, Usage } from "./types.js";

/**
 * Token counts when nothing better is known: about four characters a token, which is what BPE
 * vocabularies average on English text (code and other scripts run denser, so this undercounts
 * them). Used for answers a provider did not count (a stream cut short, a server that reports no
 * usage) and by the offline mock. Overhead per message approximates role and separator tokens.
 */
const CHARACTERS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 3;

export function estimateTokens(characters: number): number {
  return Math.ceil(characters / CHARACTERS_PER_TOKEN);
}

/** The prompt's tokens: every message's text, name and tool calls, and the tool definitions. */
/**
 * An image, whatever its size: OpenAI's count for a 1024×1024 image at high detail (85 + 4 tiles
 * × 170); Anthropic's and Gemini's for such an image are of the same order.
 */
export const TOKENS_PER_IMAGE = 765;

export function estimateInputTokens(
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[] = [],
): number {
  let characters = 0;
  let images = 0;
  for (const message of messages) {
    characters += message.content.length + (message.name?.length ?? 0);
    for (const call of message.toolCalls ?? []) characters += call.name.length + call.arguments.length;
    images += message.images?.length ?? 0;
  }
  for (const tool of tools)
    characters += tool.name.length + tool.description.length + JSON.stringify(tool.parameters).length;
  return estimateTokens(characters) + TOKENS_PER_MESSAGE * messages.length + TOKENS_PER_IMAGE * images;
}

/** Estimated usage of an answer of `outputCharacters` to this prompt. */
export function estimateUsage(
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[],
  outputCharacters: number,
): Usage {
  return {
    inputTokens: estimateInputTokens(messages, tools),
    outputTokens: estimateTokens(outputCharacters),
    estimated: true,
  };
}
