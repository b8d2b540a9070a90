import { InvalidRequestError } from "../core/errors.js";
import { INVISIBLE_CHARACTER } from "../core/text.js";
import type { LlmRequest } from "../core/types.js";

/**
 * Bounds on what one request may carry into the core, checked by every front door on the domain
 * request it mapped. Body size alone (`maxBodyBytes`) still lets a 4 MiB body hold 500,000 empty
 * messages or 100,000 labels, and each of those costs the core (classification, policy matching,
 * token counting) far more than its bytes. Lengths are in UTF-16 code units (JavaScript string length).
 */
export interface RequestLimits {
  maxMessages: number;
  /** Per message `content`, and per tool call `arguments`. */
  maxContentChars: number;
  maxToolCallsPerMessage: number;
  /** Images in one message (each URL, a data: URL included, is bounded like content). */
  maxImagesPerMessage: number;
  maxTools: number;
  maxToolDescriptionChars: number;
  maxLabels: number;
  maxLabelKeyChars: number;
  maxLabelValueChars: number;
  maxStopSequences: number;
  maxStopChars: number;
  /** task, dataClass, tenant, user, model, message name, tool and tool call names and ids. */
  maxIdentifierChars: number;
  /** Nesting of a tool call's `arguments` JSON document. */
  maxToolArgumentsDepth: number;
  /**
   * Nesting of a tool's `parameters` schema: below where binary protobuf stops decoding a Struct
   * (100 message levels, about 33 of JSON), so both protocols refuse at the same depth, by name.
   */
  maxToolSchemaDepth: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxMessages: 1024,
  maxContentChars: 1024 * 1024,
  maxToolCallsPerMessage: 128,
  maxImagesPerMessage: 16,
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
  maxToolArgumentsDepth: 64,
  maxToolSchemaDepth: 32,
};

/**
 * Refuses a request that exceeds `limits`, carries a string that is not valid UTF-8 (see
 * transport/invalid-utf8.ts) or well-formed Unicode, has tool-call arguments that are not a JSON
 * document within the depth bound, or has an identifier (tenant, user, task, dataClass, label
 * keys and values, names and ids) holding a control, invisible or bidirectional-override
 * character: identifiers reach logs, metrics and policy matching, where `acme\u202e` must not pass
 * for `acme`. Message content may hold any text.
 *
 * Throws InvalidRequestError naming the field like `labels["team"]: longer than 512 characters`:
 * these are per-field contract violations (INVALID_ARGUMENT), not a transient shortage, so a
 * retrying client must not take them for RESOURCE_EXHAUSTED.
 */
export function checkRequestLimits(
  request: LlmRequest,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): void {
  count("messages", request.messages.length, limits.maxMessages);
  for (const [index, message] of request.messages.entries()) {
    const path = `messages[${index}]`;
    text(`${path}.content`, message.content, limits.maxContentChars);
    if (message.name !== undefined) identifier(`${path}.name`, message.name, limits.maxIdentifierChars);
    if (message.toolCallId !== undefined)
      identifier(`${path}.toolCallId`, message.toolCallId, limits.maxIdentifierChars);
    const images = message.images ?? [];
    count(`${path}.images`, images.length, limits.maxImagesPerMessage);
    for (const [imageIndex, image] of images.entries())
      text(`${path}.images[${imageIndex}].url`, image.url, limits.maxContentChars);
    const calls = message.toolCalls ?? [];
    count(`${path}.toolCalls`, calls.length, limits.maxToolCallsPerMessage);
    for (const [callIndex, call] of calls.entries()) {
      const callPath = `${path}.toolCalls[${callIndex}]`;
      identifier(`${callPath}.id`, call.id, limits.maxIdentifierChars);
      identifier(`${callPath}.name`, call.name, limits.maxIdentifierChars);
      text(`${callPath}.arguments`, call.arguments, limits.maxContentChars);
      jsonDocument(`${callPath}.arguments`, call.arguments, limits.maxToolArgumentsDepth);
    }
  }
  identifier("task", request.task, limits.maxIdentifierChars);
  identifier("dataClass", request.dataClass, limits.maxIdentifierChars);
  identifier("tenant", request.tenant, limits.maxIdentifierChars);
  identifier("user", request.user, limits.maxIdentifierChars);
  if (request.model !== undefined) identifier("model", request.model, limits.maxIdentifierChars);
  const labels = Object.entries(request.labels);
  count("labels", labels.length, limits.maxLabels);
  for (const [index, [key, value]] of labels.entries()) {
    // A key is echoed in the path only once it has passed its own checks.
    identifier(`labels (key #${index + 1})`, key, limits.maxLabelKeyChars);
    identifier(`labels[${JSON.stringify(key)}]`, value, limits.maxLabelValueChars);
  }
  const { stop } = request.params;
  count("params.stop", stop.length, limits.maxStopSequences);
  for (const [index, sequence] of stop.entries())
    text(`params.stop[${index}]`, sequence, limits.maxStopChars);
  count("tools", request.tools.length, limits.maxTools);
  for (const [index, tool] of request.tools.entries()) {
    identifier(`tools[${index}].name`, tool.name, limits.maxIdentifierChars);
    text(`tools[${index}].description`, tool.description, limits.maxToolDescriptionChars);
    schema(`tools[${index}].parameters`, tool.parameters, limits.maxToolSchemaDepth);
  }
  const format = request.params.responseFormat;
  if (format?.type === "json_schema") {
    identifier("params.responseFormat.name", format.name, limits.maxIdentifierChars);
    schema("params.responseFormat.schema", format.schema, limits.maxToolSchemaDepth);
  }
  count("approvedTools", request.approvedTools.length, limits.maxTools);
  for (const [index, approved] of request.approvedTools.entries())
    identifier(`approvedTools[${index}]`, approved, limits.maxIdentifierChars);
}

/**
 * A tool's JSON Schema goes to providers as JSON: every key and string in it must be valid UTF-8
 * and it may nest at most `maxDepth` levels, whichever protocol carried it.
 */
function schema(field: string, value: unknown, maxDepth: number, walk = { nodes: 0 }, depth = 0): void {
  walk.nodes += 1;
  // Providers walk schemas too (Gemini's is converted); a bound on the count keeps that cheap.
  if (walk.nodes > MAX_SCHEMA_NODES)
    throw new InvalidRequestError(field, `has more than ${MAX_SCHEMA_NODES} keys and values`);
  if (typeof value === "string") {
    if (!value.isWellFormed()) throw new InvalidRequestError(field, "holds a string that is not valid UTF-8");
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (depth >= maxDepth) throw new InvalidRequestError(field, `nests deeper than ${maxDepth} levels`);
  for (const [key, item] of Object.entries(value)) {
    if (!key.isWellFormed()) throw new InvalidRequestError(field, "holds a key that is not valid UTF-8");
    // A key counts as well as its value.
    if (!Array.isArray(value)) walk.nodes += 1;
    schema(field, item, maxDepth, walk, depth + 1);
  }
}

/** Keys and values one tool schema (or JSON output schema) may hold. */
const MAX_SCHEMA_NODES = 20_000;

function count(field: string, actual: number, max: number): void {
  if (actual > max) throw new InvalidRequestError(field, `at most ${max} entries allowed, got ${actual}`);
}

function text(field: string, value: string, maxChars: number): void {
  if (value.length > maxChars) throw new InvalidRequestError(field, `longer than ${maxChars} characters`);
  if (!value.isWellFormed())
    throw new InvalidRequestError(field, "is not valid UTF-8 (or holds an unpaired surrogate)");
}

function identifier(field: string, value: string, maxChars: number): void {
  text(field, value, maxChars);
  if (INVISIBLE_CHARACTER.test(value))
    throw new InvalidRequestError(field, "must not contain control, invisible or bidirectional characters");
  // "acme " is not "acme": identifiers are compared exactly, so a look-alike is refused, not trimmed.
  if (value !== value.trim()) throw new InvalidRequestError(field, "must not begin or end with whitespace");
}

/**
 * `arguments` must be a JSON document (a model reads it back), nesting at most `maxDepth`; an empty
 * string is a call with no arguments, as some providers send it.
 */
function jsonDocument(field: string, value: string, maxDepth: number): void {
  if (value === "") return;
  // Nesting is measured before parsing so a deep document costs no allocation.
  let depth = 0;
  let inString = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      depth++;
      if (depth > maxDepth) throw new InvalidRequestError(field, `JSON nests deeper than ${maxDepth} levels`);
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  try {
    JSON.parse(value);
  } catch {
    throw new InvalidRequestError(field, "must be a JSON document");
  }
}
