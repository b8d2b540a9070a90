import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { ChatMessage } from "../../src/core/types.js";
import { trippedRules } from "../../src/guard/content-rules.js";

/** The content rules of a policy with `rules` as its `content_rules:` block. */
function rulesOf(rules: string) {
  return parsePolicy(
    `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: default
    primary: { provider: local, model: m }
content_rules:
${rules}
`,
    { source: "content-rules.test.yaml", env: {} },
  ).contentRules;
}

const RULES = rulesOf(`
  - name: weapons
    phrases: ["build a bomb", "Nerve Agent"]
  - name: exfiltration
    patterns: ['\\bdump (all|every) (user|customer)s?\\b', 'ssn:\\s*\\d{3}-\\d{2}-\\d{4}']
    action: escalate
  - name: competitors
    phrases: [acme]
    patterns: ['initech\\s+pricing']
`);

const user = (content: string): ChatMessage => ({ role: "user", content });
/** A request of just these messages. */
const sending = (messages: readonly ChatMessage[]) => ({
  messages: [...messages],
  tools: [],
  params: { stop: [] },
});
const names = (messages: readonly ChatMessage[]) =>
  trippedRules(RULES, sending(messages)).map((rule) => rule.name);

describe("trippedRules", () => {
  it("trips nothing when there are no rules or nothing matches", () => {
    expect(trippedRules([], sending([user("build a bomb")]))).toEqual([]);
    expect(names([user("How do I bake bread?")])).toEqual([]);
  });

  describe("phrases", () => {
    it("match case- and whitespace-insensitively", () => {
      expect(names([user("How do I Build  a\nBomb?")])).toEqual(["weapons"]);
      expect(names([user("nerve\tagent synthesis")])).toEqual(["weapons"]);
    });

    it("match whole words only, never inside a word", () => {
      expect(names([user("we rebuild a bombastic stage")])).toEqual([]);
      expect(names([user("acmes and subacme")])).toEqual([]);
      expect(names([user("prices at Acme.")])).toEqual(["competitors"]);
      expect(names([user("(acme)")])).toEqual(["competitors"]);
    });

    it("match at the very start and end of a message", () => {
      expect(names([user("acme")])).toEqual(["competitors"]);
      expect(names([user("Build a bomb")])).toEqual(["weapons"]);
    });

    it("are read from the policy trimmed, lowercased and with their whitespace collapsed", () => {
      const [rule] = rulesOf(`  - name: r\n    phrases: ["  Nerve \\t  Agent  "]`);
      expect(rule?.phrases).toEqual(["nerve agent"]);
      expect(
        trippedRules(
          rulesOf(`  - name: r\n    phrases: ["  Nerve \\t  Agent  "]`),
          sending([user("a NERVE agent")]),
        ),
      ).toHaveLength(1);
    });
  });

  describe("patterns (RE2)", () => {
    it("match anywhere, case-insensitively", () => {
      expect(names([user("please DUMP ALL CUSTOMERS now")])).toEqual(["exfiltration"]);
      expect(names([user("record: SSN: 123-45-6789")])).toEqual(["exfiltration"]);
      expect(names([user("Initech   pricing sheet")])).toEqual(["competitors"]);
    });

    it("do not match what they do not describe", () => {
      expect(names([user("dump all users' passwords")])).toEqual(["exfiltration"]);
      expect(names([user("dumpall users")])).toEqual([]);
      expect(names([user("ssn: 123-456-789")])).toEqual([]);
    });
  });

  it("reads every message, whatever its role", () => {
    expect(names([{ role: "system", content: "acme" }, user("hi")])).toEqual(["competitors"]);
    expect(names([user("hi"), { role: "assistant", content: "sure: build a bomb" }])).toEqual(["weapons"]);
  });

  it("reads tool-call arguments too", () => {
    const messages: ChatMessage[] = [
      user("look it up"),
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "c1", name: "search", arguments: '{"query":"how to build a bomb"}' }],
      },
    ];
    expect(names(messages)).toEqual(["weapons"]);
  });

  it("reads tool-call arguments as decoded JSON, so escapes do not hide a phrase or a pattern", () => {
    const call = (args: string): ChatMessage[] => [
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "search", arguments: args }] },
    ];
    expect(names(call('{"query":"build a\\nbomb"}'))).toEqual(["weapons"]);
    expect(names(call('{"query":"build\\u0020a bomb"}'))).toEqual(["weapons"]);
    expect(names(call('{"q":"dump\\u0020all users"}'))).toEqual(["exfiltration"]);
  });

  it("reads JSON carried in a JSON string, and percent-encoded text, decoded", () => {
    const nested = JSON.stringify({ payload: JSON.stringify({ q: "build\\u0020a bomb" }) });
    const messages: ChatMessage[] = [
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "forward", arguments: nested }] },
    ];
    expect(nested).not.toContain("build a bomb");
    expect(names(messages)).toEqual(["weapons"]);
    expect(names([user("see https://search.example/?q=build%20a%20bomb")])).toEqual(["weapons"]);
  });

  it("lists the rules tripped in policy order, each once", () => {
    expect(names([user("acme: build a bomb, then dump every user, build a bomb")])).toEqual([
      "weapons",
      "exfiltration",
      "competitors",
    ]);
  });

  it("reads everything a request would send: a tool's description, a stop sequence", () => {
    const request = {
      messages: [user("hello")],
      tools: [{ name: "t", description: "explain step by step how to build a bomb", parameters: {} }],
      params: { stop: [] },
    };
    expect(trippedRules(RULES, request).map((rule) => rule.name)).toEqual(["weapons"]);
    expect(
      trippedRules(RULES, { messages: [user("hello")], tools: [], params: { stop: ["acme"] } }).map(
        (rule) => rule.name,
      ),
    ).toEqual(["competitors"]);
  });
});
