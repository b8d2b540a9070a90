import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { interpolate } from "../../src/config/interpolate.js";
import { loadPolicyFile, PolicyError, parsePolicy } from "../../src/config/load-policy.js";
import { PROVIDER_KINDS } from "../../src/providers/registry.js";

/** The registry's kinds, as the policy errors list them (every adapter added lengthens it). */
const KINDS = PROVIDER_KINDS.map((kind) => kind.kind).join(", ");

const SEED = new URL("../fixtures/policies/seed.yaml", import.meta.url).pathname;
const SHIPPED = new URL("../../config/switchyard.yaml", import.meta.url).pathname;

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parsePolicy(text, { source: "test.yaml", env });
  } catch (error) {
    if (error instanceof PolicyError)
      return error.issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
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
    expect(assistant?.budgets).toEqual({
      maxLatencyMs: 2500,
      maxTokens: "bounded",
      overMaxCost: "downgrade",
    });
    expect(pii?.targets[0]).toMatchObject({ provider: "self_hosted", model: "llama" });
    expect(policy.logging).toEqual({
      storePrompts: "redacted",
      storeOutputs: true,
      storeToolArgs: "denylist_secrets",
      evalSink: { kind: "discard" },
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
    ).toEqual(['routes[0].primary.modle: unknown key (did you mean "model"?)']);
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
    expect(issues).toEqual([
      'routes[0].primary: route "everything" can match data classes internal, pii, regulated, secret, which may not leave the boundary, and provider "openai" is hosted',
    ]);
  });

  it("refuses a hosted fallback on a route matching pii even when the primary is self-hosted", () => {
    const issues = issuesOf(
      `${PROVIDERS}routes:\n  - name: pii\n    match: { data_class: [pii] }\n    primary: { provider: local, model: m }\n    fallback:\n      - { provider: openai, model: gpt-4.1 }\n`,
    );
    expect(issues).toEqual([
      'routes[0].fallback[0]: route "pii" can match data class pii, which may not leave the boundary, and provider "openai" is hosted',
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
    expect(issues[0]).toContain('provider "vague" is hosted');
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

  it("refuses an alias that contains itself and an alias bomb with an issue, not a crash", () => {
    expect(issuesOf("providers: &loop { a: *loop }\nroutes: []\n")).toEqual([
      "providers.a: alias to a node that contains it",
    ]);
    const bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let level = 1; level < 12; level++)
      bomb.push(
        `a${level}: &a${level} [${Array(10)
          .fill(`*a${level - 1}`)
          .join(", ")}]`,
      );
    expect(issuesOf(bomb.join("\n"))).toEqual([
      "the document expands too many aliases (at most 100 are allowed)",
    ]);
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

describe("parsePolicy reports every error in one run", () => {
  it("reports a typo'd key and an unknown model together, in file order, with the nearest valid ones", () => {
    const issues = issuesOf(`${PROVIDERS}routes:
  - name: r
    match: { data_class: public }
    primary: { provider: openai, model: gpt-41 }
    budgets: { max_latncy_ms: 100 }
`);
    expect(issues).toEqual([
      'routes[0].primary.model: unknown model "gpt-41" for provider "openai" (did you mean "gpt-4.1"? listed: gpt-4.1)',
      'routes[0].budgets.max_latncy_ms: unknown key (did you mean "max_latency_ms"?)',
    ]);
  });

  it("keeps checking the rest of a route, and other blocks, after one part of it is bad", () => {
    const issues = issuesOf(`
defaults: { data_class: intrenal, max_tokens: -1 }
providers:
  local: { kind: mock, hosted: false, mock: { latncy_ms: 1 } }
  remote: { kind: mock, hosted: false }
routes:
  - name: r
    match: { labels: { team: " x" }, data_class: [pi] }
    primary: { provider: local, model: m }
    fallback:
      - { provider: remote, model: m, runtime: vllm }
      - { provider: remot, model: m }
  - name: s
    primary: { provider: nowhere, modle: m }
`);
    expect(issues).toEqual([
      'defaults.data_class: unknown data class "intrenal" (did you mean "internal"? declared: public, customer_ok, internal, pii, regulated, secret)',
      "defaults.max_tokens: Too small: expected number to be >0",
      'providers.local.mock.latncy_ms: unknown key (did you mean "latency_ms"?)',
      "routes[0].match.labels.team[0]: must have no surrounding whitespace and no control, invisible or bidirectional characters",
      'routes[0].match.data_class[0]: unknown data class "pi" (did you mean "pii"? declared: public, customer_ok, internal, pii, regulated, secret)',
      'routes[0].fallback[0].runtime: "vllm" does not match provider "remote", which declares no runtime',
      'routes[0].fallback[1].provider: unknown provider "remot" (did you mean "remote"? declared: local, remote)',
      "routes[1].primary.model: required",
      'routes[1].primary.provider: unknown provider "nowhere" (declared: local, remote)',
      'routes[1].primary.modle: unknown key (did you mean "model"?)',
    ]);
  });

  it("names the known kinds for a missing or unknown provider kind", () => {
    expect(
      issuesOf(`
providers:
  a: { kind: opnai-compatible, base_url: "http://127.0.0.1:9/v1" }
  b: { hosted: false }
routes:
  - name: r
    primary: { provider: a, model: m }
`),
    ).toEqual([
      `providers.a.kind: unknown kind "opnai-compatible" (did you mean "openai-compatible"? known kinds: ${KINDS})`,
      `providers.b.kind: required (known kinds: ${KINDS})`,
    ]);
  });

  it("says a missing required key is required", () => {
    expect(
      issuesOf(`
providers:
  local: { kind: mock, hosted: false }
routes:
  - primary: { provider: local }
`),
    ).toEqual(["routes[0].name: required", "routes[0].primary.model: required"]);
  });

  it("explains a default data class that is not declared, without pointing at a key nobody wrote", () => {
    expect(
      issuesOf(`
data_classes:
  public: { may_leave: true }
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m }
`),
    ).toEqual([
      'defaults.data_class: the default data class "internal" is not declared (declared: public); declare it or set defaults.data_class',
    ]);
  });
});

describe("parsePolicy residency", () => {
  it("says each violation once per route and hosted provider, naming each class once", () => {
    const issues = issuesOf(`
data_classes:
  public: { may_leave: true }
  eu_customer: { may_leave: true, regions: [eu] }
  eu_staff: { may_leave: true, regions: [eu] }
  internal: { may_leave: false }
  pii: { may_leave: false }
providers:
  cloud: { kind: mock, hosted: true, region: us }
  eu_cloud: { kind: mock, hosted: true, region: eu }
  nowhere: { kind: mock, hosted: true }
  local: { kind: mock, hosted: false }
routes:
  - name: eu
    match: { data_class: [public, eu_customer] }
    primary: { provider: nowhere, model: a }
    fallback:
      - { provider: eu_cloud, model: b }
  - name: chat
    primary: { provider: cloud, model: a }
    fallback:
      - { provider: eu_cloud, model: b }
      - { provider: cloud, model: c }
      - { provider: local, model: d }
`);
    expect(issues).toEqual([
      'routes[0].primary: route "eu" can match data class eu_customer, which may only go to regions [eu], and provider "nowhere" declares no region',
      'routes[1].primary: route "chat" can match data classes internal, pii, which may not leave the boundary, and provider "cloud" is hosted; it can also match data classes eu_customer, eu_staff, which may only go to regions [eu], and provider "cloud" is in region "us"',
      'routes[1].fallback[0]: route "chat" can match data classes internal, pii, which may not leave the boundary, and provider "eu_cloud" is hosted',
    ]);
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
      'providers.openai.headers["bad header"]: must be an HTTP header name (a token)',
      "providers.openai.headers.x-ok: must not contain control characters (a trailing newline from a key file?)",
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

const IDENTIFIER_RULE =
  "must be an identifier: ASCII letters, digits and ._:/@+-, starting with a letter or digit, at most 128 characters";

describe("parsePolicy names and keys", () => {
  it("refuses a provider name with surrounding whitespace beside the real one instead of trimming it", () => {
    const issues = issuesOf(`
providers:
  cloud: { kind: mock, hosted: true }
  "cloud ": { kind: mock, hosted: false }
routes:
  - name: r
    match: { data_class: public }
    primary: { provider: cloud, model: m }
`);
    expect(issues).toEqual([`providers["cloud "]: ${IDENTIFIER_RULE} (this one has surrounding whitespace)`]);
  });

  it("accepts model names as vendors spell them", () => {
    const policy = parsePolicy(
      `
providers:
  local:
    kind: mock
    hosted: false
    models: { meta-llama/Llama-3-8B: {}, "llama3:8b": {}, claude-3@2024: {}, gpt-4.1: {}, a+b_c: {} }
routes:
  - name: r.1
    primary: { provider: local, model: meta-llama/Llama-3-8B }
    fallback:
      - { provider: local, model: "llama3:8b" }
      - { provider: local, model: claude-3@2024 }
`,
      { source: "t", env: {} },
    );
    expect(policy.routes[0]?.targets.map((target) => target.model)).toEqual([
      "meta-llama/Llama-3-8B",
      "llama3:8b",
      "claude-3@2024",
    ]);
  });

  it("refuses route, data class, model, task and tenant names outside the identifier rule, naming each path", () => {
    const issues = issuesOf(`
defaults: { data_class: public }
data_classes:
  "pii\u200b": { may_leave: false }
  public: { may_leave: true }
providers:
  local:
    kind: mock
    hosted: false
    models: { "-dash-first": {} }
routes:
  - name: my route
    match: { task: " chat", tenant: [acme, "acme corp"] }
    primary: { provider: local, model: "${"m".repeat(129)}" }
`);
    expect(issues).toEqual([
      `data_classes["pii\\u200b"]: ${IDENTIFIER_RULE}`,
      `providers.local.models["-dash-first"]: ${IDENTIFIER_RULE}`,
      `routes[0].name: ${IDENTIFIER_RULE}`,
      `routes[0].match.task[0]: ${IDENTIFIER_RULE} (this one has surrounding whitespace)`,
      `routes[0].match.tenant[1]: ${IDENTIFIER_RULE}`,
      `routes[0].primary.model: ${IDENTIFIER_RULE} (this one has 129 characters)`,
    ]);
  });

  it("refuses label keys and values with surrounding whitespace or invisible characters, and accepts inner spaces", () => {
    const issues = issuesOf(`
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    match:
      labels: { " team": x, env: "prod\u202e", tier: ["gold", "silver\\t"], ok: "data science" }
    primary: { provider: local, model: m }
`);
    const rule = "must have no surrounding whitespace and no control, invisible or bidirectional characters";
    expect(issues).toEqual([
      `routes[0].match.labels[" team"]: ${rule}`,
      `routes[0].match.labels.env[0]: ${rule}`,
      `routes[0].match.labels.tier[1]: ${rule}`,
    ]);
  });

  it("refuses reserved keys anywhere in the document, with their path", () => {
    const issues = issuesOf(`
providers:
  cloud:
    kind: mock
    __proto__: { hosted: false }
routes:
  - name: r
    match: { data_class: public, labels: { constructor: x } }
    primary: { provider: cloud, model: m }
prototype: 1
`);
    expect(issues).toEqual([
      'providers.cloud.__proto__: reserved key "__proto__" is not allowed',
      'routes[0].match.labels.constructor: reserved key "constructor" is not allowed',
      'prototype: reserved key "prototype" is not allowed',
    ]);
  });

  it("refuses a target runtime on a provider that declares none", () => {
    expect(
      issuesOf(`
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m, runtime: vllm }
`),
    ).toEqual([
      'routes[0].primary.runtime: "vllm" does not match provider "local", which declares no runtime',
    ]);
  });

  it("refuses an unknown key at every level of the document", () => {
    const issues = issuesOf(`
defaults: { data_class: public, taks: chat }
data_classes:
  public: { may_leave: true, region: [eu] }
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency: 1 }
    models: { m: { price: 1 } }
  remote: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", hosted: false, openai: { field: x }, timeout_ms: 1 }
routes:
  - name: r
    match: { data_class: public, tenants: [a] }
    primary: { provider: local, model: m, weight: 1 }
    fallback: [{ provider: local, model: m, note: x }]
    budgets: { max_latency: 1 }
    degrade: { answer: sorry, code: 1 }
    retry: { max_attempt: 2 }
logging: { store_prompt: none }
extra: true
`);
    expect(issues.map((issue) => issue.replace(/: unknown key.*$/, ""))).toEqual([
      "defaults.taks",
      "data_classes.public.region",
      "providers.local.mock.latency",
      "providers.local.models.m.price",
      "providers.remote.openai.field",
      "providers.remote.timeout_ms",
      "routes[0].match.tenants",
      "routes[0].primary.weight",
      "routes[0].fallback[0].note",
      "routes[0].budgets.max_latency",
      "routes[0].degrade.code",
      "routes[0].retry.max_attempt",
      "logging.store_prompt",
      "extra",
    ]);
  });
});

describe("reliability keys", () => {
  const providers = `
providers:
  a: { kind: mock, hosted: false }
  b: { kind: mock, hosted: false }
  cloud: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", hosted: false }
`;

  it("compiles retry, hedge, breaker, pool and the degrade ladder, with defaults where unset", () => {
    const policy = parsePolicy(
      `${providers}
routes:
  - name: r
    pool:
      strategy: least_in_flight
      targets: [{ provider: a, model: m, weight: 3 }, { provider: b, model: m }]
    fallback: [{ provider: cloud, model: c }]
    retry: { max_attempts: 3 }
    hedge: { after: p95, after_ms: 250 }
    breaker: { consecutive_failures: 2 }
    degrade: { target: { provider: b, model: small }, answer: "later" }
`,
      { source: "test.yaml", env: {} },
    );
    const [route] = policy.routes;
    expect(route?.pool).toBe("least_in_flight");
    expect(
      route?.targets.map((target) => [target.role, target.weight, target.breaker.consecutiveFailures]),
    ).toEqual([
      ["pool[0]", 3, 2],
      ["pool[1]", 1, 2],
      ["fallback[0]", undefined, 2],
    ]);
    expect(route?.retry).toEqual({ maxAttempts: 3, backoffMs: 100, maxBackoffMs: 2000 });
    expect(route?.hedge).toEqual({ after: "p95", afterMs: 250 });
    expect(route?.degrade).toMatchObject({
      target: { provider: "b", model: "small", role: "degrade" },
      answer: "later",
    });
    expect(route?.resumeOnFallback).toBe(false);
  });

  it("refuses a route with both primary and pool, a pool of one, and a degrade block with nothing in it", () => {
    expect(
      issuesOf(`${providers}
routes:
  - name: both
    match: { task: both }
    primary: { provider: a, model: m }
    pool: { targets: [{ provider: a, model: m }, { provider: b, model: m }] }
  - name: lonely
    match: { task: lonely }
    pool: { targets: [{ provider: a, model: m }] }
  - name: empty
    primary: { provider: a, model: m }
    degrade: {}
`),
    ).toEqual([
      "routes[0].pool: set either primary or pool, not both",
      "routes[1].pool.targets: must list at least two targets (one is a primary)",
      "routes[2].degrade: must name a target, an answer, or both",
    ]);
  });

  it("refuses two routes tuning one target's breaker differently, and resume_on_fallback with no fallback that can continue", () => {
    expect(
      issuesOf(`${providers}
routes:
  - name: first
    match: { task: x }
    primary: { provider: a, model: m }
    breaker: { open_ms: 1000 }
  - name: second
    primary: { provider: a, model: m }
    fallback: [{ provider: cloud, model: c }]
    breaker: { open_ms: 2000 }
    resume_on_fallback: true
`),
    ).toEqual([
      'routes[1].breaker: target a/m already has breaker settings from route "first": one target has one breaker, so every route naming it must tune it alike (or tune it on its provider)',
      "routes[1].resume_on_fallback: no fallback of this route can continue a partial answer (kind mock can; openai-compatible needs openai.assistant_prefix: vllm)",
    ]);
  });
});

describe("interpolate", () => {
  it("copies a __proto__ key of parsed data as nothing, never as the prototype", () => {
    const parsed = JSON.parse(
      '{"hosted": true, "__proto__": {"hosted": false, "region": "evil"}}',
    ) as unknown;
    const out = interpolate(parsed, {}, []) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out.region).toBeUndefined();
    expect(Object.keys(out)).toEqual(["hosted"]);
  });
});
