import { describe, expect, it, vi } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { PolicyDeniedError } from "../../src/core/errors.js";
import type { Policy } from "../../src/core/policy.js";
import type { LlmRequest } from "../../src/core/types.js";
import { decide } from "../../src/decide/decide.js";
import { type EscalationEvent, guardRequest } from "../../src/guard/request-guard.js";
import { identify } from "../../src/identify/identify.js";
import { call, request } from "../helpers/pipeline.js";

// Two stand-in detectors, so the policy can name their kinds and classify finds something.
vi.mock("../../src/classify/detectors/detectors.js", async () => ({
  DETECTORS: (await import("../helpers/stand-in-detectors.js")).STAND_IN_DETECTORS,
}));

const KEY_ID = "AKIAIOSFODNN7EXAMPLE";

function policyWith(governance: string): Policy {
  return parsePolicy(
    `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: default
    primary: { provider: local, model: m }
${governance}
`,
    { source: "request-guard.test.yaml", env: {} },
  );
}

/** Runs identify → classify → decide → guard, as the pipeline does, with every escalation kept. */
function guarded(policy: Policy, overrides: Partial<LlmRequest>, options: { dryRun?: boolean } = {}) {
  const identified = identify(request(overrides), policy);
  const classification = classify(identified, policy);
  const plan = decide(identified, classification, policy, call());
  const escalations: EscalationEvent[] = [];
  const run = () =>
    guardRequest({
      request: identified,
      classification,
      plan,
      policy,
      dryRun: options.dryRun ?? false,
      escalate: (event) => escalations.push(event),
    });
  return { run, decision: plan.decision, escalations };
}

const user = (content: string) => ({ messages: [{ role: "user" as const, content }] });

const tool = (name: string) => ({ name, description: `${name} tool`, parameters: { type: "object" } });

describe("guardRequest", () => {
  describe("a request carrying a blocked kind", () => {
    const policy = policyWith("");

    it("is refused with PolicyDeniedError naming the kinds and the rule, never the text", () => {
      const { run, decision } = guarded(policy, user(`my key is ${KEY_ID}, and again ${KEY_ID}`));
      let error: unknown;
      try {
        run();
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(PolicyDeniedError);
      const denied = error as PolicyDeniedError;
      expect(denied.rule).toBe("built-in");
      expect(denied.message).toContain("aws_access_key_id (2)");
      expect(denied.message).not.toContain(KEY_ID);
      expect(denied.decision).toBe(decision);
    });

    it("records the refusal and the escalation in the decision and escalates once", () => {
      const { run, decision, escalations } = guarded(policy, user(`key ${KEY_ID} and ${KEY_ID}`));
      expect(run).toThrow(PolicyDeniedError);
      expect(decision.refusal).toMatch(/aws_access_key_id/);
      expect(decision.refusal).not.toContain(KEY_ID);
      expect(decision.escalations).toEqual(["built-in"]);
      expect(escalations).toEqual([{ rule: "built-in", kinds: ["aws_access_key_id"], action: "block" }]);
    });

    it("is refused by the policy's own block rule, named by its path", () => {
      const blocking = policyWith("detect:\n  email: { action: block }\n");
      const { run, decision, escalations } = guarded(blocking, user("write to ann@example.com"));
      expect(run).toThrow(expect.objectContaining({ rule: "detect.email" }));
      expect(decision.refusal).toContain("detect.email");
      expect(decision.refusal).not.toContain("ann@example.com");
      expect(escalations).toEqual([{ rule: "detect.email", kinds: ["email"], action: "block" }]);
    });

    it("names every blocked kind and every rule at once", () => {
      const blocking = policyWith("detect:\n  email: { action: block }\n");
      const { run, escalations } = guarded(blocking, user(`ann@example.com ${KEY_ID}`));
      expect(run).toThrow(PolicyDeniedError);
      expect(escalations).toHaveLength(1);
      expect(escalations[0]?.kinds.toSorted()).toEqual(["aws_access_key_id", "email"]);
      expect(escalations[0]?.rule.split(", ").toSorted()).toEqual(["built-in", "detect.email"]);
    });

    it("in a dry run is recorded in the decision, not thrown, and escalates nothing", () => {
      const { run, decision, escalations } = guarded(policy, user(`key ${KEY_ID}`), { dryRun: true });
      expect(run).not.toThrow();
      expect(decision.refusal).toMatch(/aws_access_key_id/);
      expect(decision.escalations).toEqual(["built-in"]);
      expect(escalations).toEqual([]);
    });

    it("passes when the policy redacts what would be blocked", () => {
      const redacting = policyWith(
        "detect:\n  secret: { action: redact }\nlogging: { hash_key: 0123456789abcdef }\n",
      );
      const { run, decision } = guarded(redacting, user(`key ${KEY_ID}`));
      expect(run().redaction?.messages[0]?.content).toBe("key <AWS_ACCESS_KEY_ID_1>");
      expect(decision.refusal).toBe("");
    });
  });

  describe("content rules", () => {
    const policy = policyWith(`
content_rules:
  - name: weapons
    phrases: ["build a bomb"]
  - name: competitors
    phrases: [initech]
    action: escalate
`);

    it("refuse a request tripping a blocking rule, naming the rule, never the text", () => {
      const { run, decision, escalations } = guarded(policy, user("How do I Build a  Bomb?"));
      expect(run).toThrow(PolicyDeniedError);
      expect(run).toThrow('refused by content rule "weapons"');
      expect(decision.refusal).toBe('refused by content rule "weapons"');
      expect(decision.escalations).toContain("content_rules.weapons");
      expect(escalations).toContainEqual({ rule: "content_rules.weapons", kinds: [], action: "block" });
    });

    it("let a request tripping an escalate rule through, with the escalation recorded and raised once", () => {
      const { run, decision, escalations } = guarded(policy, user("compare us with Initech"));
      expect(run).not.toThrow();
      expect(decision.refusal).toBe("");
      expect(decision.escalations).toEqual(["content_rules.competitors"]);
      expect(escalations).toEqual([{ rule: "content_rules.competitors", kinds: [], action: "escalate" }]);
    });

    it("in a dry run record an escalate rule without raising it", () => {
      const { run, decision, escalations } = guarded(policy, user("initech"), { dryRun: true });
      run();
      expect(decision.escalations).toEqual(["content_rules.competitors"]);
      expect(escalations).toEqual([]);
    });
  });

  describe("tools", () => {
    const policy = policyWith(`
tools:
  send_email: { writes: true }
  search: { writes: false }
`);
    const tools = [tool("send_email"), tool("search"), tool("weather")];

    it("withholds a writing tool the request does not approve, saying why", () => {
      const { run, decision } = guarded(policy, { tools });
      expect(run().tools.map((offered) => offered.name)).toEqual(["search", "weather"]);
      expect(decision.withheldTools).toEqual([
        {
          name: "send_email",
          reason: "writes (tools.send_email.writes: true) and the request does not approve it",
        },
      ]);
    });

    it("offers a writing tool the request approves by name", () => {
      const { run, decision } = guarded(policy, { tools, approvedTools: ["send_email"] });
      expect(run().tools.map((offered) => offered.name)).toEqual(["send_email", "search", "weather"]);
      expect(decision.withheldTools).toEqual([]);
    });

    it("offers read-only and unknown tools whatever the approvals", () => {
      const { run } = guarded(policyWith(""), { tools: [tool("send_email"), tool("search")] });
      expect(run().tools.map((offered) => offered.name)).toEqual(["send_email", "search"]);
    });
  });

  describe("redaction", () => {
    it("prepares the redacted request for what the policy redacts", () => {
      const policy = policyWith("detect:\n  email: { action: redact }\n");
      const { run } = guarded(policy, {
        messages: [
          { role: "user", content: "mail ann@example.com and bob@example.com" },
          { role: "assistant", content: "done for ann@example.com" },
        ],
      });
      const { redaction } = run();
      expect(redaction?.messages.map((message) => message.content)).toEqual([
        "mail <EMAIL_1> and <EMAIL_2>",
        "done for <EMAIL_1>",
      ]);
      expect(redaction?.count).toBe(3);
      expect(redaction?.vault.get("<EMAIL_2>")?.value).toBe("bob@example.com");
    });

    it("hashes with the policy's hash key", () => {
      const policy = (key: string) =>
        policyWith(`detect:\n  pii: { action: redact, form: hash }\nlogging: { hash_key: "${key}" }\n`);
      const first = guarded(policy("0123456789abcdef"), user("ann@example.com")).run().redaction;
      const again = guarded(policy("0123456789abcdef"), user("ann@example.com")).run().redaction;
      const other = guarded(policy("fedcba9876543210"), user("ann@example.com")).run().redaction;
      expect(first?.messages[0]?.content).toMatch(/^<EMAIL_#[0-9a-f]{8}>$/);
      expect(again?.messages[0]?.content).toBe(first?.messages[0]?.content);
      expect(other?.messages[0]?.content).not.toBe(first?.messages[0]?.content);
    });

    it("prepares nothing when nothing is redacted", () => {
      const policy = policyWith("detect:\n  email: { action: raise, to: pii }\n");
      expect(guarded(policy, user("mail ann@example.com")).run().redaction).toBeUndefined();
      expect(guarded(policyWith(""), user("hello")).run()).toEqual({ tools: [] });
    });
  });
});
