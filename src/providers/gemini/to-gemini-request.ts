import { isPlainObject } from "../../core/json.js";
import type { ChatMessage, ToolSpec } from "../../core/types.js";
import { groupTurns, splitSystem } from "../conversation.js";
import { inlineImageOnly } from "../images.js";
import { ProviderError } from "../provider-error.js";
import { argumentsObject } from "../tool-arguments.js";
import type { ProviderCall } from "../types.js";
import type {
  GeminiContent,
  GeminiFunctionDeclaration,
  GeminiGenerationConfig,
  GeminiPart,
  GeminiRequest,
} from "./gemini-schemas.js";
import type { GeminiSchemaFormat } from "./gemini-settings.js";

/**
 * What the first functionCall part of a model turn carries as its `thoughtSignature`. Gemini 3
 * models answer 400 when a function call of the conversation comes back without the signature
 * they attached to it; our domain keeps no signatures (a turn may well come from another vendor's
 * model), so every replayed call carries the value Google documents for history the model did not
 * produce itself. Older models ignore it (it is valid base64).
 * https://ai.google.dev/gemini-api/docs/thought-signatures (FAQ: history from other models)
 */
export const THOUGHT_SIGNATURE_SENTINEL = "skip_thought_signature_validator";

/**
 * Builds the streamGenerateContent body for one call. Pure; `call.signal` is not looked at.
 * https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 *
 * - System messages (wherever they stood) become `systemInstruction` (splitSystem).
 * - user → role "user"; assistant → role "model" (its text, then one `functionCall` part per tool
 *   call, arguments as the object they encode); tool results → `functionResponse` parts in a "user"
 *   turn. Consecutive messages of one role form one turn (groupTurns), so the results answering
 *   several parallel calls travel together, as Gemini requires.
 * - Gemini's functionResponse names the function, not the call: the name is that of the call with
 *   the result's `toolCallId` in the nearest earlier assistant turn (call ids repeat across turns
 *   when they were synthesized, see from-gemini-response.ts). Call ids are not sent: Gemini pairs
 *   calls and responses by order and name, and older endpoints refuse the `id` fields.
 * - A result's content goes in `response` as is when it is a JSON object, else as
 *   `{"output": …}` (its JSON value, or the text), the key Google's reference names for it.
 * - JSON mode: `responseMimeType: application/json`, plus the schema for `json_schema` (Gemini
 *   always constrains decoding to a given schema, so `strict` changes nothing).
 * - A user message's images are `inlineData` parts (base64 and MIME type from the `data:` URL),
 *   placed before its text, as Google advises for a prompt with an image ("place the text prompt
 *   after the image part"). `detail` is not sent: its closest knob on the v1beta wire,
 *   `generationConfig.mediaResolution`, is request-wide, not per image. An image by URL is
 *   refused: `fileData` is documented for URIs of files uploaded through the Files API (Cloud
 *   Storage on Vertex AI), and fetching the image ourselves would make the router an open fetcher
 *   of callers' URLs. (Google's file-input guide lists newer input methods; whether `fileData`
 *   now takes any public http(s) URL should be checked against it before relaxing this.)
 *   https://ai.google.dev/gemini-api/docs/image-understanding
 *   https://ai.google.dev/gemini-api/docs/file-input-methods
 *   https://ai.google.dev/api/caching#Part
 *
 * @throws ProviderError class "invalid_request" when a tool result answers no earlier tool call
 *   and carries no name either (there is no function to name); class "invalid_request", marked
 *   retryable so the next target is tried, for an image by URL (see inlineImageOnly).
 */
export function toGeminiRequest(
  call: ProviderCall,
  options: { schemaFormat?: GeminiSchemaFormat } = {},
): GeminiRequest {
  const schemaFormat = options.schemaFormat ?? "openapi";
  const budget: SchemaBudget = { nodes: 0 };
  const { system, turns } = splitSystem(call.messages);
  const body: GeminiRequest = {
    contents: groupTurns(turns, (message) => (message.role === "assistant" ? "model" : "user")).map(
      (turn): GeminiContent => ({
        role: turn.role,
        parts: turnParts(turn.role, turn.messages, call.messages),
      }),
    ),
  };
  if (system !== "") body.systemInstruction = { parts: [{ text: system }] };
  // Gemini refuses a declaration list that is present but empty.
  if (call.tools.length > 0)
    body.tools = [
      { functionDeclarations: call.tools.map((tool) => toDeclaration(tool, schemaFormat, budget)) },
    ];

  const config: GeminiGenerationConfig = {};
  if (call.maxTokens !== undefined) config.maxOutputTokens = call.maxTokens;
  if (call.temperature !== undefined) config.temperature = call.temperature;
  if (call.topP !== undefined) config.topP = call.topP;
  if (call.stop.length > 0) config.stopSequences = [...call.stop];
  // https://ai.google.dev/gemini-api/docs/structured-output
  const format = call.responseFormat;
  if (format !== undefined) {
    config.responseMimeType = "application/json";
    if (format.type === "json_schema") {
      if (schemaFormat === "json_schema") config.responseJsonSchema = withoutMetaSchema(format.schema);
      else config.responseSchema = toGeminiSchema(format.schema, budget);
    }
  }
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

function turnParts(role: "user" | "model", messages: ChatMessage[], all: ChatMessage[]): GeminiPart[] {
  const parts: GeminiPart[] = [];
  for (const message of messages) {
    if (message.role === "tool") {
      parts.push({
        functionResponse: { name: functionNameOf(message, all), response: toolResponse(message.content) },
      });
      continue;
    }
    for (const image of message.images ?? []) {
      const { mediaType, data } = inlineImageOnly(image, "gemini");
      parts.push({ inlineData: { mimeType: mediaType, data } });
    }
    // Gemini refuses empty text parts ("contents.parts must not be empty" / empty text parameter).
    if (message.content !== "") parts.push({ text: message.content });
    if (role === "model") {
      (message.toolCalls ?? []).forEach((toolCall, index) => {
        parts.push({
          functionCall: { name: toolCall.name, args: argumentsObject(toolCall.arguments, "gemini") },
          ...(index === 0 && { thoughtSignature: THOUGHT_SIGNATURE_SENTINEL }),
        });
      });
    }
  }
  // A turn of nothing but empty messages: one empty text part, for the upstream to judge.
  if (parts.length === 0) parts.push({ text: "" });
  return parts;
}

/** The name of the function a tool result answers: the call with its id, nearest before it. */
function functionNameOf(result: ChatMessage, all: ChatMessage[]): string {
  const at = all.indexOf(result);
  for (let i = at - 1; i >= 0; i -= 1) {
    const found = all[i]?.toolCalls?.find((toolCall) => toolCall.id === result.toolCallId);
    if (found !== undefined) return found.name;
  }
  if (result.name !== undefined && result.name !== "") return result.name;
  throw new ProviderError(
    "invalid_request",
    `tool result at messages[${at}] answers no earlier tool call (Gemini needs the function's name)`,
  );
}

function toolResponse(content: string): Record<string, unknown> {
  let value: unknown = content;
  try {
    value = JSON.parse(content);
  } catch {
    // Plain text: sent as text.
  }
  return isPlainObject(value) ? value : { output: value };
}

function toDeclaration(
  tool: ToolSpec,
  schemaFormat: GeminiSchemaFormat,
  budget: SchemaBudget,
): GeminiFunctionDeclaration {
  const declaration: GeminiFunctionDeclaration = { name: tool.name, description: tool.description };
  if (schemaFormat === "json_schema") {
    declaration.parametersJsonSchema = withoutMetaSchema(tool.parameters);
    return declaration;
  }
  const parameters = toGeminiSchema(tool.parameters, budget);
  // Gemini refuses an OBJECT without properties ("should be non-empty for OBJECT type"): a
  // function without arguments is declared without `parameters`.
  const properties = parameters.properties;
  if (isPlainObject(properties) && Object.keys(properties).length > 0) declaration.parameters = parameters;
  return declaration;
}

function withoutMetaSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

const TYPES: Readonly<Record<string, string>> = {
  string: "STRING",
  number: "NUMBER",
  integer: "INTEGER",
  boolean: "BOOLEAN",
  array: "ARRAY",
  object: "OBJECT",
};

/** Formats Gemini's Schema documents per type; others are refused by some models, so dropped. */
const FORMATS: Readonly<Record<string, readonly string[]>> = {
  STRING: ["enum", "date-time"],
  NUMBER: ["float", "double"],
  INTEGER: ["int32", "int64"],
};

/** Keywords copied unchanged: Gemini's Schema has them with JSON Schema's meaning. */
const COPIED = [
  "title",
  "description",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "pattern",
  "minProperties",
  "maxProperties",
  "default",
  "example",
  "propertyOrdering",
] as const;

/** Depth at which a `$ref` stops being inlined (recursive schemas): the node becomes a bare OBJECT. */
const MAX_REF_DEPTH = 6;
/**
 * Nodes one request's schemas (every tool's and the answer's) may expand to. Inlined `$ref`s
 * multiply: a 400-byte schema whose definition refers to itself from 14 properties is 200 MB at
 * depth six. Past it, the request is not one this wire can take (another target's may).
 */
const MAX_CONVERTED_NODES = 20_000;

/** Shared by every schema of one request. */
export interface SchemaBudget {
  nodes: number;
}

interface SchemaWalk {
  readonly defs: Record<string, unknown>;
  readonly budget: SchemaBudget;
}

/**
 * A JSON Schema converted to Gemini's `Schema`, a subset of OpenAPI 3.0.
 * https://ai.google.dev/api/caching#Schema
 *
 * Converted: `type` to Gemini's upper-case names (a type list with "null" → that type with
 * `nullable: true`, several types → `anyOf`); `oneOf` → `anyOf` (a null branch → `nullable`, a
 * single remaining branch inlined); `allOf` merged (properties and required united); `const` →
 * a one-value `enum`; local `$ref`s (`#/$defs/…`, `#/definitions/…`) inlined, down to a depth of
 * six (deeper, as in a recursive schema, a bare OBJECT); `examples[0]` → `example`; a missing type
 * inferred from `properties` (OBJECT) or `items` (ARRAY); tuple `items` / `prefixItems` → `items`
 * with `anyOf`; `required` limited to the properties declared.
 *
 * Dropped (no equivalent): `$schema`, `$id`, `$comment`, `additionalProperties`,
 * `patternProperties`, `unevaluatedProperties`, `propertyNames`, `dependentRequired`,
 * `dependentSchemas`, `if`/`then`/`else`, `not`, `contains`, `uniqueItems`, `multipleOf`,
 * `exclusiveMinimum`/`exclusiveMaximum`, `readOnly`/`writeOnly`/`deprecated`; `format`s other than
 * those Gemini documents (string: enum, date-time; number: float, double; integer: int32, int64);
 * an `enum` with values that are not strings (its values are appended to the description instead).
 */
export function toGeminiSchema(
  schema: Record<string, unknown>,
  budget: SchemaBudget = { nodes: 0 },
): Record<string, unknown> {
  const defs = {
    ...(isPlainObject(schema.definitions) ? schema.definitions : {}),
    ...(isPlainObject(schema.$defs) ? schema.$defs : {}),
  };
  return convert(schema, { defs, budget }, 0);
}

function convert(node: unknown, walk: SchemaWalk, depth: number): Record<string, unknown> {
  walk.budget.nodes += 1;
  if (walk.budget.nodes > MAX_CONVERTED_NODES)
    throw new ProviderError(
      "invalid_request",
      `gemini: the request's schemas expand past ${MAX_CONVERTED_NODES} nodes once their $refs are inlined`,
      { retryable: true },
    );
  if (!isPlainObject(node)) return {};
  const { defs } = walk;
  if (typeof node.$ref === "string") {
    const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(node.$ref)?.[1];
    const target = name === undefined ? undefined : defs[decodeURIComponent(name)];
    const { $ref: _ref, ...siblings } = node;
    if (!isPlainObject(target)) return convert(siblings, walk, depth);
    if (depth >= MAX_REF_DEPTH) return { type: "OBJECT", ...describe(siblings, target) };
    return convert({ ...target, ...siblings }, walk, depth + 1);
  }
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    return convert(mergeAll(rest, allOf), walk, depth);
  }

  const out: Record<string, unknown> = {};
  for (const key of COPIED) if (node[key] !== undefined) out[key] = node[key];
  if (out.example === undefined && Array.isArray(node.examples) && node.examples.length > 0)
    out.example = node.examples[0];
  let nullable = node.nullable === true;

  const declared = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
  if (declared.includes("null")) nullable = true;
  const types = declared.flatMap((type) => (typeof type === "string" && TYPES[type] ? [TYPES[type]] : []));
  if (types.length === 1) out.type = types[0];
  else if (types.length > 1) out.anyOf = types.map((type) => ({ type }));
  else if (node.properties !== undefined) out.type = "OBJECT";
  else if (node.items !== undefined || node.prefixItems !== undefined) out.type = "ARRAY";

  const branches = Array.isArray(node.anyOf)
    ? node.anyOf
    : Array.isArray(node.oneOf)
      ? node.oneOf
      : undefined;
  if (branches !== undefined) {
    const kept = branches.filter((branch) => !(isPlainObject(branch) && branch.type === "null"));
    if (kept.length < branches.length) nullable = true;
    if (kept.length === 1) Object.assign(out, convert(kept[0], walk, depth), withoutUndefined(out));
    else if (kept.length > 1) out.anyOf = kept.map((branch) => convert(branch, walk, depth));
  }

  const values = node.const !== undefined ? [node.const] : Array.isArray(node.enum) ? node.enum : undefined;
  if (values !== undefined) {
    if (values.includes(null)) nullable = true;
    const rest = values.filter((value) => value !== null);
    if (rest.every((value) => typeof value === "string")) {
      out.enum = rest;
      if (out.type === undefined) out.type = "STRING";
    } else {
      const allowed = `Allowed values: ${rest.map((value) => JSON.stringify(value)).join(", ")}.`;
      out.description = typeof out.description === "string" ? `${out.description} ${allowed}` : allowed;
    }
  }

  if (typeof node.format === "string" && typeof out.type === "string") {
    if (FORMATS[out.type]?.includes(node.format)) out.format = node.format;
  }

  if (isPlainObject(node.properties)) {
    const properties: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(node.properties))
      properties[name] = convert(property, walk, depth);
    out.properties = properties;
    if (Array.isArray(node.required)) {
      const required = node.required.filter(
        (name): name is string => typeof name === "string" && Object.hasOwn(properties, name),
      );
      if (required.length > 0) out.required = required;
    }
  }

  const tuple = Array.isArray(node.prefixItems)
    ? node.prefixItems
    : Array.isArray(node.items)
      ? node.items
      : [];
  if (isPlainObject(node.items)) out.items = convert(node.items, walk, depth);
  else if (tuple.length === 1) out.items = convert(tuple[0], walk, depth);
  else if (tuple.length > 1) out.items = { anyOf: tuple.map((item) => convert(item, walk, depth)) };

  if (nullable) out.nullable = true;
  return out;
}

/** `allOf` folded into its parent: properties and required united, other keywords first-wins. */
function mergeAll(parent: Record<string, unknown>, branches: unknown[]): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...parent };
  const properties: Record<string, unknown> = isPlainObject(parent.properties)
    ? { ...parent.properties }
    : {};
  const required = new Set<unknown>(Array.isArray(parent.required) ? parent.required : []);
  for (const branch of branches) {
    if (!isPlainObject(branch)) continue;
    for (const [key, value] of Object.entries(branch)) {
      if (key === "properties" && isPlainObject(value)) Object.assign(properties, value);
      else if (key === "required" && Array.isArray(value)) for (const name of value) required.add(name);
      else if (merged[key] === undefined) merged[key] = value;
    }
  }
  if (Object.keys(properties).length > 0) merged.properties = properties;
  if (required.size > 0) merged.required = [...required];
  return merged;
}

function describe(...nodes: Record<string, unknown>[]): { description?: string } {
  const description = nodes.map((n) => n.description).find((d) => typeof d === "string");
  return typeof description === "string" ? { description } : {};
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}
