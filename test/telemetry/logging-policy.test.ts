import { createHmac } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import type { LoggingPolicy } from "../../src/core/policy.js";
import type { ChatMessage, Entity } from "../../src/core/types.js";
import { loggableText } from "../../src/telemetry/logging-policy.js";

// The answer is scanned where it is logged: two stand-in detectors find something in it.
vi.mock("../../src/classify/detectors/detectors.js", async () => ({
  DETECTORS: (await import("../helpers/stand-in-detectors.js")).STAND_IN_DETECTORS,
}));

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const HASH_KEY = "0123456789abcdef";

function policy(overrides: Partial<LoggingPolicy>): LoggingPolicy {
  return {
    storePrompts: "none",
    storeOutputs: false,
    storeToolArgs: "denylist_secrets",
    hashKey: HASH_KEY,
    evalSink: { kind: "discard" },
    ...overrides,
  };
}

/** An entity over the first `value` in a field of a message. */
function entity(
  messages: readonly ChatMessage[],
  value: string,
  kind: string,
  group: Entity["group"],
  message = 0,
  field = "content",
): Entity {
  const source = messages[message] as ChatMessage;
  const text = field === "content" ? source.content : (source.toolCalls?.[0]?.arguments ?? "");
  const start = text.indexOf(value);
  if (start < 0) throw new Error(`"${value}" not found`);
  return { kind, group, message, field, start, end: start + value.length, score: 1 };
}

const MESSAGES: ChatMessage[] = [
  { role: "system", content: "You help ann@example.com." },
  { role: "user", content: `Use key ${KEY_ID} to mail ann@example.com` },
];
const ENTITIES = [
  entity(MESSAGES, "ann@example.com", "email", "pii", 0),
  entity(MESSAGES, KEY_ID, "aws_access_key_id", "secret", 1),
  entity(MESSAGES, "ann@example.com", "email", "pii", 1),
];

const ANSWER: ChatMessage = { role: "assistant", content: `Mailed bob@example.com with ${KEY_ID}.` };

describe("loggableText", () => {
  describe("prompts", () => {
    it("none: keeps nothing", () => {
      expect(
        loggableText(policy({ storePrompts: "none" }), { messages: MESSAGES, entities: ENTITIES }),
      ).toEqual({});
    });

    it("full: keeps the text with secrets masked only", () => {
      const text = loggableText(policy({ storePrompts: "full" }), { messages: MESSAGES, entities: ENTITIES });
      expect(text.prompt).toEqual([
        { role: "system", content: "You help ann@example.com." },
        { role: "user", content: "Use key [REDACTED:aws_access_key_id] to mail ann@example.com" },
      ]);
    });

    it("redacted: masks every finding", () => {
      const text = loggableText(policy({ storePrompts: "redacted" }), {
        messages: MESSAGES,
        entities: ENTITIES,
      });
      expect(text.prompt).toEqual([
        { role: "system", content: "You help [REDACTED:email]." },
        { role: "user", content: "Use key [REDACTED:aws_access_key_id] to mail [REDACTED:email]" },
      ]);
    });

    describe("hashed", () => {
      const hashed = (messages: ChatMessage[], key = HASH_KEY) =>
        loggableText(policy({ storePrompts: "hashed", hashKey: key }), { messages, entities: [] }).prompt;

      it("keeps a keyed HMAC-SHA256 of each message and no text", () => {
        const prompt = hashed(MESSAGES);
        expect(prompt).toHaveLength(2);
        for (const message of prompt ?? []) {
          expect(message.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
          expect(message.content).toBeUndefined();
          expect(message.toolCalls).toBeUndefined();
        }
        const expected = createHmac("sha256", HASH_KEY)
          .update(MESSAGES[1]?.content ?? "")
          .digest("hex");
        expect(prompt?.[1]).toEqual({ role: "user", hash: `hmac-sha256:${expected}` });
      });

      it("gives equal prompts equal hashes, and different prompts or keys different ones", () => {
        const same = hashed([{ role: "user", content: "hello" }]);
        expect(hashed([{ role: "user", content: "hello" }])).toEqual(same);
        expect(hashed([{ role: "user", content: "hello!" }])).not.toEqual(same);
        expect(hashed([{ role: "user", content: "hello" }], "another-key-of-16")).not.toEqual(same);
      });

      it("covers tool calls in the hash", () => {
        const withArgs = (args: string): ChatMessage[] => [
          { role: "assistant", content: "", toolCalls: [{ id: "c", name: "send", arguments: args }] },
        ];
        expect(hashed(withArgs('{"a":1}'))).not.toEqual(hashed(withArgs('{"a":2}')));
      });
    });
  });

  describe("outputs", () => {
    it("mask the values redaction put back, by what they are, even where no detector would see them", () => {
      const answer: ChatMessage = {
        role: "assistant",
        content: "Born 02/03/1984, as you said.",
        toolCalls: [{ id: "c1", name: "save", arguments: '{"dob":"02/03/1984"}' }],
      };
      const restored = [{ value: "02/03/1984", kind: "date_of_birth", group: "pii" as const }];
      const redacted = loggableText(
        policy({ storePrompts: "redacted", storeOutputs: true, storeToolArgs: "full" }),
        {
          messages: [],
          entities: [],
          answer,
          restored,
        },
      );
      expect(redacted.output).toEqual({
        role: "assistant",
        content: "Born [REDACTED:date_of_birth], as you said.",
        toolCalls: [{ name: "save", arguments: '{"dob":"[REDACTED:date_of_birth]"}' }],
      });
      const full = loggableText(policy({ storePrompts: "full", storeOutputs: true }), {
        messages: [],
        entities: [],
        answer,
        restored,
      });
      expect(full.output?.content).toBe("Born 02/03/1984, as you said.");
    });

    it("are not stored unless store_outputs is set", () => {
      const text = loggableText(policy({ storePrompts: "full" }), {
        messages: MESSAGES,
        entities: ENTITIES,
        answer: ANSWER,
      });
      expect(text.output).toBeUndefined();
    });

    it("are stored in the prompts' form", () => {
      const full = loggableText(policy({ storePrompts: "full", storeOutputs: true }), {
        messages: MESSAGES,
        entities: ENTITIES,
        answer: ANSWER,
      });
      expect(full.output).toEqual({
        role: "assistant",
        content: "Mailed bob@example.com with [REDACTED:aws_access_key_id].",
      });
      const hashed = loggableText(policy({ storePrompts: "hashed", storeOutputs: true }), {
        messages: MESSAGES,
        entities: ENTITIES,
        answer: ANSWER,
      });
      expect(hashed.output?.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(hashed.output?.content).toBeUndefined();
    });

    it("are stored redacted when prompts are not stored", () => {
      const text = loggableText(policy({ storePrompts: "none", storeOutputs: true }), {
        messages: MESSAGES,
        entities: ENTITIES,
        answer: ANSWER,
      });
      expect(text.prompt).toBeUndefined();
      expect(text.output).toEqual({
        role: "assistant",
        content: "Mailed [REDACTED:email] with [REDACTED:aws_access_key_id].",
      });
    });

    it("have their tool-call arguments scanned too", () => {
      const answer: ChatMessage = {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "c1", name: "lookup", arguments: '{"q":"weather"}' },
          { id: "c2", name: "send", arguments: `{"to":"bob@example.com","key":"${KEY_ID}"}` },
        ],
      };
      const text = loggableText(
        policy({ storePrompts: "redacted", storeOutputs: true, storeToolArgs: "full" }),
        {
          messages: MESSAGES,
          entities: ENTITIES,
          answer,
        },
      );
      expect(text.output?.toolCalls).toEqual([
        { name: "lookup", arguments: '{"q":"weather"}' },
        { name: "send", arguments: '{"to":"[REDACTED:email]","key":"[REDACTED:aws_access_key_id]"}' },
      ]);
    });
  });

  describe("tool arguments", () => {
    const args = JSON.stringify({
      to: "bob@example.com",
      password: "hunter2",
      nested: { api_key: "k-123", apiKey: "k-456", list: [{ token: "t-1", count: 3 }] },
      note: "keep me",
    });
    const messages: ChatMessage[] = [
      { role: "user", content: "send it" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "send", arguments: args }] },
    ];
    const entities = [entity(messages, "bob@example.com", "email", "pii", 1, "tool_calls[0].arguments")];
    const logged = (
      storeToolArgs: LoggingPolicy["storeToolArgs"],
      storePrompts: LoggingPolicy["storePrompts"],
    ) => loggableText(policy({ storePrompts, storeToolArgs }), { messages, entities }).prompt?.[1]?.toolCalls;

    it("none: keeps the tool's name only", () => {
      expect(logged("none", "full")).toEqual([{ name: "send" }]);
    });

    it("full: keeps the arguments in the prompts' form", () => {
      expect(logged("full", "full")).toEqual([{ name: "send", arguments: args }]);
      expect(JSON.parse(logged("full", "redacted")?.[0]?.arguments ?? "")).toMatchObject({
        to: "[REDACTED:email]",
        password: "hunter2",
      });
    });

    it("denylist_secrets: blanks the values of keys named like secrets, however deep", () => {
      expect(JSON.parse(logged("denylist_secrets", "full")?.[0]?.arguments ?? "")).toEqual({
        to: "bob@example.com",
        password: "[REDACTED]",
        nested: { api_key: "[REDACTED]", apiKey: "[REDACTED]", list: [{ token: "[REDACTED]", count: 3 }] },
        note: "keep me",
      });
    });

    it("denylist_secrets: reads keys word by word, so author, max_tokens and session_id stay", () => {
      const keyed: ChatMessage[] = [
        {
          role: "assistant",
          content: "",
          toolCalls: [
            {
              id: "c1",
              name: "call",
              arguments: JSON.stringify({
                author: "ann",
                max_tokens: 5,
                session_id: "s1",
                token_count: 2,
                dbPassword: "p",
                "x-api-key": "k",
                AUTH_TOKEN: "t",
                privateKey: "pk",
              }),
            },
          ],
        },
      ];
      const text = loggableText(policy({ storePrompts: "full", storeToolArgs: "denylist_secrets" }), {
        messages: keyed,
        entities: [],
      });
      expect(JSON.parse(text.prompt?.[0]?.toolCalls?.[0]?.arguments ?? "")).toEqual({
        author: "ann",
        max_tokens: 5,
        session_id: "s1",
        token_count: "[REDACTED]",
        dbPassword: "[REDACTED]",
        "x-api-key": "[REDACTED]",
        AUTH_TOKEN: "[REDACTED]",
        privateKey: "[REDACTED]",
      });
    });

    it("denylist_secrets: leaves arguments that are not JSON as they are", () => {
      const raw: ChatMessage[] = [
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "c1", name: "run", arguments: "password=hunter2" }],
        },
      ];
      const text = loggableText(policy({ storePrompts: "full" }), { messages: raw, entities: [] });
      expect(text.prompt?.[0]?.toolCalls).toEqual([{ name: "run", arguments: "password=hunter2" }]);
    });
  });
});
