import type { Admission, IdentifiedRequest } from "../core/call.js";
import type { ProviderCall } from "../providers/types.js";

/** The upstream call for one attempt: the request as admitted, addressed to `model`. */
export function providerCall(
  request: IdentifiedRequest,
  admission: Admission,
  model: string,
  signal: AbortSignal,
): ProviderCall {
  return {
    model,
    messages: request.messages,
    tools: request.tools,
    stop: request.params.stop,
    signal,
    ...(admission.maxTokens !== undefined && { maxTokens: admission.maxTokens }),
    ...(request.params.temperature !== undefined && { temperature: request.params.temperature }),
    ...(request.params.topP !== undefined && { topP: request.params.topP }),
  };
}
