import { ProviderError } from "./provider-error.js";

/**
 * Tool-call arguments a wire sent as a JSON value (Anthropic, Gemini, Bedrock, Ollama), as the
 * JSON text callers get. A value nested deeper than JSON.stringify can walk (a hostile or broken
 * upstream) is a protocol failure, not a lost connection.
 */
export function argumentsText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    throw new ProviderError("protocol", "upstream tool-call arguments cannot be re-encoded as JSON", {
      cause: error,
    });
  }
}

/**
 * A tool call's arguments (JSON text, as the domain holds them) as the object the wires that take
 * a value want (Anthropic, Gemini, Bedrock, Ollama); "" is a call without arguments. Arguments that
 * are JSON but not an object (another model wrote `[1]`) cannot be sent on such a wire: the target
 * refuses before sending, retryably, so a wire that takes them (OpenAI's) may serve.
 */
export function argumentsObject(args: string, wire: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch (cause) {
    throw new ProviderError("invalid_request", "tool call arguments are not JSON", { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ProviderError("invalid_request", `${wire} takes tool-call arguments as a JSON object only`, {
      retryable: true,
    });
  return parsed as Record<string, unknown>;
}
