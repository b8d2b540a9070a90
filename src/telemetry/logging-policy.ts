import { createHmac } from "node:crypto";
import { maskedValue, maskFindings } from "../classify/mask.js";
import { scanText } from "../classify/scan.js";
import type { RedactedValue } from "../core/call.js";
import type { LoggingPolicy } from "../core/policy.js";
import type { ChatMessage, Entity } from "../core/types.js";

/**
 * The one place that decides what of a call's text may be stored: every log line and eval-sink
 * line that carries prompt, output or tool-argument text is built here (and trace attributes
 * will be). Whatever the policy says, a detected secret never appears in clear text (DESIGN
 * invariant 3): `full` still masks secrets; `redacted` masks every finding; `hashed` keeps a
 * keyed HMAC-SHA256 of each message (equal prompts correlate, nothing reads back); `none` keeps
 * nothing. Outputs (`store_outputs: true`) are stored in the prompts' form, or redacted when
 * prompts are not stored. Tool arguments follow `store_tool_args`: `denylist_secrets` also
 * blanks the values of keys named like secrets (`password`, `token`, `api_key`, …).
 */
export interface LoggableText {
  prompt?: LoggedMessage[];
  output?: LoggedMessage;
}

export interface LoggedMessage {
  role: string;
  content?: string;
  /** `hmac-sha256:<hex>` of the content (and tool calls) when prompts are hashed. */
  hash?: string;
  toolCalls?: { name: string; arguments?: string }[];
}

export function loggableText(
  policy: LoggingPolicy,
  call: {
    messages: readonly ChatMessage[];
    entities: readonly Entity[];
    answer?: ChatMessage;
    /** Values redaction put back into the answer: masked in it unless prompts are stored in full. */
    restored?: readonly RedactedValue[];
  },
): LoggableText {
  const form = policy.storePrompts;
  const text: LoggableText = {};
  if (form !== "none")
    text.prompt = call.messages.map((message, index) =>
      logged(message, policy, form, (field) =>
        call.entities.filter((e) => e.message === index && e.field === field),
      ),
    );
  if (policy.storeOutputs && call.answer) {
    // The answer was scanned for secrets as it streamed; personal data in it is found here. A
    // value put back by redaction may not be recognisable without the words around it in the
    // prompt, so those are masked by what they are, not by a scan.
    const outputForm = form === "none" ? "redacted" : form;
    const answer = outputForm === "full" ? call.answer : withoutRestored(call.answer, call.restored ?? []);
    text.output = logged(answer, policy, outputForm, (field) => scanText(fieldText(answer, field)));
  }
  return text;
}

/** The answer with every value redaction restored in it written `[REDACTED:<kind>]` again. */
function withoutRestored(answer: ChatMessage, restored: readonly RedactedValue[]): ChatMessage {
  if (restored.length === 0) return answer;
  // Longest first: a value that contains another is replaced whole.
  const values = [...restored].sort((a, b) => b.value.length - a.value.length);
  const mask = (text: string, json: boolean) =>
    values.reduce(
      (out, { value, kind }) =>
        out.replaceAll(json ? JSON.stringify(value).slice(1, -1) : value, maskedValue(kind)),
      text,
    );
  return {
    ...answer,
    content: mask(answer.content, false),
    ...(answer.toolCalls && {
      toolCalls: answer.toolCalls.map((call) => ({ ...call, arguments: mask(call.arguments, true) })),
    }),
  };
}

type Form = Exclude<LoggingPolicy["storePrompts"], "none">;

function logged(
  message: ChatMessage,
  policy: LoggingPolicy,
  form: Form,
  entitiesIn: (field: string) => readonly Pick<Entity, "kind" | "group" | "start" | "end">[],
): LoggedMessage {
  if (form === "hashed") {
    const hmac = createHmac("sha256", policy.hashKey ?? "");
    hmac.update(message.content);
    for (const call of message.toolCalls ?? []) hmac.update(`\u0000${call.name}\u0000${call.arguments}`);
    return { role: message.role, hash: `hmac-sha256:${hmac.digest("hex")}` };
  }
  const masked = (text: string, field: string) =>
    maskFindings(text, entitiesIn(field), form === "full" ? "secret" : "all");
  const toolCalls =
    policy.storeToolArgs === "none"
      ? message.toolCalls?.map((call, index) => ({ name: masked(call.name, `tool_calls[${index}].name`) }))
      : message.toolCalls?.map((call, index) => {
          const shown = masked(call.arguments, `tool_calls[${index}].arguments`);
          return {
            name: masked(call.name, `tool_calls[${index}].name`),
            arguments: policy.storeToolArgs === "denylist_secrets" ? withoutSecretKeys(shown) : shown,
          };
        });
  return {
    role: message.role,
    content: masked(message.content, "content"),
    ...(toolCalls && toolCalls.length > 0 && { toolCalls }),
  };
}

/** The text of `field` (`content`, `tool_calls[N].arguments`, `tool_calls[N].name`) of a message. */
function fieldText(message: ChatMessage, field: string): string {
  if (field === "content") return message.content;
  const [, index, part] = /^tool_calls\[(\d+)\]\.(arguments|name)$/.exec(field) ?? [];
  const call = message.toolCalls?.[Number(index)];
  return (part === "name" ? call?.name : call?.arguments) ?? "";
}

/** Words of a key that name a secret (`db_password`, `apiKey`, `X-Auth-Token`), compared word by word. */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "auth",
  "authorization",
  "credential",
  "credentials",
  "cookie",
  "privatekey",
]);
/** Two-word names: `api_key`, `private-key`, `accessKey`. */
const SECRET_PAIRS = new Set(["api key", "private key", "access key", "secret key", "session key"]);

/**
 * Whether a key names a secret: split into words at `_`, `-`, `.`, spaces and camelCase humps,
 * so `author`, `max_tokens` and `session_id` are not, and `dbPassword` and `x-api-key` are.
 */
function namesSecret(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some(
    (word, index) => SECRET_WORDS.has(word) || SECRET_PAIRS.has(`${word} ${words[index + 1] ?? ""}`),
  );
}

/** JSON arguments with the values of secret-named keys blanked; text that is not JSON as it was. */
function withoutSecretKeys(argumentsText: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(argumentsText);
  } catch {
    return argumentsText;
  }
  const blank = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(blank);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, namesSecret(key) ? "[REDACTED]" : blank(item)]),
    );
  };
  return JSON.stringify(blank(parsed));
}
