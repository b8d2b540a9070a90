import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RedactionForm } from "../../src/core/policy.js";
import type { ChatMessage, Entity } from "../../src/core/types.js";
import { type RedactTarget, redact } from "../../src/guard/redact.js";

const KEY = "a-hash-key-of-16-chars";

/** A target over `value`'s first occurrence (from `from`) in one field of one message. */
function at(
  messages: readonly ChatMessage[],
  value: string,
  options: {
    kind?: string;
    group?: Entity["group"];
    message?: number;
    field?: string;
    form?: RedactionForm;
    from?: number;
  } = {},
): RedactTarget {
  const message = options.message ?? 0;
  const field = options.field ?? "content";
  const source = messages[message] as ChatMessage;
  const toolIndex = /^tool_calls\[(\d+)\]\.arguments$/.exec(field)?.[1];
  const text =
    toolIndex === undefined ? source.content : (source.toolCalls?.[Number(toolIndex)]?.arguments ?? "");
  const start = text.indexOf(value, options.from ?? 0);
  if (start < 0) throw new Error(`"${value}" is not in ${field} of message ${message}`);
  const entity: Entity = {
    kind: options.kind ?? "email",
    group: options.group ?? "pii",
    message,
    field,
    start,
    end: start + value.length,
    score: 1,
  };
  return { entity, form: options.form ?? "placeholder" };
}

const user = (content: string): ChatMessage => ({ role: "user", content });

/** Redaction of messages alone (no tools, no stop sequences). */
const redactMessages = (
  messages: readonly ChatMessage[],
  targets: Parameters<typeof redact>[1],
  key: string | undefined,
) => redact({ messages, tools: [], stop: [] }, targets, key);

describe("redact", () => {
  it("returns undefined when there is nothing to redact", () => {
    expect(redactMessages([user("nothing here")], [], KEY)).toBeUndefined();
  });

  it("returns undefined when no target lies in a field the messages have", () => {
    const entity: Entity = {
      kind: "email",
      group: "pii",
      message: 3,
      field: "content",
      start: 0,
      end: 4,
      score: 1,
    };
    expect(redactMessages([user("a@b.c")], [{ entity, form: "placeholder" }], KEY)).toBeUndefined();
  });

  it("gives the same value the same token within a call, across messages and fields", () => {
    const messages: ChatMessage[] = [
      user("write to ann@example.com please"),
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "c1", name: "send", arguments: '{"to":"ann@example.com"}' }],
      },
      user("ann@example.com again, and bob@example.com"),
    ];
    const result = redactMessages(
      messages,
      [
        at(messages, "ann@example.com"),
        at(messages, "ann@example.com", { message: 1, field: "tool_calls[0].arguments" }),
        at(messages, "ann@example.com", { message: 2 }),
        at(messages, "bob@example.com", { message: 2 }),
      ],
      KEY,
    );
    expect(result?.messages.map((message) => message.content)).toEqual([
      "write to <EMAIL_1> please",
      "",
      "<EMAIL_1> again, and <EMAIL_2>",
    ]);
    expect(result?.messages[1]?.toolCalls?.[0]?.arguments).toBe('{"to":"<EMAIL_1>"}');
    expect(result?.count).toBe(4);
    expect([...(result?.vault ?? [])]).toEqual([
      ["<EMAIL_1>", { value: "ann@example.com", kind: "email", group: "pii" }],
      ["<EMAIL_2>", { value: "bob@example.com", kind: "email", group: "pii" }],
    ]);
  });

  it("numbers tokens per kind, in order of appearance", () => {
    const messages = [user("a@x.io pays with 4111 1111 1111 1111, then b@x.io")];
    const result = redactMessages(
      messages,
      [at(messages, "a@x.io"), at(messages, "4111 1111 1111 1111", { kind: "card" }), at(messages, "b@x.io")],
      KEY,
    );
    expect(result?.messages[0]?.content).toBe("<EMAIL_1> pays with <CARD_1>, then <EMAIL_2>");
  });

  it("leaves the caller's messages untouched", () => {
    const messages = [user("mail a@x.io")];
    redactMessages(messages, [at(messages, "a@x.io")], KEY);
    expect(messages[0]?.content).toBe("mail a@x.io");
  });

  describe("hash form", () => {
    const messages = [user("a@x.io and b@x.io and a@x.io")];
    const targets = (key: string) =>
      redactMessages(
        messages,
        [
          at(messages, "a@x.io", { form: "hash" }),
          at(messages, "b@x.io", { form: "hash" }),
          at(messages, "a@x.io", { form: "hash", from: 10 }),
        ],
        key,
      );

    it("writes the keyed HMAC's first 8 hex digits, the same for equal values", () => {
      const digest = createHmac("sha256", KEY).update("a@x.io").digest("hex").slice(0, 8);
      const content = targets(KEY)?.messages[0]?.content ?? "";
      expect(content).toMatch(/^<EMAIL_#[0-9a-f]{8}> and <EMAIL_#[0-9a-f]{8}> and <EMAIL_#[0-9a-f]{8}>$/);
      const [first, second, third] = content.split(" and ");
      expect(first).toBe(`<EMAIL_#${digest}>`);
      expect(third).toBe(first);
      expect(second).not.toBe(first);
    });

    it("is stable across calls with one key and differs with another", () => {
      expect(targets(KEY)?.messages[0]?.content).toBe(targets(KEY)?.messages[0]?.content);
      expect(targets(`${KEY}-other`)?.messages[0]?.content).not.toBe(targets(KEY)?.messages[0]?.content);
    });

    it("keeps the value in the vault, so the answer can have it back", () => {
      const result = targets(KEY);
      const token = result?.messages[0]?.content.split(" and ")[0] ?? "";
      expect(result?.vault.get(token)).toEqual({ value: "a@x.io", kind: "email", group: "pii" });
      expect(result?.vault.size).toBe(2);
    });
  });

  describe("mask form", () => {
    it("stars letters and digits but the last few (at most four, at most a third), keeping separators", () => {
      const messages = [user("card 4111-1111-1111-1234 and mail jon@x.io")];
      const result = redactMessages(
        messages,
        [
          at(messages, "4111-1111-1111-1234", { kind: "card", form: "mask" }),
          at(messages, "jon@x.io", { form: "mask" }),
        ],
        KEY,
      );
      expect(result?.messages[0]?.content).toBe("card ****-****-****-1234 and mail ***@*.io");
    });

    it("hides short values too (1.2.3.4 keeps one digit) and puts nothing in the vault", () => {
      const messages = [user("pin 12-3 at 1.2.3.4")];
      const result = redactMessages(
        messages,
        [
          at(messages, "12-3", { kind: "pin", form: "mask" }),
          at(messages, "1.2.3.4", { kind: "ip_address", form: "mask" }),
        ],
        KEY,
      );
      expect(result?.messages[0]?.content).toBe("pin **-3 at *.*.*.4");
      expect(result?.vault.size).toBe(0);
      expect(result?.count).toBe(2);
    });
  });

  describe("tool-call arguments", () => {
    const call = (args: string): ChatMessage[] => [
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "send", arguments: args }] },
    ];
    const field = "tool_calls[0].arguments";

    it("replaces a value written with JSON escapes and stays valid JSON; the vault holds the decoded value", () => {
      const messages = call('{"to":"a\\u0040b.com","cc":"x\\"y@b.com"}');
      const result = redactMessages(
        messages,
        [at(messages, "a\\u0040b.com", { field }), at(messages, 'x\\"y@b.com', { field })],
        KEY,
      );
      const args = result?.messages[0]?.toolCalls?.[0]?.arguments ?? "";
      expect(JSON.parse(args)).toEqual({ to: "<EMAIL_1>", cc: "<EMAIL_2>" });
      expect(result?.vault.get("<EMAIL_1>")?.value).toBe("a@b.com");
      expect(result?.vault.get("<EMAIL_2>")?.value).toBe('x"y@b.com');
    });

    it("gives the escaped and the plain spelling of one value the same token", () => {
      const messages: ChatMessage[] = [user("a@b.com"), ...call('{"to":"a\\u0040b.com"}')];
      const result = redactMessages(
        messages,
        [at(messages, "a@b.com"), at(messages, "a\\u0040b.com", { message: 1, field })],
        KEY,
      );
      expect(result?.messages[0]?.content).toBe("<EMAIL_1>");
      expect(result?.messages[1]?.toolCalls?.[0]?.arguments).toBe('{"to":"<EMAIL_1>"}');
      expect(result?.vault.size).toBe(1);
    });

    it("masks a value holding JSON escapes and still yields valid JSON", () => {
      const messages = call('{"address":"1 Main St\\nSpringfield"}');
      const result = redactMessages(
        messages,
        [at(messages, "1 Main St\\nSpringfield", { kind: "address", field, form: "mask" })],
        KEY,
      );
      const args = result?.messages[0]?.toolCalls?.[0]?.arguments ?? "";
      expect(JSON.parse(args)).toEqual({ address: "* **** **\n*******ield" });
    });

    it("keeps the other tool calls and their ids as they were", () => {
      const messages: ChatMessage[] = [
        {
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "c1", name: "lookup", arguments: '{"q":"weather"}' },
            { id: "c2", name: "send", arguments: '{"to":"a@b.com"}' },
          ],
        },
      ];
      const result = redactMessages(
        messages,
        [at(messages, "a@b.com", { field: "tool_calls[1].arguments" })],
        KEY,
      );
      expect(result?.messages[0]?.toolCalls).toEqual([
        { id: "c1", name: "lookup", arguments: '{"q":"weather"}' },
        { id: "c2", name: "send", arguments: '{"to":"<EMAIL_1>"}' },
      ]);
    });
  });

  describe("overlapping and adjacent entities", () => {
    it("replaces adjacent entities each with its own token", () => {
      const messages = [user("a@x.io4111111111111111")];
      const result = redactMessages(
        messages,
        [at(messages, "4111111111111111", { kind: "card" }), at(messages, "a@x.io")],
        KEY,
      );
      expect(result?.messages[0]?.content).toBe("<EMAIL_1><CARD_1>");
    });

    it("replaces the first of two overlapping entities once and counts only what it replaced", () => {
      const messages = [user("call +1 555 0100 1234 now")];
      const result = redactMessages(
        messages,
        [at(messages, "+1 555 0100", { kind: "phone" }), at(messages, "0100 1234", { kind: "card" })],
        KEY,
      );
      expect(result?.messages[0]?.content).toBe("call <PHONE_1> 1234 now");
      expect(result?.count).toBe(1);
      expect([...(result?.vault.keys() ?? [])]).toEqual(["<PHONE_1>"]);
    });
  });

  describe("what else goes to a provider", () => {
    it("replaces values in tool descriptions, tool schemas (which stay JSON) and stop sequences", () => {
      const key = "AKIAIOSFODNN7EXAMPLE";
      const tools = [
        {
          name: "deploy",
          description: `deploys with ${key}`,
          parameters: { type: "object", properties: { to: { type: "string", default: "ops@example.com" } } },
        },
      ];
      const schema = JSON.stringify(tools[0]?.parameters);
      const emailAt = schema.indexOf("ops@example.com");
      const targets: RedactTarget[] = [
        {
          entity: {
            kind: "aws_access_key_id",
            group: "secret",
            message: -1,
            field: "tools[0].description",
            start: 13,
            end: 33,
            score: 1,
          },
          form: "placeholder",
        },
        {
          entity: {
            kind: "email",
            group: "pii",
            message: -1,
            field: "tools[0].parameters",
            start: emailAt,
            end: emailAt + 15,
            score: 1,
          },
          form: "placeholder",
        },
        {
          entity: {
            kind: "aws_access_key_id",
            group: "secret",
            message: -1,
            field: "params.stop[0]",
            start: 0,
            end: 20,
            score: 1,
          },
          form: "placeholder",
        },
      ];
      const result = redact({ messages: [user("go")], tools, stop: [key] }, targets, KEY);
      expect(result?.tools[0]?.description).toBe("deploys with <AWS_ACCESS_KEY_ID_1>");
      expect(result?.tools[0]?.parameters).toEqual({
        type: "object",
        properties: { to: { type: "string", default: "<EMAIL_1>" } },
      });
      expect(result?.stop).toEqual(["<AWS_ACCESS_KEY_ID_1>"]);
      expect(result?.count).toBe(3);
    });
  });

  it("puts no secret in the vault: a secret's token is never restored into what a model writes", () => {
    const messages = [user("key AKIAIOSFODNN7EXAMPLE for ann@example.com")];
    const result = redactMessages(
      messages,
      [
        at(messages, "AKIAIOSFODNN7EXAMPLE", { kind: "aws_access_key_id", group: "secret" }),
        at(messages, "ann@example.com"),
      ],
      KEY,
    );
    expect(result?.messages[0]?.content).toBe("key <AWS_ACCESS_KEY_ID_1> for <EMAIL_1>");
    expect([...(result?.vault.keys() ?? [])]).toEqual(["<EMAIL_1>"]);
  });

  it("writes a token that replaces a JSON number as a string, so the arguments and the schema stay JSON", () => {
    const messages: ChatMessage[] = [
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "c1", name: "pay", arguments: '{"card": 4111111111111111}' }],
      },
    ];
    const result = redactMessages(
      messages,
      [at(messages, "4111111111111111", { kind: "card", field: "tool_calls[0].arguments" })],
      KEY,
    );
    expect(JSON.parse(result?.messages[0]?.toolCalls?.[0]?.arguments ?? "")).toEqual({ card: "<CARD_1>" });
  });
});
