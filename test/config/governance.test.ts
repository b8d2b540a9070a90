import { describe, expect, it } from "vitest";
import { PolicyError, parsePolicy } from "../../src/config/load-policy.js";
import type { Policy } from "../../src/core/policy.js";

const BASE = `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: default
    primary: { provider: local, model: m }
`;

const HASH_KEY = "0123456789abcdef";

function parsed(governance: string): Policy {
  return parsePolicy(`${BASE}${governance}`, { source: "governance.test.yaml", env: {} });
}

/** Every issue the policy is refused with, as `path: message`. */
function issuesOf(governance: string): string[] {
  try {
    parsed(governance);
  } catch (error) {
    if (error instanceof PolicyError)
      return error.issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    throw error;
  }
  throw new Error("expected the policy to be refused");
}

describe("governance blocks of a policy", () => {
  describe("defaults", () => {
    it("apply when the file has no governance blocks", () => {
      const policy = parsed("");
      expect(policy.detection.rules.size).toBe(0);
      expect(policy.contentRules).toEqual([]);
      expect(policy.escalation).toEqual({ timeoutMs: 2000 });
      expect(policy.tools.size).toBe(0);
      expect(policy.defaults.inferTask).toBe(true);
      expect(policy.logging.evalSink).toEqual({ kind: "discard" });
    });
  });

  describe("detect", () => {
    it("compiles each rule with where it came from", () => {
      const policy = parsed(`
detect:
  pii: { action: redact }
  secret: { action: raise, to: secret }
`);
      expect(policy.detection.rules.get("pii")).toEqual({
        action: "redact",
        form: "placeholder",
        source: "detect.pii",
      });
      expect(policy.detection.rules.get("secret")).toEqual({
        action: "raise",
        to: "secret",
        source: "detect.secret",
      });
    });

    it("refuses an unknown kind with a did-you-mean and the known kinds", () => {
      const [issue, ...rest] = issuesOf("detect:\n  secrets: { action: block }\n");
      expect(rest).toEqual([]);
      expect(issue).toMatch(
        /^detect\.secrets: unknown kind \(did you mean "secret"\? known: pii, secret(, \w+)*\)$/,
      );
    });

    it("refuses an unknown action, naming the ones there are", () => {
      expect(issuesOf("detect:\n  pii: { action: drop }\n")).toEqual([
        expect.stringMatching(/^detect\.pii(\.action)?: .*"block", "raise", "redact", "allow"/),
      ]);
    });

    it("refuses to allow secrets out", () => {
      expect(issuesOf("detect:\n  secret: { action: allow }\n")).toEqual([
        "detect.secret.action: a secret may not be allowed out: block, redact, or raise to a class that may not leave",
      ]);
    });

    it("refuses to raise secrets to a class that may leave, and accepts one that may not", () => {
      expect(issuesOf("detect:\n  secret: { action: raise, to: public }\n")).toEqual([
        'detect.secret.to: a secret may only be raised to a class that may not leave the boundary; "public" may',
      ]);
      expect(
        parsed("detect:\n  secret: { action: raise, to: secret }\n").detection.rules.get("secret"),
      ).toMatchObject({ action: "raise", to: "secret" });
    });

    it("refuses to raise to a class the policy does not declare", () => {
      expect(issuesOf("detect:\n  pii: { action: raise, to: topsecret }\n")).toEqual([
        'detect.pii.to: unknown data class "topsecret" (declared: public, customer_ok, internal, pii, regulated, secret)',
      ]);
    });

    it("refuses to mask a secret (a mask keeps part of it) but lets personal data be masked", () => {
      expect(issuesOf("detect:\n  secret: { action: redact, form: mask }\n")).toEqual([
        "detect.secret.form: a secret is redacted with a placeholder or a hash, not a mask (a mask keeps part of it)",
      ]);
      expect(
        parsed("detect:\n  pii: { action: redact, form: mask }\n").detection.rules.get("pii"),
      ).toMatchObject({
        form: "mask",
      });
    });

    it("suggests the detector kind a typo was meant to be", () => {
      expect(issuesOf("detect:\n  emial: { action: block }\n")).toEqual([
        expect.stringMatching(
          /^detect\.emial: unknown kind \(did you mean "email"\? known: pii, secret, .*\bemail\b/,
        ),
      ]);
    });

    it("holds a secret detector's kind to the secret group's limits", () => {
      expect(issuesOf("detect:\n  aws_access_key_id: { action: allow }\n")).toEqual([
        expect.stringMatching(/^detect\.aws_access_key_id\.action: a secret may not be allowed out/),
      ]);
      expect(issuesOf("detect:\n  private_key: { action: raise, to: customer_ok }\n")).toEqual([
        expect.stringMatching(
          /^detect\.private_key\.to: a secret may only be raised to a class that may not leave/,
        ),
      ]);
      expect(issuesOf("detect:\n  password: { action: redact, form: mask }\n")).toEqual([
        expect.stringMatching(/^detect\.password\.form: a secret is redacted with a placeholder or a hash/),
      ]);
    });

    it("lets a personal-data kind have any rule of its own", () => {
      const policy = parsed(`
detect:
  email: { action: redact, form: mask }
  card: { action: allow }
  ssn: { action: raise, to: regulated }
`);
      expect(policy.detection.rules.get("email")).toMatchObject({
        action: "redact",
        form: "mask",
        source: "detect.email",
      });
      expect(policy.detection.rules.get("card")).toMatchObject({ action: "allow" });
      expect(policy.detection.rules.get("ssn")).toMatchObject({ action: "raise", to: "regulated" });
    });

    it("needs a hash key to redact with a hash", () => {
      expect(issuesOf("detect:\n  pii: { action: redact, form: hash }\n")).toEqual([
        expect.stringMatching(
          /^logging\.hash_key: required when store_prompts is "hashed" or a detect rule redacts/,
        ),
      ]);
      expect(
        parsed(`detect:\n  pii: { action: redact, form: hash }\nlogging: { hash_key: ${HASH_KEY} }\n`).logging
          .hashKey,
      ).toBe(HASH_KEY);
    });
  });

  describe("content_rules", () => {
    it("compiles phrases and RE2 patterns, block by default", () => {
      const [rule] = parsed(`
content_rules:
  - name: weapons
    phrases: ["Build A  Bomb"]
    patterns: ['nerve\\s+agent']
`).contentRules;
      expect(rule).toMatchObject({ name: "weapons", phrases: ["build a bomb"], action: "block" });
      expect(rule?.patterns.map((pattern) => pattern.source)).toEqual(["nerve\\s+agent"]);
      expect(rule?.patterns[0]?.test("NERVE   AGENT")).toBe(true);
    });

    it("refuses a pattern RE2 cannot compile, naming content_rules[N].patterns[M]", () => {
      const issues = issuesOf(`
content_rules:
  - name: fine
    phrases: [x]
  - name: broken
    patterns: ['ok', '(unclosed', 'a(?=b)']
`);
      expect(issues).toEqual([
        expect.stringMatching(/^content_rules\[1\]\.patterns\[1\]: not a valid RE2 pattern \(.+\)$/),
        expect.stringMatching(/^content_rules\[1\]\.patterns\[2\]: not a valid RE2 pattern \(.+\)$/),
      ]);
    });

    it("refuses a rule with neither phrases nor patterns", () => {
      expect(issuesOf("content_rules:\n  - name: empty\n")).toEqual([
        "content_rules[0]: must list at least one phrase or pattern",
      ]);
      expect(issuesOf("content_rules:\n  - name: empty\n    phrases: []\n    patterns: []\n")).toEqual([
        "content_rules[0]: must list at least one phrase or pattern",
      ]);
    });

    it("refuses a blank phrase", () => {
      expect(issuesOf("content_rules:\n  - name: blank\n    phrases: ['  ']\n")).toEqual([
        expect.stringMatching(/^content_rules\[0\]\.phrases\[0\]: /),
      ]);
    });

    it("refuses two rules with one name", () => {
      expect(
        issuesOf(`
content_rules:
  - name: dup
    phrases: [a]
  - name: other
    phrases: [b]
  - name: dup
    phrases: [c]
`),
      ).toEqual(['content_rules[2].name: duplicate rule name "dup"']);
    });

    it("refuses an action other than block or escalate", () => {
      expect(issuesOf("content_rules:\n  - name: r\n    phrases: [a]\n    action: redact\n")).toEqual([
        expect.stringMatching(/^content_rules\[0\]\.action: /),
      ]);
    });

    it("refuses content_rules that is not a list", () => {
      expect(issuesOf("content_rules:\n  name: r\n")).toEqual(["content_rules: must be a list of rules"]);
    });
  });

  describe("escalation", () => {
    it("takes an http(s) webhook and a timeout", () => {
      expect(
        parsed("escalation: { webhook: 'https://hooks.example.com/x', timeout_ms: 500 }\n").escalation,
      ).toEqual({
        webhookUrl: "https://hooks.example.com/x",
        timeoutMs: 500,
      });
    });

    it("refuses a webhook that is not http or https", () => {
      expect(issuesOf("escalation: { webhook: 'ftp://hooks.example.com/x' }\n")).toEqual([
        "escalation.webhook: must be an http or https URL",
      ]);
    });
  });

  describe("tools", () => {
    it("marks writing tools; a tool written without keys reads only", () => {
      const policy = parsed("tools:\n  send_email: { writes: true }\n  search: {}\n");
      expect(policy.tools.get("send_email")).toEqual({ name: "send_email", writes: true });
      expect(policy.tools.get("search")).toEqual({ name: "search", writes: false });
    });

    it("refuses an unknown key in a tool", () => {
      expect(issuesOf("tools:\n  send_email: { write: true }\n")).toEqual([
        expect.stringMatching(/^tools\.send_email\.write: unknown key/),
      ]);
    });
  });

  describe("logging", () => {
    it("needs a hash key to store hashed prompts", () => {
      expect(issuesOf("logging: { store_prompts: hashed }\n")).toEqual([
        expect.stringMatching(/^logging\.hash_key: required when store_prompts is "hashed"/),
      ]);
      expect(parsed(`logging: { store_prompts: hashed, hash_key: ${HASH_KEY} }\n`).logging).toMatchObject({
        storePrompts: "hashed",
        hashKey: HASH_KEY,
      });
    });

    it("refuses a hash key shorter than 16 characters", () => {
      expect(issuesOf("logging: { store_prompts: hashed, hash_key: short }\n")).toEqual([
        "logging.hash_key: must be at least 16 characters (it keys an HMAC)",
      ]);
    });

    it("takes a hash key from the environment", () => {
      const policy = parsePolicy(
        `${BASE}logging: { store_prompts: hashed, hash_key: "\${LOG_HASH_KEY}" }\n`,
        {
          source: "governance.test.yaml",
          env: { LOG_HASH_KEY: HASH_KEY },
        },
      );
      expect(policy.logging.hashKey).toBe(HASH_KEY);
    });

    it("takes the eval sink as stdout, discard or a file", () => {
      expect(parsed("logging: { eval_sink: stdout }\n").logging.evalSink).toEqual({ kind: "stdout" });
      expect(parsed("logging: { eval_sink: discard }\n").logging.evalSink).toEqual({ kind: "discard" });
      expect(parsed("logging: { eval_sink: { file: /var/log/eval.jsonl } }\n").logging.evalSink).toEqual({
        kind: "file",
        path: "/var/log/eval.jsonl",
      });
    });

    it("refuses any other eval sink", () => {
      expect(issuesOf("logging: { eval_sink: eval.jsonl }\n")).toEqual([
        'logging.eval_sink: must be "stdout", "discard" or { file: <path> }',
      ]);
      expect(issuesOf("logging: { eval_sink: { file: '' } }\n")).toEqual([
        expect.stringMatching(/^logging\.eval_sink/),
      ]);
    });
  });

  it("reports every error at once, each with its path, in file order", () => {
    const issues = issuesOf(`
detect:
  secret: { action: allow }
  emial: { action: block }
  pii: { action: raise, to: nowhere }
content_rules:
  - name: a
  - name: b
    patterns: ['(']
  - name: b
    phrases: [x]
escalation: { webhook: 'mailto:x@example.com' }
logging: { store_prompts: hashed }
`);
    expect(issues).toEqual([
      "detect.secret.action: a secret may not be allowed out: block, redact, or raise to a class that may not leave",
      expect.stringMatching(/^detect\.emial: unknown kind/),
      expect.stringMatching(/^detect\.pii\.to: unknown data class "nowhere"/),
      "content_rules[0]: must list at least one phrase or pattern",
      expect.stringMatching(/^content_rules\[1\]\.patterns\[0\]: not a valid RE2 pattern/),
      'content_rules[2].name: duplicate rule name "b"',
      "escalation.webhook: must be an http or https URL",
      expect.stringMatching(/^logging\.hash_key: required/),
    ]);
  });
});
