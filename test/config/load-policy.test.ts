import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { loadPolicyFile, PolicyError, parsePolicy } from "../../src/config/load-policy.js";

const SEED = new URL("../fixtures/policies/seed.yaml", import.meta.url).pathname;
const SHIPPED = new URL("../../config/switchyard.yaml", import.meta.url).pathname;

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parsePolicy(text, { source: "test.yaml", env });
  } catch (error) {
    if (error instanceof PolicyError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error("expected the policy to be refused");
}

const PROVIDERS = `
providers:
  openai:
    kind: openai-compatible
    base_url: https://api.openai.com/v1
    api_key: \${OPENAI_API_KEY}
    hosted: true
    models:
      gpt-4.1: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 }
  local:
    kind: mock
    hosted: false
`;

describe("loadPolicyFile", () => {
  it("accepts the policy shape operators already write, with only providers added", async () => {
    const policy = await loadPolicyFile(SEED, { OPENAI_API_KEY: "sk-test" });
    expect(policy.routes.map((route) => route.name)).toEqual(["interactive_assistant", "pii_sensitive"]);
    const [assistant, pii] = policy.routes;
    expect(assistant?.targets.map((target) => `${target.role}=${target.provider}/${target.model}`)).toEqual([
      "primary=openai/gpt-4.1",
      "fallback[0]=anthropic/claude",
      "fallback[1]=google/gemini",
    ]);
    expect(assistant?.budgets).toEqual({ maxLatencyMs: 2500, maxTokens: "bounded" });
    expect(pii?.targets[0]).toMatchObject({ provider: "self_hosted", model: "llama" });
    expect(policy.logging).toEqual({
      storePrompts: "redacted",
      storeOutputs: true,
      storeToolArgs: "denylist_secrets",
    });
  });

  it("leaves out a provider whose key is not set and reports it, instead of failing", async () => {
    const policy = await loadPolicyFile(SEED, { OPENAI_API_KEY: "sk-test" });
    expect(policy.providers.get("openai")?.disabledReason).toBeUndefined();
    expect(policy.providers.get("openai")?.settings).toMatchObject({ api_key: "sk-test" });
    expect(policy.providers.get("anthropic")?.disabledReason).toBe("ANTHROPIC_API_KEY is not set");
    expect(policy.warnings).toContain('provider "anthropic" left out: ANTHROPIC_API_KEY is not set');
  });

  it("loads the shipped default with no keys at all", async () => {
    const policy = await loadPolicyFile(SHIPPED, {});
    expect(policy.defaults.dataClass).toBe("internal");
    expect(policy.dataClasses.get("internal")?.mayLeave).toBe(false);
    expect(policy.providers.get("openai")?.disabledReason).toBe("OPENAI_API_KEY is not set");
    expect(policy.routes.at(-1)?.rule).toBe("any request");
  });

  it("versions a policy by its content", async () => {
    const text = await readFile(SHIPPED, "utf8");
    const a = parsePolicy(text, { source: "a", env: {} });
    const b = parsePolicy(text, { source: "b", env: {} });
    const c = parsePolicy(`${text}\n# edited\n`, { source: "c", env: {} });
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
  });
});

describe("parsePolicy errors", () => {
  it("names the path of an unknown key", () => {
    expect(
      issuesOf(`${PROVIDERS}routes:\n  - name: r\n    primary: { provider: local, model: m, modle: x }\n`),
    ).toEqual(["routes[0].primary.modle: unknown key"]);
  });

  it("names an unknown provider and an unknown model with what is declared", () => {
    const issues = issuesOf(
      `${PROVIDERS}routes:\n  - name: r\n    match: { data_class: public }\n    primary: { provider: openai, model: gpt-5o }\n    fallback:\n      - { provider: nobody, model: m }\n`,
    );
    expect(issues).toEqual([
      'routes[0].primary.model: unknown model "gpt-5o" for provider "openai" (listed: gpt-4.1)',
      'routes[0].fallback[0].provider: unknown provider "nobody" (declared: openai, local)',
    ]);
  });

  it("lists every error at once, each with its path", () => {
    const issues = issuesOf(`
providers:
  a: { kind: carrier-pigeon }
  b: { kind: mock, hosted: maybe }
routes: []
`);
    expect(issues).toEqual([
      expect.stringMatching(/^providers\.a\.kind: /),
      expect.stringMatching(/^providers\.b\.hosted: /),
      "routes: must list at least one route",
    ]);
  });

  it("refuses a route that could send data which may not leave to a hosted provider", () => {
    const issues = issuesOf(
      `${PROVIDERS}routes:\n  - name: everything\n    primary: { provider: openai, model: gpt-4.1 }\n`,
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^routes\[0\]\.primary: route "everything" can match data a hosted provider may not receive: /,
    );
    expect(issues[0]).toContain("data class pii may not leave the boundary; provider openai is hosted");
  });

  it("refuses a hosted fallback on a route matching pii even when the primary is self-hosted", () => {
    const issues = issuesOf(
      `${PROVIDERS}routes:\n  - name: pii\n    match: { data_class: [pii] }\n    primary: { provider: local, model: m }\n    fallback:\n      - { provider: openai, model: gpt-4.1 }\n`,
    );
    expect(issues).toEqual([
      'routes[0].fallback[0]: route "pii" can match data a hosted provider may not receive: data class pii may not leave the boundary; provider openai is hosted',
    ]);
  });

  it("treats a provider that does not say whether it is hosted as hosted", () => {
    const issues = issuesOf(`
providers:
  vague: { kind: mock }
routes:
  - name: r
    primary: { provider: vague, model: m }
`);
    expect(issues[0]).toContain("provider vague is hosted");
  });

  it("refuses routes after a catch-all, duplicate names and unknown data classes", () => {
    const issues = issuesOf(`${PROVIDERS}routes:
  - name: all
    primary: { provider: local, model: m }
  - name: all
    match: { data_class: [top_secret] }
    primary: { provider: local, model: m }
`);
    expect(issues).toEqual([
      'routes[1].name: duplicate route name "all" (also routes[0])',
      'routes[1]: unreachable: route "all" at routes[0] matches every request',
      'routes[1].match.data_class[0]: unknown data class "top_secret" (declared: public, customer_ok, internal, pii, regulated, secret)',
    ]);
  });

  it("refuses an unset variable outside api_key, and a durations above Node's timer range", () => {
    const issues = issuesOf(`
providers:
  local:
    kind: openai-compatible
    base_url: \${LOCAL_URL}
    hosted: false
routes:
  - name: r
    primary: { provider: local, model: m }
    budgets: { max_latency_ms: 99999999999 }
`);
    expect(issues).toContain("providers.local.base_url: environment variable LOCAL_URL is not set");
    expect(issues).toContain("routes[0].budgets.max_latency_ms: must be at most 3600000 (one hour)");
  });

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    expect(issuesOf("routes:\n  - name: a\n  name: b\n: : :")[0]).toMatch(/^line \d+, column \d+: /);
    expect(issuesOf("providers: {}\nproviders: {}\nroutes: []\n")[0]).toMatch(
      /^line 2, column 1: .*[Uu]nique/,
    );
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: the test is about these literal strings
  it("interpolates ${NAME:-fallback} and leaves $${ as a literal", () => {
    const policy = parsePolicy(
      `
providers:
  local:
    kind: openai-compatible
    base_url: \${LOCAL_URL:-http://127.0.0.1:8000/v1}
    hosted: false
    headers: { x-template: "$\${literal}" }
routes:
  - name: r
    primary: { provider: local, model: m }
`,
      { source: "t", env: {} },
    );
    expect(policy.providers.get("local")?.settings).toMatchObject({
      base_url: "http://127.0.0.1:8000/v1",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the escaped reference must come out literally
      headers: { "x-template": "${literal}" },
    });
  });
});

describe("provider credentials and headers", () => {
  it("refuses an api key with a control character (a key file's trailing newline) without echoing it", () => {
    const issues = issuesOf(
      `
providers:
  openai:
    kind: openai-compatible
    base_url: https://api.openai.com/v1
    api_key: \${OPENAI_API_KEY}
    hosted: false
    headers: { "bad header": "x", x-ok: "line\\nbreak" }
routes:
  - name: r
    primary: { provider: openai, model: m }
`,
      { OPENAI_API_KEY: "sk-secret-value\n" },
    );
    expect(issues).toEqual([
      "providers.openai.api_key: must not contain control characters (a trailing newline from a key file?)",
      "providers.openai.headers.x-ok: must not contain control characters (a trailing newline from a key file?)",
      "providers.openai.headers.bad header: must be an HTTP header name (a token)",
    ]);
    expect(issues.join("\n")).not.toContain("sk-secret-value");
  });
});

describe("provider quirks", () => {
  it("takes openai.max_tokens_field for an openai-compatible provider and refuses it elsewhere", () => {
    const policy = parsePolicy(
      `
providers:
  o1: { kind: openai-compatible, base_url: "https://api.openai.com/v1", hosted: false, openai: { max_tokens_field: max_completion_tokens } }
routes:
  - name: r
    primary: { provider: o1, model: o3 }
`,
      { source: "t", env: {} },
    );
    expect(policy.providers.get("o1")?.settings).toMatchObject({
      openai: { max_tokens_field: "max_completion_tokens" },
    });
    expect(
      issuesOf(`
providers:
  local: { kind: mock, hosted: false, openai: {} }
routes:
  - name: r
    primary: { provider: local, model: m }
`),
    ).toEqual(["providers.local.openai: unknown key"]);
  });
});
