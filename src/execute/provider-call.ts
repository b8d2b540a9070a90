import type { Admission, IdentifiedRequest } from "../core/call.js";
import type { ToolSpec } from "../core/types.js";
import type { ProviderCall } from "../providers/types.js";

/**
 * The upstream call for one attempt: the request as admitted (its messages redacted when the
 * target is hosted), with the tools the guard offers, addressed to `model`.
 */
export function providerCall(
  request: IdentifiedRequest,
  admission: Admission,
  model: string,
  signal: AbortSignal,
  tools: readonly ToolSpec[],
): ProviderCall {
  return {
    model,
    messages: request.messages,
    tools: [...tools],
    stop: request.params.stop,
    signal,
    ...(admission.maxTokens !== undefined && { maxTokens: admission.maxTokens }),
    ...(request.params.temperature !== undefined && { temperature: request.params.temperature }),
    ...(request.params.topP !== undefined && { topP: request.params.topP }),
    ...(request.params.responseFormat && { responseFormat: request.params.responseFormat }),
  };
}
