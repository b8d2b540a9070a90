import { z } from "zod";
import { InvalidRequestError } from "../../core/errors.js";
import type { ChatMessage, ImageRef, LlmRequest, ResponseFormat, ToolSpec } from "../../core/types.js";

/**
 * The body of `POST /v1/chat/completions` as this door takes it, in OpenAI's own shape
 * (https://platform.openai.com/docs/api-reference/chat/create). Keys the router cannot honour are
 * refused by name rather than quietly ignored: a caller setting `seed` or `n: 3` must not believe
 * it was applied. A few such keys are accepted at the value that changes nothing (`n: 1`), since
 * SDKs and frameworks send them. `null` means absent for every optional key, as OpenAI takes it.
 */
const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });
/** String content, or content parts; only text parts are taken (images and audio are not yet). */
const content = z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]);
const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);

const toolCall = z.strictObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion("role", [
  z.strictObject({ role: z.enum(["system", "developer"]), content, name: optional(z.string()) }),
  z.strictObject({ role: z.literal("user"), content, name: optional(z.string()) }),
  z.strictObject({
    role: z.literal("assistant"),
    content: optional(content),
    name: optional(z.string()),
    tool_calls: optional(z.array(toolCall)),
    refusal: optional(z.string()),
  }),
  z.strictObject({ role: z.literal("tool"), content, tool_call_id: z.string() }),
]);

const tool = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: z.string(),
    description: optional(z.string()),
    parameters: optional(z.record(z.string(), z.unknown())),
    strict: optional(z.boolean()),
  }),
});

const responseFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string(),
      description: optional(z.string()),
      schema: optional(z.record(z.string(), z.unknown())),
      strict: optional(z.boolean()),
    }),
  }),
]);

/** Accepted only at the value that asks for nothing this router does not do. */
const only = <T extends string | number | boolean>(value: T, why: string) =>
  optional(z.literal(value, { error: `only ${JSON.stringify(value)} is supported: ${why}` }));

export const chatRequestSchema = z.strictObject({
  model: z
    .string()
    .min(1, "must name a model: auto, a route, or a model routes match (GET /v1/models lists them)"),
  messages: z.array(message),
  stream: optional(z.boolean()),
  stream_options: optional(z.strictObject({ include_usage: optional(z.boolean()) })),
  tools: optional(z.array(tool)),
  tool_choice: optional(
    z.enum(["auto", "none"], {
      error: 'only "auto" and "none" are supported (a required or named tool choice is not yet)',
    }),
  ),
  parallel_tool_calls: only(true, "models may call several tools at once"),
  response_format: optional(responseFormat),
  stop: optional(z.union([z.string(), z.array(z.string())])),
  max_tokens: optional(z.int()),
  max_completion_tokens: optional(z.int()),
  temperature: optional(z.number()),
  top_p: optional(z.number()),
  user: optional(z.string()),
  /** OpenAI's own bound: at most 16 pairs. */
  metadata: optional(z.record(z.string(), z.string())),
  n: only(1, "one answer per request"),
  presence_penalty: only(0, "penalties are not passed on"),
  frequency_penalty: only(0, "penalties are not passed on"),
  logprobs: only(false, "log probabilities are not returned"),
});
export type ChatRequestBody = z.output<typeof chatRequestSchema>;

/**
 * Checks a parsed JSON body against the schema. Throws InvalidRequestError naming the first
 * problem by its path in the body (`messages[2].tool_calls[0].function`).
 */
export function parseChatRequest(json: unknown): ChatRequestBody {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new InvalidRequestError("body", "must be a JSON object");
  const parsed = chatRequestSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw new InvalidRequestError("body", "does not match the chat completions request");
  const at = jsonPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0] ?? "";
      throw new InvalidRequestError(
        jsonPath([...issue.path, key]),
        "unrecognized request argument (not supported by this router)",
      );
    }
    case "invalid_union":
      if ("discriminator" in issue && typeof issue.discriminator === "string")
        throw new InvalidRequestError(
          // zod puts the discriminator's key at the end of the path already.
          at === "" ? issue.discriminator : at,
          issue.discriminator === "role"
            ? "must be system, developer, user, assistant or tool"
            : `is not a ${issue.discriminator} this router knows`,
        );
      break;
  }
  throw new InvalidRequestError(at === "" ? "body" : at, issue.message.replace(/^Invalid input: /, ""));
}

/** `messages[2].content`: keys joined with dots, indexes in brackets, odd keys quoted. */
function jsonPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key))
      text += text === "" ? key : `.${key}`;
    else text += `[${JSON.stringify(shortened(String(key)))}]`;
  }
  return text;
}

/** The headers that say what the call is, beside the body (lowercase, as node gives them). */
export const HEADER = {
  tenant: "x-switchyard-tenant",
  user: "x-switchyard-user",
  task: "x-switchyard-task",
  dataClass: "x-switchyard-data-class",
  approvedTools: "x-switchyard-approved-tools",
  eval: "x-switchyard-eval",
} as const;

/** `metadata` keys that set a field of the request instead of becoming a label. */
const METADATA_FIELDS = { tenant: "tenant", task: "task", data_class: "dataClass" } as const;

export interface ChatCall {
  request: LlmRequest;
  stream: boolean;
  includeUsage: boolean;
  /** Where each domain field came from, to name it the way the caller wrote it in an error. */
  sources: ReadonlyMap<string, string>;
}

/**
 * The domain request for a parsed body and its headers. Throws InvalidRequestError naming the
 * field as the caller wrote it (`messages[1].content[0].type`, `x-switchyard-tenant`).
 */
export function toChatCall(body: ChatRequestBody, rawHeaders: readonly string[]): ChatCall {
  const sources = new Map<string, string>();
  const header = headerReader(rawHeaders);
  const metadata = body.metadata ?? {};
  const entries = Object.entries(metadata);
  if (entries.length > 16)
    throw new InvalidRequestError("metadata", `at most 16 pairs allowed, got ${entries.length}`);
  const labels: Record<string, string> = {};
  const fromMetadata: Partial<Record<"tenant" | "task" | "dataClass", string>> = {};
  for (const [key, value] of entries) {
    const field = Object.hasOwn(METADATA_FIELDS, key)
      ? METADATA_FIELDS[key as keyof typeof METADATA_FIELDS]
      : undefined;
    if (field) fromMetadata[field] = value;
    else labels[key] = value;
  }
  /** A field set by a header, the body, or both when they agree. */
  const oneOf = (field: string, choices: Array<[source: string, value: string | undefined]>): string => {
    const given = choices.filter((choice): choice is [string, string] => choice[1] !== undefined);
    const [first, ...rest] = given;
    if (!first) return "";
    const differing = rest.find(([, value]) => value !== first[1]);
    if (differing)
      throw new InvalidRequestError(
        first[0],
        `disagrees with ${differing[0]}; send one, or the same value in both`,
      );
    sources.set(field, first[0]);
    return first[1];
  };
  const tenant = oneOf("tenant", [
    [HEADER.tenant, header(HEADER.tenant)],
    ["metadata.tenant", fromMetadata.tenant],
  ]);
  const task = oneOf("task", [
    [HEADER.task, header(HEADER.task)],
    ["metadata.task", fromMetadata.task],
  ]);
  const dataClass = oneOf("dataClass", [
    [HEADER.dataClass, header(HEADER.dataClass)],
    ["metadata.data_class", fromMetadata.dataClass],
  ]);
  const user = oneOf("user", [
    [HEADER.user, header(HEADER.user)],
    ["user", body.user],
  ]);
  if (
    body.max_tokens !== undefined &&
    body.max_completion_tokens !== undefined &&
    body.max_tokens !== body.max_completion_tokens
  )
    throw new InvalidRequestError("max_completion_tokens", "disagrees with max_tokens; send one of them");
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  sources.set(
    "params.maxTokens",
    body.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens",
  );
  const stop = body.stop === undefined ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  if (typeof body.stop === "string") sources.set("params.stop[0]", "stop");
  const responseFormat = toResponseFormat(body.response_format);

  return {
    request: {
      messages: body.messages.map(toChatMessage),
      task,
      dataClass,
      tenant,
      user,
      labels,
      params: {
        stop,
        ...(maxTokens !== undefined && { maxTokens }),
        ...(body.temperature !== undefined && { temperature: body.temperature }),
        ...(body.top_p !== undefined && { topP: body.top_p }),
        ...(responseFormat && { responseFormat }),
      },
      // `tool_choice: "none"`: the model is not given the tools, so it cannot call one.
      tools: body.tool_choice === "none" ? [] : (body.tools ?? []).map(toToolSpec),
      approvedTools: listHeader(header(HEADER.approvedTools)),
      eval: booleanHeader(HEADER.eval, header(HEADER.eval)),
      model: body.model,
    },
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
    sources,
  };
}

/** Domain field paths (what the pipeline's checks name) as this door's request spells them. */
const RENAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^params\.maxTokens$/, "max_tokens"],
  [/^params\.topP$/, "top_p"],
  [/^params\.responseFormat\.(name|schema)$/, "response_format.json_schema.$1"],
  [/^params\./, ""],
  [/^(messages\[\d+\])\.toolCalls\[(\d+)\]\.(name|arguments)$/, "$1.tool_calls[$2].function.$3"],
  [/^(messages\[\d+\])\.toolCalls/, "$1.tool_calls"],
  [/^(messages\[\d+\])\.toolCallId$/, "$1.tool_call_id"],
  [/^(messages\[\d+\])\.images.*/, "$1.content"],
  [/^tools\[(\d+)\]\.(name|description|parameters)$/, "tools[$1].function.$2"],
  [/^labels/, "metadata"],
  [/^tenant$/, HEADER.tenant],
  [/^task$/, HEADER.task],
  [/^dataClass$/, HEADER.dataClass],
  [/^approvedTools.*/, HEADER.approvedTools],
];

/** Names a domain field (`params.maxTokens`) the way this call's request wrote it (`max_completion_tokens`). */
export function paramName(call: Pick<ChatCall, "sources"> | undefined, field: string): string {
  const source = call?.sources.get(field);
  if (source !== undefined) return source;
  for (const [pattern, replacement] of RENAMES)
    if (pattern.test(field)) return field.replace(pattern, replacement);
  return field;
}

/**
 * Reads `x-switchyard-*` headers from the raw list (name, value, name, value…): node joins a
 * repeated header into one `a, b` value, which would pass for a tenant named "acme, evil". Each
 * must come once, in printable ASCII (node reads header bytes as Latin-1, so anything else would
 * arrive garbled).
 */
function headerReader(rawHeaders: readonly string[]): (name: string) => string | undefined {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]?.toLowerCase() ?? "";
    if (!name.startsWith("x-switchyard-")) continue;
    values.set(name, [...(values.get(name) ?? []), rawHeaders[i + 1] ?? ""]);
  }
  return (name) => {
    const given = values.get(name);
    if (!given) return undefined;
    if (given.length > 1) throw new InvalidRequestError(name, "must be sent once");
    const [value = ""] = given;
    if (!/^[\x20-\x7e]*$/.test(value)) throw new InvalidRequestError(name, "must be printable ASCII");
    return value;
  };
}

type BodyMessage = ChatRequestBody["messages"][number];

function toChatMessage(message: BodyMessage, index: number): ChatMessage {
  const at = `messages[${index}]`;
  switch (message.role) {
    case "system":
    case "developer":
      return {
        // `developer` is what OpenAI's newer models call the system message.
        role: "system",
        content: joinText(message.content, at),
        ...(message.name !== undefined && { name: message.name }),
      };
    case "user": {
      const images = imageParts(message.content, at);
      return {
        role: "user",
        content: joinText(message.content, at, { images: true }),
        ...(message.name !== undefined && { name: message.name }),
        ...(images.length > 0 && { images }),
      };
    }
    case "assistant": {
      const calls = message.tool_calls ?? [];
      return {
        role: "assistant",
        content: message.content === undefined ? "" : joinText(message.content, at),
        ...(message.name !== undefined && { name: message.name }),
        ...(calls.length > 0 && {
          toolCalls: calls.map((call) => ({
            id: call.id,
            name: call.function.name,
            arguments: call.function.arguments,
          })),
        }),
      };
    }
    case "tool":
      return { role: "tool", content: joinText(message.content, at), toolCallId: message.tool_call_id };
  }
}

const imagePart = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.strictObject({ url: z.string(), detail: optional(z.enum(["auto", "low", "high"])) }),
});

/** A user message's `image_url` parts, in order (their URLs are checked with the rest of the request). */
function imageParts(content: string | Array<{ type: string }>, at: string): ImageRef[] {
  if (typeof content === "string") return [];
  const images: ImageRef[] = [];
  content.forEach((part, index) => {
    if (part.type !== "image_url") return;
    const parsed = imagePart.safeParse(part);
    if (!parsed.success)
      throw new InvalidRequestError(
        `${at}.content[${index}].image_url`,
        "must be { url, detail? } with detail auto, low or high",
      );
    const { url, detail } = parsed.data.image_url;
    images.push({ url, ...((detail === "low" || detail === "high") && { detail }) });
  });
  return images;
}

/**
 * Text parts are joined as OpenAI joins them: one after the other. With `images` (a user
 * message), image_url parts are left to imageParts; each other part keeps its index in errors.
 */
function joinText(
  content: string | Array<{ type: string }>,
  at: string,
  options = { images: false },
): string {
  if (typeof content === "string") return content;
  return content
    .map((part, index) => {
      if (options.images && part.type === "image_url") return "";
      const parsed = textPart.safeParse(part);
      if (parsed.success) return parsed.data.text;
      if (part.type === "text")
        throw new InvalidRequestError(`${at}.content[${index}].text`, "must be a string");
      throw new InvalidRequestError(
        `${at}.content[${index}].type`,
        'only "text" parts (and "image_url" parts in user messages) are supported by this router',
      );
    })
    .join("");
}

function toToolSpec(offered: z.output<typeof tool>): ToolSpec {
  return {
    name: offered.function.name,
    description: offered.function.description ?? "",
    parameters: offered.function.parameters ?? { type: "object", properties: {} },
  };
}

function toResponseFormat(format: ChatRequestBody["response_format"]): ResponseFormat | undefined {
  if (format === undefined || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  return {
    type: "json_schema",
    name: format.json_schema.name,
    schema: format.json_schema.schema ?? {},
    strict: format.json_schema.strict ?? false,
  };
}

function listHeader(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function booleanHeader(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new InvalidRequestError(name, 'must be "true" or "false"');
}

/** A key the caller sent, cut short for an error's path (JSON quoting then makes it visible). */
function shortened(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
