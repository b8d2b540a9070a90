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
