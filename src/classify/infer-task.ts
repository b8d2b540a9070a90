import type { ChatMessage } from "../core/types.js";

/** Tasks inference can name; anything else comes from the caller or the policy's default. */
export type InferredTask = "code" | "extract" | "summarize" | "classify" | "chat";

/** How much of the request is read: the instructions are at the start of a message, not in a pasted document. */
const READ_CHARACTERS = 2000;

const SUMMARIZE = /\b(?:summari[sz]e|summari[sz]ation|summary|tl;?dr|key takeaways|in a nutshell)\b/i;
const EXTRACT =
  /\b(?:extract|pull out|parse (?:out|the)|json schema|as json|in json|return json|output json|fill (?:in )?the fields|structured data|named entities)\b/i;
const CLASSIFY =
  /\b(?:classify|categori[sz]e|label (?:this|the|each)|which (?:category|label|class)|is (?:this|the|it) (?:\w+ ){0,3}(?:positive|negative|neutral|spam|toxic|urgent)|sentiment|one of the following (?:labels|categories))\b/i;
const CODE =
  /```|\b(?:write|fix|refactor|debug|implement) (?:a |the |this |my )?(?:function|class|method|script|code|program|bug|unit tests?|query)\b|\b(?:stack ?trace|traceback|compile error|syntax error|regex|sql query)\b/i;

/**
 * What the request asks for, when the caller did not say: read from the system prompt and the
 * last user message (their first 2000 characters). Code blocks or programming asks → code;
 * extraction or schema wording → extract; "summarize"/TL;DR → summarize; a short question asking
 * for a label → classify; otherwise chat. Every pattern is bounded (no unbounded repetition), so
 * this stays linear however long the prompt.
 */
export function inferTask(messages: readonly ChatMessage[]): InferredTask {
  const system = messages.find((message) => message.role === "system")?.content ?? "";
  const user = messages.findLast((message) => message.role === "user")?.content ?? "";
  const text = `${system.slice(0, READ_CHARACTERS)}\n${user.slice(0, READ_CHARACTERS)}`;
  if (CODE.test(text)) return "code";
  if (EXTRACT.test(text)) return "extract";
  if (SUMMARIZE.test(text)) return "summarize";
  // A label question is short: a long text with "sentiment" in it is more likely a conversation.
  if (CLASSIFY.test(text) && user.length <= 600) return "classify";
  return "chat";
}
