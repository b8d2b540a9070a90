import type { IdentifiedRequest } from "../core/call.js";
import { InvalidRequestError, TenantDeniedError, UnknownModelError } from "../core/errors.js";
import { AUTO_MODEL, nameableModels, type Policy } from "../core/policy.js";
import type { Caller, LlmRequest } from "../core/types.js";
import { isImageUrl } from "../providers/images.js";
import { authenticatedTenant } from "./authenticate.js";

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const IN_PROCESS: Caller = { kind: "in-process" };

/**
 * Establishes who is calling, then checks what the front door could not (it checks types and
 * sizes): that the conversation is usable and the declared vocabulary is the policy's.
 *
 * The tenant is the one `caller` authenticates as under `policy.auth` (DESIGN invariant 9): a
 * request naming no tenant is that tenant's, one naming another is refused (TenantDeniedError).
 * With `auth.mode` none, or an in-process caller (the default: explain, replay), the request's
 * `tenant` stands, "default" when empty. Authentication comes first, so a caller that proves
 * nothing learns nothing of the policy's vocabulary. Throws UnauthenticatedError,
 * TenantDeniedError, InvalidRequestError naming the field.
 */
export function identify(
  request: LlmRequest,
  policy: Policy,
  caller: Caller = IN_PROCESS,
): IdentifiedRequest {
  const authenticated = authenticatedTenant(caller, policy.auth);
  if (authenticated !== undefined && request.tenant !== "" && request.tenant !== authenticated)
    throw new TenantDeniedError(authenticated);
  if (request.messages.length === 0)
    throw new InvalidRequestError("messages", "must contain at least one message");
  // Providers refuse these with a bare 400; naming the field here is the difference for a caller.
  const toolCallIds = new Set<string>();
  request.messages.forEach((message, index) => {
    const at = `messages[${index}]`;
    message.toolCalls?.forEach((call, callIndex) => {
      if (call.id === "")
        throw new InvalidRequestError(`${at}.toolCalls[${callIndex}].id`, "must not be empty");
      if (!TOOL_NAME.test(call.name))
        throw new InvalidRequestError(
          `${at}.toolCalls[${callIndex}].name`,
          "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
        );
      toolCallIds.add(call.id);
    });
    if (message.role === "tool" && message.toolCallId && !toolCallIds.has(message.toolCallId))
      throw new InvalidRequestError(
        `${at}.toolCallId`,
        `"${message.toolCallId}" answers no earlier tool call`,
      );
    message.images?.forEach((image, imageIndex) => {
      if (message.role !== "user")
        throw new InvalidRequestError(`${at}.images`, "only messages with role ROLE_USER carry images");
      if (!isImageUrl(image.url))
        throw new InvalidRequestError(
          `${at}.images[${imageIndex}].url`,
          "must be an https URL of a public host or a data:image/png|jpeg|gif|webp;base64 URL",
        );
    });
    const hasToolCalls = (message.toolCalls?.length ?? 0) > 0;
    const hasImages = (message.images?.length ?? 0) > 0;
    if (message.content.length === 0 && !(message.role === "assistant" && hasToolCalls) && !hasImages)
      throw new InvalidRequestError(`${at}.content`, "must not be empty");
    if (message.role === "tool" && !message.toolCallId)
      throw new InvalidRequestError(`${at}.toolCallId`, "is required for a message with role ROLE_TOOL");
    if (hasToolCalls && message.role !== "assistant")
      throw new InvalidRequestError(
        `${at}.toolCalls`,
        "only messages with role ROLE_ASSISTANT carry tool calls",
      );
  });
  if (!request.messages.some((message) => message.role === "user"))
    throw new InvalidRequestError("messages", "must contain at least one message with role ROLE_USER");

  if (request.dataClass !== "" && !policy.dataClasses.has(request.dataClass))
    throw new InvalidRequestError(
      "dataClass",
      `unknown data class "${request.dataClass}" (this policy declares: ${[...policy.dataClasses.keys()].join(", ")})`,
    );

  const model = request.model;
  if (model !== undefined && model !== "" && model !== AUTO_MODEL) {
    const { routes, models } = nameableModels(policy);
    if (!routes.includes(model) && !models.includes(model))
      throw new UnknownModelError(model, [AUTO_MODEL, ...routes, ...models]);
  }

  const { params } = request;
  if (params.temperature !== undefined && !(params.temperature >= 0 && params.temperature <= 2))
    throw new InvalidRequestError("params.temperature", "must be between 0 and 2");
  if (params.topP !== undefined && !(params.topP > 0 && params.topP <= 1))
    throw new InvalidRequestError("params.topP", "must be greater than 0 and at most 1");
  if (params.maxTokens !== undefined && params.maxTokens < 1)
    throw new InvalidRequestError("params.maxTokens", "must be at least 1");
  params.stop.forEach((stop, index) => {
    if (stop.length === 0) throw new InvalidRequestError(`params.stop[${index}]`, "must not be empty");
  });

  const toolNames = new Set<string>();
  request.tools.forEach((tool, index) => {
    if (!TOOL_NAME.test(tool.name))
      throw new InvalidRequestError(
        `tools[${index}].name`,
        "must be 1-64 characters of A-Z, a-z, 0-9, _ or -",
      );
    if (toolNames.has(tool.name))
      throw new InvalidRequestError(`tools[${index}].name`, `duplicate tool name "${tool.name}"`);
    toolNames.add(tool.name);
  });

  return { ...request, tenant: authenticated ?? (request.tenant || "default") };
}
