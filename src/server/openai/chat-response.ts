import type { FinishReason, RouteResult, TargetId, ToolCallDelta, Usage } from "../../core/types.js";

/** What every object of one call's answer repeats. */
export interface CompletionIdentity {
  /** `chatcmpl-<call id>`. */
  id: string;
  /** Unix seconds. */
  created: number;
}

/** OpenAI's finish reasons; the degrade ladder's fixed answer is a normal stop to this door. */
const FINISH_REASON: Record<FinishReason, "stop" | "length" | "tool_calls" | "content_filter"> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  content_filter: "content_filter",
  degraded: "stop",
};

/**
 * The body's `model`: the model of the target that answered (after any fallback), or, when no
 * model answered (the degrade ladder's fixed answer), the model the caller asked for.
 */
export function answeringModel(target: TargetId | undefined, asked: string): string {
  if (!target) return asked;
  const slash = target.indexOf("/");
  return slash === -1 ? target : target.slice(slash + 1);
}

/** https://platform.openai.com/docs/api-reference/chat/object */
export function toCompletion(result: RouteResult, identity: CompletionIdentity, model: string): object {
  const { message } = result;
  const toolCalls = message.toolCalls ?? [];
  return {
    id: identity.id,
    object: "chat.completion",
    created: identity.created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          // OpenAI sends null, not "", for an answer that is only tool calls.
          content: message.content === "" && toolCalls.length > 0 ? null : message.content,
          refusal: null,
          ...(toolCalls.length > 0 && {
            tool_calls: toolCalls.map((call) => ({
              id: call.id,
              type: "function",
              function: { name: call.name, arguments: call.arguments },
            })),
          }),
        },
        logprobs: null,
        finish_reason: FINISH_REASON[result.finishReason],
      },
    ],
    usage: toUsage(result.usage),
  };
}

/**
 * One `chat.completion.chunk` (https://platform.openai.com/docs/api-reference/chat-streaming).
 * With `include_usage`, every chunk carries `usage: null` and the last one (no choices) the counts.
 */
export function toChunk(
  identity: CompletionIdentity,
  model: string,
  includeUsage: boolean,
  choice:
    | { delta: { role?: "assistant"; content?: string; toolCalls?: ToolCallDelta[] } }
    | { finishReason: FinishReason }
    | { usage: Usage },
): object {
  const base = { id: identity.id, object: "chat.completion.chunk", created: identity.created, model };
  if ("usage" in choice) return { ...base, choices: [], usage: toUsage(choice.usage) };
  const usage = includeUsage ? { usage: null } : {};
  if ("finishReason" in choice)
    return {
      ...base,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: FINISH_REASON[choice.finishReason] }],
      ...usage,
    };
  const { role, content, toolCalls = [] } = choice.delta;
  return {
    ...base,
    choices: [
      {
        index: 0,
        delta: {
          ...(role && { role }),
          ...((content !== undefined || toolCalls.length === 0) && { content: content ?? "" }),
          ...(toolCalls.length > 0 && {
            tool_calls: toolCalls.map((call) => ({
              index: call.index,
              ...(call.id !== undefined && { id: call.id, type: "function" }),
              function: {
                ...(call.name !== undefined && { name: call.name }),
                arguments: call.argumentsDelta,
              },
            })),
          }),
        },
        logprobs: null,
        finish_reason: null,
      },
    ],
    ...usage,
  };
}

/** OpenAI's usage object; `prompt_tokens_details.cached_tokens` when the provider said how many were cached. */
function toUsage(usage: Usage): object {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    ...(usage.cachedInputTokens !== undefined && {
      prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    }),
  };
}
