import { describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { NoRouteError } from "../../src/core/errors.js";
import type { Policy } from "../../src/core/policy.js";
import type { LlmRequest } from "../../src/core/types.js";
import { decide } from "../../src/decide/decide.js";
import { identify } from "../../src/identify/identify.js";
import { call, request } from "../helpers/pipeline.js";

const KEY = "SWITCHYARD_DECIDE_TEST_UNSET_KEY";

const policy = parsePolicy(
  `
providers:
  local: { kind: mock, hosted: false }
  backup: { kind: mock, hosted: false }
  cloud: { kind: mock, hosted: true }
  keyless: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", api_key: "\${${KEY}}", hosted: false }
routes:
  - name: code
    match: { task: [code, review] }
    primary: { provider: local, model: coder }
  - name: open
    match: { data_class: public }
    primary: { provider: cloud, model: big }
    fallback: [{ provider: local, model: small }]
  - name: acme_eu
    match: { tenant: acme, labels: { region: [eu, ch], tier: gold } }
    primary: { provider: keyless, model: gpt }
    fallback:
      - { provider: local, model: small }
      - { provider: backup, model: small }
  - name: acme
    match: { tenant: acme }
    primary: { provider: backup, model: small }
  - name: default
    primary: { provider: local, model: small }
`,
  { source: "decide.test.yaml", env: {} },
);

function decided(overrides: Partial<LlmRequest>, under: Policy = policy) {
  const identified = identify(request(overrides), under);
  return decide(identified, classify(identified, under), under, call());
}

describe("decide", () => {
  it("takes the first route whose match holds, in the policy's order", () => {
    expect(decided({ task: "review", dataClass: "public" }).route.name).toBe("code");
    expect(decided({ task: "chat", dataClass: "public" }).route.name).toBe("open");
    expect(decided({ task: "chat" }).route.name).toBe("default");
  });

  it("matches a tenant, and labels only when every listed label has one of its values", () => {
    const labelled = (labels: Record<string, string>) => decided({ tenant: "acme", labels }).route.name;
    expect(labelled({ region: "ch", tier: "gold" })).toBe("acme_eu");
    expect(labelled({ region: "ch", tier: "gold", extra: "ignored" })).toBe("acme_eu");
    expect(labelled({ region: "us", tier: "gold" })).toBe("acme");
    expect(labelled({ region: "eu" })).toBe("acme");
    expect(decided({ tenant: "other", labels: { region: "eu", tier: "gold" } }).route.name).toBe("default");
  });

  it("throws NoRouteError naming the task, class and tenant when no route matches", () => {
    const narrow = parsePolicy(
      `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: code
    match: { task: code }
    primary: { provider: local, model: m }
`,
      { source: "narrow.yaml", env: {} },
    );
    expect(() => decided({ task: "chat" }, narrow)).toThrow(NoRouteError);
    expect(() => decided({ task: "chat" }, narrow)).toThrow(
      'no route matches task "chat", data class "internal", tenant "default"',
    );
  });

  it("lists every target as a candidate with its role, and leaves out a provider left out of routing, saying why", () => {
    const plan = decided({ tenant: "acme", labels: { region: "eu", tier: "gold" } });
    expect(plan.decision.candidates).toEqual([
      {
        target: "keyless/gpt",
        role: "primary",
        eligible: false,
        reason: `provider keyless is left out of routing: ${KEY} is not set`,
      },
      { target: "local/small", role: "fallback[0]", eligible: true },
      { target: "backup/small", role: "fallback[1]", eligible: true },
    ]);
    expect(plan.eligible).toEqual([
      expect.objectContaining({ provider: "local", model: "small", role: "fallback[0]" }),
      expect.objectContaining({ provider: "backup", model: "small", role: "fallback[1]" }),
    ]);
  });

  it("makes a target ineligible whose provider may not take the request's data class", () => {
    // The file cannot send internal data to a hosted provider (it would not load), so the
    // residency rule is shown on a policy where the fallback became hosted after compiling.
    const providers = new Map(policy.providers);
    const local = providers.get("local");
    if (!local) throw new Error("no local provider");
    providers.set("local", { ...local, hosted: true });
    const plan = decided({ dataClass: "public" }, { ...policy, providers });
    expect(plan.eligible.map((target) => target.provider)).toEqual(["cloud", "local"]);

    const internal = decided({}, { ...policy, providers });
    expect(internal.route.name).toBe("default");
    expect(internal.eligible).toEqual([]);
    expect(internal.decision.candidates).toEqual([
      {
        target: "local/small",
        role: "primary",
        eligible: false,
        reason: "data class internal may not leave the boundary; provider local is hosted",
      },
    ]);
  });

  it("starts the decision: route, rule, classification, tenant, user, policy version and ids, nothing tried yet", () => {
    const identified = identify(request({ task: "chat", dataClass: "public", user: "ana" }), policy);
    const context = call();
    const plan = decide(identified, classify(identified, policy), policy, context);
    expect(plan.decision).toEqual({
      route: "open",
      rule: "data_class in [public]",
      task: "chat",
      dataClass: "public",
      declaredDataClass: "public",
      tenant: "default",
      user: "ana",
      policyVersion: policy.version,
      traceId: context.traceId,
      callId: context.callId,
      target: "",
      candidates: [
        { target: "cloud/big", role: "primary", eligible: true },
        { target: "local/small", role: "fallback[0]", eligible: true },
      ],
      attempts: [],
      degraded: false,
      degradeRung: "",
      pool: "",
      costUsd: 0,
      maxTokens: 0,
      dryRun: false,
      taskInferred: false,
      dataClassReason: "declared by the caller",
      findings: [],
      outputFindings: [],
      withheldTools: [],
      escalations: [],
      refusal: "",
      estimatedInputTokens: 0,
      estimatedCostUsd: 0,
      quota: "",
      unpriced: false,
    });
  });

  it("routes on the classification, not on what the caller declared", () => {
    const identified = identify(request({ task: "chat", dataClass: "public" }), policy);
    const raised = { ...classify(identified, policy), dataClass: "pii" };
    const plan = decide(identified, raised, policy, call());
    expect(plan.route.name).toBe("default");
    expect(plan.decision).toMatchObject({ dataClass: "pii", declaredDataClass: "public" });
  });
});

describe("decide, for a caller that names a model (the OpenAI door)", () => {
  const byModel = parsePolicy(
    `
providers:
  local: { kind: mock, hosted: false }
  cloud: { kind: mock, hosted: true }
data_classes:
  public: { may_leave: true }
  pii: { may_leave: false }
defaults: { data_class: public }
routes:
  - name: gpt
    match: { model: [gpt-4o, gpt-4o-mini], data_class: public }
    primary: { provider: cloud, model: gpt-4o }
  - name: coder
    match: { task: code }
    primary: { provider: local, model: coder }
  - name: acme-only
    match: { tenant: acme }
    primary: { provider: local, model: acme }
  - name: default
    primary: { provider: local, model: small }
`,
    { source: "by-model.yaml", env: {} },
  );

  it("matches routes listing the model in match.model, and only those requests", () => {
    expect(decided({ model: "gpt-4o" }, byModel).route.name).toBe("gpt");
    expect(decided({ model: "gpt-4o-mini" }, byModel).route.name).toBe("gpt");
    expect(decided({}, byModel).route.name).toBe("default");
    expect(decided({ model: "auto" }, byModel).route.name).toBe("default");
    // Its other conditions still hold, and no other route takes a request naming a model: a pii
    // request naming gpt-4o is refused, not quietly served by another model.
    expect(() => decided({ model: "gpt-4o", dataClass: "pii" }, byModel)).toThrow(
      new NoRouteError('no route matches task "chat", data class "pii", tenant "default", model "gpt-4o"'),
    );
  });

  it("serves a call naming a route by that route, whatever its task", () => {
    const plan = decided({ model: "coder", task: "chat" }, byModel);
    expect(plan.route.name).toBe("coder");
    expect(plan.decision.rule).toBe("task in [code]");
  });

  it("never lets naming a route get around who may use it", () => {
    expect(() => decided({ model: "acme-only", tenant: "globex" }, byModel)).toThrow(
      new NoRouteError(
        'route "acme-only", named as the model, does not take this request: tenant "globex" is not one the route takes',
      ),
    );
    expect(() => decided({ model: "gpt", dataClass: "pii" }, byModel)).toThrow(
      /data class "pii" is not one the route takes/,
    );
    expect(decided({ model: "acme-only", tenant: "acme" }, byModel).route.name).toBe("acme-only");
  });

  it("refuses a model no route serves, listing what the caller may name", () => {
    expect(() => decided({ model: "gpt-5o" }, byModel)).toThrow(
      'model: unknown model "gpt-5o" (this router serves: auto, gpt, coder, acme-only, default, gpt-4o, gpt-4o-mini)',
    );
  });
});

describe("decide, for a request with images", () => {
  const withImages = parsePolicy(
    `
providers:
  google: { kind: gemini, base_url: "http://127.0.0.1:9/v1beta", api_key: k, hosted: false }
  local: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", hosted: false }
routes:
  - name: vision
    primary: { provider: google, model: gemini-2.5-flash }
    fallback: [{ provider: local, model: llava }]
`,
    { source: "images.yaml", env: {} },
  );
  const asking = (url: string) => ({
    messages: [{ role: "user" as const, content: "what is this?", images: [{ url }] }],
  });

  it("leaves out a target whose wire takes images inline only when one comes by URL, saying why", () => {
    const plan = decided(asking("https://example.com/cat.png"), withImages);
    expect(plan.eligible.map((target) => target.provider)).toEqual(["local"]);
    expect(plan.decision.candidates[0]).toEqual({
      target: "google/gemini-2.5-flash",
      role: "primary",
      eligible: false,
      reason: "takes images inline only (data: URLs), and this request has an image by URL",
    });
  });

  it("keeps it for inline images", () => {
    const plan = decided(asking("data:image/png;base64,iVBORw0KGgo="), withImages);
    expect(plan.eligible.map((target) => target.provider)).toEqual(["google", "local"]);
  });
});

describe("decide, for images the policy redacts", () => {
  it("keeps a hosted inline-only target for an image by URL, since it will see no image", () => {
    const redacting = parsePolicy(
      `
providers:
  google: { kind: gemini, base_url: "http://127.0.0.1:9/v1beta", api_key: k, hosted: true }
  local: { kind: gemini, base_url: "http://127.0.0.1:9/v1beta", api_key: k, hosted: false }
data_classes:
  public: { may_leave: true }
defaults: { data_class: public }
detect:
  image: { action: redact }
routes:
  - name: vision
    primary: { provider: google, model: gemini-2.5-flash }
    fallback: [{ provider: local, model: gemma }]
`,
      { source: "redact-images.yaml", env: {} },
    );
    const plan = decided(
      {
        messages: [
          { role: "user", content: "what is this?", images: [{ url: "https://example.com/cat.png" }] },
        ],
      },
      redacting,
    );
    // The hosted target gets the request without the image; the self-hosted one gets it, and cannot take it by URL.
    expect(plan.eligible.map((target) => target.provider)).toEqual(["google"]);
  });
});
