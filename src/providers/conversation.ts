import type { ChatMessage } from "../core/types.js";

/**
 * For wire protocols that take the system prompt beside the conversation rather than in it
 * (Anthropic, Gemini, Bedrock): every system message, wherever it stood, in order, joined by a
 * blank line; the other messages keep their order. A mid-conversation system message (an agent
 * loop adding an instruction) is handled the same way by each of them, and never dropped.
 */
export function splitSystem(messages: readonly ChatMessage[]): { system: string; turns: ChatMessage[] } {
  const system: string[] = [];
  const turns: ChatMessage[] = [];
  for (const message of messages) {
    if (message.role === "system") system.push(message.content);
    else turns.push(message);
  }
  return { system: system.filter((text) => text !== "").join("\n\n"), turns };
}

/**
 * Messages grouped into the turns of a wire that alternates two roles (Anthropic, Gemini,
 * Bedrock): consecutive messages of the same wire role form one turn, so tool results that
 * answer several calls of one assistant turn travel together, as those APIs require.
 */
export function groupTurns<Role extends string>(
  messages: readonly ChatMessage[],
  roleOf: (message: ChatMessage) => Role,
): Array<{ role: Role; messages: ChatMessage[] }> {
  const turns: Array<{ role: Role; messages: ChatMessage[] }> = [];
  for (const message of messages) {
    const role = roleOf(message);
    const last = turns.at(-1);
    if (last && last.role === role) last.messages.push(message);
    else turns.push({ role, messages: [message] });
  }
  return turns;
}
