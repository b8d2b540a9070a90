import { createHmac } from "node:crypto";
import type { RedactedValue, Redaction } from "../core/call.js";
import { InvalidRequestError } from "../core/errors.js";
import type { RedactionForm } from "../core/policy.js";
import type { ChatMessage, Entity, ToolSpec } from "../core/types.js";

/** A finding to replace, with the form its rule asks for. */
export interface RedactTarget {
  entity: Entity;
  form: RedactionForm;
}

/**
 * The request as a hosted provider may see it: every target's span replaced by a token. The
 * same value gets the same token within the call (`<EMAIL_1>` each time the address appears),
 * numbered per kind in order of appearance; `hash` writes a keyed HMAC instead of the number
 * (`<EMAIL_#3f9a2c1b>`: equal values correlate across calls, nothing reads back), and both are
 * restored in the answer, except secrets (never put back into what a model writes). `mask` keeps
 * the value's shape and its last few letters or digits (`************1111`) and is not restored. In tool-call arguments the spans lie inside JSON
 * strings (the scanner reports escaped values at their escaped span) and what replaces them is
 * JSON-escaped (a mask keeps a quote or a newline of the value), so the arguments stay valid
 * JSON. Returns undefined when there is nothing to replace.
 */
export function redact(
  request: { messages: readonly ChatMessage[]; tools: readonly ToolSpec[]; stop: readonly string[] },
  targets: readonly RedactTarget[],
  hashKey: string | undefined,
): Redaction | undefined {
  if (targets.length === 0) return undefined;
  const vault = new Map<string, RedactedValue>();
  const tokens = new Map<string, string>();
  const numbers = new Map<string, number>();

  const tokenFor = (entity: Entity, value: string, form: RedactionForm): string => {
    const prefix = entity.kind.toUpperCase();
    const key = `${entity.kind}\u0000${form}\u0000${value}`;
    const known = tokens.get(key);
    if (known !== undefined) return known;
    let token: string;
    if (form === "mask") token = mask(value);
    else {
      if (form === "hash") {
        const digest = createHmac("sha256", hashKey ?? "")
          .update(value)
          .digest("hex")
          .slice(0, 8);
        token = `<${prefix}_#${digest}>`;
      } else {
        const number = (numbers.get(prefix) ?? 0) + 1;
        numbers.set(prefix, number);
        token = `<${prefix}_${number}>`;
      }
      // A secret is never put back: a model told to repeat `<AWS_ACCESS_KEY_ID_1>` into a URL or
      // a tool call must not make the caller's own software send the key on.
      if (entity.group !== "secret") vault.set(token, { value, kind: entity.kind, group: entity.group });
    }
    tokens.set(key, token);
    return token;
  };

  const byField = new Map<string, RedactTarget[]>();
  for (const target of targets) {
    const key = `${target.entity.message}\u0000${target.entity.field}`;
    byField.set(key, [...(byField.get(key) ?? []), target]);
  }
  let count = 0;
  const replace = (text: string, message: number, field: string, json: boolean): string => {
    const here = byField.get(`${message}\u0000${field}`);
    if (!here) return text;
    const sorted = [...here].sort((a, b) => a.entity.start - b.entity.start);
    const inString = json ? jsonStringPositions(text) : undefined;
    let out = "";
    let at = 0;
    for (const { entity, form } of sorted) {
      if (entity.start < at) continue;
      const written = text.slice(entity.start, entity.end);
      const token = tokenFor(entity, json ? jsonStringValue(written) : written, form);
      let replacement = token;
      if (inString) {
        // In JSON: inside a string the token is escaped (a mask keeps a quote or a newline of
        // the value); a value written as a number (`"card": 4111…`) becomes a string.
        const escaped = JSON.stringify(token);
        replacement = inString[entity.start] ? escaped.slice(1, -1) : escaped;
      }
      out += text.slice(at, entity.start) + replacement;
      at = entity.end;
      count++;
    }
    return out + text.slice(at);
  };

  const messages = request.messages.map((message, index) => {
    const content = replace(message.content, index, "content", false);
    const toolCalls = message.toolCalls?.map((call, callIndex) => ({
      id: replace(call.id, index, `tool_calls[${callIndex}].id`, false),
      name: replace(call.name, index, `tool_calls[${callIndex}].name`, false),
      arguments: replace(call.arguments, index, `tool_calls[${callIndex}].arguments`, true),
    }));
    // An image the policy redacts cannot be rewritten: it is left out of what this target sees.
    const images = message.images
      ?.map((image, imageIndex) =>
        byField.has(`${index}\u0000images[${imageIndex}]`)
          ? undefined
          : { ...image, url: replace(image.url, index, `images[${imageIndex}].url`, false) },
      )
      .filter((image) => image !== undefined);
    const dropped = message.images ? message.images.length - (images?.length ?? 0) : 0;
    count += dropped;
    return {
      ...message,
      // The model is told an image was there, and a message that was only an image is not empty.
      content:
        dropped === 0
          ? content
          : `${content}${content === "" ? "" : "\n"}${"[image withheld by policy]\n".repeat(dropped).trimEnd()}`,
      ...(images && { images }),
      ...(message.name !== undefined && { name: replace(message.name, index, "name", false) }),
      ...(message.toolCallId !== undefined && {
        toolCallId: replace(message.toolCallId, index, "tool_call_id", false),
      }),
      ...(toolCalls && { toolCalls }),
    };
  });
  const tools = request.tools.map((tool, index) => {
    const name = replace(tool.name, -1, `tools[${index}].name`, false);
    const description = replace(tool.description, -1, `tools[${index}].description`, false);
    const schema = JSON.stringify(tool.parameters);
    const redactedSchema = replace(schema, -1, `tools[${index}].parameters`, true);
    // Tokens go in as JSON strings (see replace), so the schema parses again.
    const parameters = redactedSchema === schema ? tool.parameters : reparsed(redactedSchema, index);
    return { ...tool, name, description, parameters };
  });
  const stop = request.stop.map((sequence, index) => replace(sequence, -1, `params.stop[${index}]`, false));
  return count === 0 ? undefined : { messages, tools, stop, count, vault };
}

/** A redacted schema as an object again; refused (never sent as it was) if it no longer parses. */
function reparsed(schema: string, index: number): ToolSpec["parameters"] {
  try {
    return JSON.parse(schema) as ToolSpec["parameters"];
  } catch {
    throw new InvalidRequestError(
      `tools[${index}].parameters`,
      "holds a value the policy redacts in a place it cannot be replaced",
    );
  }
}

/** A value as written inside a JSON string, decoded (`a\u0040b.com` is `a@b.com`). */
function jsonStringValue(written: string): string {
  if (!written.includes("\\")) return written;
  try {
    const decoded: unknown = JSON.parse(`"${written}"`);
    return typeof decoded === "string" ? decoded : written;
  } catch {
    return written;
  }
}

/**
 * For each position of a JSON text, whether it lies inside a string (between its quotes). Text
 * that is not JSON is read as far as it goes; a position never inside quotes reads false.
 */
function jsonStringPositions(text: string): Uint8Array {
  const inside = new Uint8Array(text.length);
  let open = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (open && code === 92 /* \ */) {
      inside[index] = 1;
      if (index + 1 < text.length) inside[index + 1] = 1;
      index++;
      continue;
    }
    if (code === 34 /* " */) {
      open = !open;
      continue;
    }
    inside[index] = open ? 1 : 0;
  }
  return inside;
}

/**
 * Letters and digits starred but the last few (four at most, a third of them at most, so a
 * short value such as `1.2.3.4` keeps one); separators kept, so the shape still reads.
 */
function mask(value: string): string {
  const characters = [...value];
  let keep = Math.min(
    4,
    Math.floor(characters.filter((character) => /[\p{L}\p{N}]/u.test(character)).length / 3),
  );
  for (let index = characters.length - 1; index >= 0; index--) {
    const character = characters[index] as string;
    if (!/[\p{L}\p{N}]/u.test(character)) continue;
    if (keep > 0) keep--;
    else characters[index] = "*";
  }
  return characters.join("");
}
