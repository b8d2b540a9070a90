import type { JsonObject } from "@bufbuild/protobuf";
import type { ClassifyRequest, RouteRequest, StreamRequest } from "../../../gen/switchyard/v1/router_pb.js";
import { type Image, type Message, Role } from "../../../gen/switchyard/v1/types_pb.js";
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatMessage, Role as DomainRole, ImageRef, LlmRequest } from "../../core/types.js";

/** The three request messages carry the same fields (see router.proto), so one mapping serves all. */
export type RouterRequest = RouteRequest | StreamRequest | ClassifyRequest;

/** Maps a request message to the domain request. Throws InvalidRequestError naming the field. */
export function toLlmRequest(request: RouterRequest): LlmRequest {
  const params = request.params;
  return {
    messages: request.messages.map(toChatMessage),
    task: request.task,
    dataClass: request.dataClass,
    tenant: request.tenant,
    user: request.user,
    labels: { ...request.labels },
    params: {
      stop: params?.stop ?? [],
      ...(params?.maxTokens !== undefined && { maxTokens: params.maxTokens }),
      ...(params?.temperature !== undefined && { temperature: params.temperature }),
      ...(params?.topP !== undefined && { topP: params.topP }),
    },
    tools: request.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      parameters: (tool.parameters ?? { type: "object", properties: {} }) as JsonObject,
    })),
    approvedTools: [...request.approvedTools],
    eval: request.eval,
  };
}

function toChatMessage(message: Message, index: number): ChatMessage {
  return {
    role: toRole(message.role, index),
    content: message.content,
    ...(message.name !== "" && { name: message.name }),
    ...(message.toolCallId !== "" && { toolCallId: message.toolCallId }),
    ...(message.images.length > 0 && {
      images: message.images.map((image, imageIndex) => toImageRef(image, index, imageIndex)),
    }),
    ...(message.toolCalls.length > 0 && {
      toolCalls: message.toolCalls.map((call) => ({
        id: call.id,
        name: call.name,
        arguments: call.arguments,
      })),
    }),
  };
}

function toRole(role: Role, index: number): DomainRole {
  switch (role) {
    case Role.SYSTEM:
      return "system";
    case Role.USER:
      return "user";
    case Role.ASSISTANT:
      return "assistant";
    case Role.TOOL:
      return "tool";
    case Role.UNSPECIFIED:
      throw new InvalidRequestError(
        `messages[${index}].role`,
        "must be ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT or ROLE_TOOL (it is unset, or a name this server does not know)",
      );
    default:
      // Proto3 enums are open: a binary client can send a number this contract does not define.
      throw new InvalidRequestError(`messages[${index}].role`, `unknown role ${role as number}`);
  }
}

function toImageRef(image: Image, index: number, imageIndex: number): ImageRef {
  if (image.detail !== "" && image.detail !== "auto" && image.detail !== "low" && image.detail !== "high")
    throw new InvalidRequestError(
      `messages[${index}].images[${imageIndex}].detail`,
      'must be "auto", "low", "high" or empty',
    );
  return {
    url: image.url,
    ...((image.detail === "low" || image.detail === "high") && { detail: image.detail }),
  };
}
