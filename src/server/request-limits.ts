import { Code, ConnectError } from "@connectrpc/connect";
import type { RouterRequest } from "./rpc/to-domain.js";

/**
 * Bounds on what one request may carry into the core. Body size alone (`maxBodyBytes`) still
 * lets a 4 MiB body hold 500,000 empty messages or 100,000 labels, and each of those costs the
 * core (classification, policy matching, token counting) far more than its bytes. Lengths are in
 * UTF-16 code units (JavaScript string length).
 */
export interface RequestLimits {
  maxMessages: number;
  /** Per message `content`, and per tool call `arguments`. */
  maxContentChars: number;
  maxToolCallsPerMessage: number;
  maxTools: number;
  maxToolDescriptionChars: number;
  maxLabels: number;
  maxLabelKeyChars: number;
  maxLabelValueChars: number;
  maxStopSequences: number;
  maxStopChars: number;
  /** task, dataClass, tenant, user, message name, tool and tool call names and ids. */
  maxIdentifierChars: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxMessages: 1024,
  maxContentChars: 1024 * 1024,
  maxToolCallsPerMessage: 128,
  // OpenAI's own cap on tools per request.
  maxTools: 128,
  maxToolDescriptionChars: 8192,
  maxLabels: 64,
  maxLabelKeyChars: 128,
  maxLabelValueChars: 512,
  // What OpenAI accepts.
  maxStopSequences: 4,
  maxStopChars: 256,
  maxIdentifierChars: 256,
};

/**
 * Refuses a request that exceeds `limits`, carries a string that is not well-formed Unicode
 * (a lone surrogate cannot be encoded as UTF-8 upstream; protobuf-es already refuses them when
 * decoding, this is the backstop for messages built any other way), or has a
 * control character in an identifier field (tenant, user, task, dataClass, label keys and
 * values: they reach logs, metrics and policy matching). Message content may hold any text.
 * Throws ConnectError INVALID_ARGUMENT whose message starts with the field path, like
 * `labels["team"]: longer than 512 characters`: these are per-field contract violations, not a
 * transient shortage, so a retrying client must not take them for RESOURCE_EXHAUSTED.
 */
export function checkRequestLimits(
  request: RouterRequest,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): void {
  count("messages", request.messages.length, limits.maxMessages);
  for (const [index, message] of request.messages.entries()) {
    const path = `messages[${index}]`;
    text(`${path}.content`, message.content, limits.maxContentChars);
    text(`${path}.name`, message.name, limits.maxIdentifierChars);
    text(`${path}.toolCallId`, message.toolCallId, limits.maxIdentifierChars);
    count(`${path}.toolCalls`, message.toolCalls.length, limits.maxToolCallsPerMessage);
    for (const [callIndex, call] of message.toolCalls.entries()) {
      const callPath = `${path}.toolCalls[${callIndex}]`;
      text(`${callPath}.id`, call.id, limits.maxIdentifierChars);
      text(`${callPath}.name`, call.name, limits.maxIdentifierChars);
      text(`${callPath}.arguments`, call.arguments, limits.maxContentChars);
    }
  }
  identifier("task", request.task, limits.maxIdentifierChars);
  identifier("dataClass", request.dataClass, limits.maxIdentifierChars);
  identifier("tenant", request.tenant, limits.maxIdentifierChars);
  identifier("user", request.user, limits.maxIdentifierChars);
  const labels = Object.entries(request.labels);
  count("labels", labels.length, limits.maxLabels);
  for (const [index, [key, value]] of labels.entries()) {
    // A key is echoed in the path only once it has passed its own checks.
    identifier(`labels (key #${index + 1})`, key, limits.maxLabelKeyChars);
    identifier(`labels[${JSON.stringify(key)}]`, value, limits.maxLabelValueChars);
  }
  const stop = request.params?.stop ?? [];
  count("params.stop", stop.length, limits.maxStopSequences);
  for (const [index, sequence] of stop.entries())
    text(`params.stop[${index}]`, sequence, limits.maxStopChars);
  count("tools", request.tools.length, limits.maxTools);
  for (const [index, tool] of request.tools.entries()) {
    text(`tools[${index}].name`, tool.name, limits.maxIdentifierChars);
    text(`tools[${index}].description`, tool.description, limits.maxToolDescriptionChars);
  }
}

function count(field: string, actual: number, max: number): void {
  if (actual > max) refuse(field, `at most ${max} entries allowed, got ${actual}`);
}

function text(field: string, value: string, maxChars: number): void {
  if (value.length > maxChars) refuse(field, `longer than ${maxChars} characters`);
  if (!value.isWellFormed()) refuse(field, "is not well-formed Unicode (lone surrogate)");
}

function identifier(field: string, value: string, maxChars: number): void {
  text(field, value, maxChars);
  if (hasControlCharacter(value)) refuse(field, "must not contain control characters");
}

/**
 * C0 and C1 control characters, DEL, and the Unicode line and paragraph separators. JSON log
 * lines escape C0 but not C1 (U+0085 NEL) or U+2028/2029, which some log viewers and
 * line-oriented shippers treat as line breaks; identifiers have no business carrying any of them.
 */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

function refuse(field: string, reason: string): never {
  throw new ConnectError(`${field}: ${reason}`, Code.InvalidArgument);
}
