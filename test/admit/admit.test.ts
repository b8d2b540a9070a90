import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { admit } from "../../src/admit/admit.js";
import { countInputTokens, EXACT_CHARACTERS } from "../../src/admit/token-count.js";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { Policy } from "../../src/core/policy.js";
import { decide } from "../../src/decide/decide.js";
import { identify } from "../../src/identify/identify.js";
import { call, request } from "../helpers/pipeline.js";

const policyOf = (routes: string, tenants = "") =>
  parsePolicy(
    `
defaults: { max_tokens: 300 }
providers:
  openai:
    kind: openai-compatible
    base_url: http://127.0.0.1:9/v1
    hosted: false
    models:
      gpt-4o: { input_usd_per_mtok: 2.5, output_usd_per_mtok: 10 }
      gpt-4o-mini: { input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 }
  local:
    kind: mock
    hosted: false
    models:
      llama: { input_usd_per_mtok: 0, output_usd_per_mtok: 0 }
      unpriced-model: {}
routes:
${routes}
${tenants}
`,
    { source: "admit.test.yaml", env: {} },
  );

/** The plan decide makes for a request of `maxTokens` (and `text`), then what admit makes of it. */
async function admitted(
  policy: Policy,
  options: { maxTokens?: number; text?: string; tenant?: string } = {},
) {
  const identified = identify(
    request({
      messages: [{ role: "user", content: options.text ?? "hello there" }],
      params: { stop: [], ...(options.maxTokens !== undefined && { maxTokens: options.maxTokens }) },
      ...(options.tenant && { tenant: options.tenant }),
    }),
    policy,
  );
  const plan = decide(identified, classify(identified, policy), policy, call());
  const admission = await admit(identified, plan, policy, policy.tenants.get(identified.tenant));
  return { admission, plan };
}

describe("admit: the output cap", () => {
  const policy = policyOf(`
  - name: capped
    match: { task: capped }
    primary: { provider: local, model: llama }
    budgets: { max_tokens: 100 }
  - name: bounded
    match: { task: bounded }
    primary: { provider: local, model: llama }
    budgets: { max_tokens: bounded }
  - name: open
    primary: { provider: local, model: llama }
`);
  const capOf = async (task: string, maxTokens?: number) => {
    const identified = identify(
      request({ task, params: { stop: [], ...(maxTokens !== undefined && { maxTokens }) } }),
      policy,
    );
    const plan = decide(identified, classify(identified, policy), policy, call());
    return (await admit(identified, plan, policy, undefined)).maxTokens;
  };

  it("caps output tokens at a route's number, the caller may ask for fewer", async () => {
    expect([await capOf("capped"), await capOf("capped", 500), await capOf("capped", 40)]).toEqual([
      100, 100, 40,
    ]);
  });

  it("caps a bounded route at the policy's default max_tokens", async () => {
    expect([await capOf("bounded"), await capOf("bounded", 1000), await capOf("bounded", 20)]).toEqual([
      300, 300, 20,
    ]);
  });

  it("passes the caller's value on an unbounded route, or none so the provider decides", async () => {
    expect([await capOf("open", 5000), await capOf("open")]).toEqual([5000, undefined]);
  });
});

describe("admit: what a request may cost at its worst", () => {
  it("prices its input tokens and max_tokens of output at the first target's price, into the decision", async () => {
    const policy = policyOf(`
  - name: chat
    primary: { provider: openai, model: gpt-4o }
    budgets: { max_tokens: 1000, max_cost_usd: 1 }
`);
    const { admission, plan } = await admitted(policy, { text: "hello there" });
    const tokens = (await countInputTokens("gpt-4o", [{ role: "user", content: "hello there" }], [])).tokens;
    expect(admission).toMatchObject({ maxTokens: 1000, inputTokens: tokens, outputTokens: 1000 });
    // 2.5 $/M in, 10 $/M out.
    expect(admission.worstCaseUsd).toBeCloseTo((tokens * 2.5 + 1000 * 10) / 1e6, 12);
    expect(plan.decision.estimatedInputTokens).toBe(tokens);
    // Shown rounded up to the micro-dollar.
    expect(plan.decision.estimatedCostUsd).toBe(Math.ceil(admission.worstCaseUsd * 1e6) / 1e6);
  });

  it("over max_cost_usd (downgrade): the targets that could pass it are skipped, saying why, and a cheaper one serves", async () => {
    const policy = policyOf(`
  - name: chat
    primary: { provider: openai, model: gpt-4o }
    fallback: [{ provider: openai, model: gpt-4o-mini }]
    budgets: { max_tokens: 2000, max_cost_usd: 0.01 }
`);
    // gpt-4o: 2000 output tokens alone cost $0.02; gpt-4o-mini: $0.0012.
    const { plan } = await admitted(policy);
    expect(plan.eligible.map((target) => target.model)).toEqual(["gpt-4o-mini"]);
    const skipped = plan.decision.candidates.find((candidate) => candidate.target === "openai/gpt-4o");
    expect(skipped).toMatchObject({ eligible: false });
    expect(skipped?.reason).toMatch(
      /^worst case \$0\.02\d* passes max_cost_usd \$0\.01 \(\d+ input tokens, up to 2000 output\)$/,
    );
    // Asking for fewer output tokens brings the primary back under the cap.
    const { plan: small } = await admitted(policy, { maxTokens: 500 });
    expect(small.eligible.map((target) => target.model)).toEqual(["gpt-4o", "gpt-4o-mini"]);
  });

  it("over max_cost_usd (refuse): no target may serve, and every one says why", async () => {
    const policy = policyOf(`
  - name: chat
    primary: { provider: openai, model: gpt-4o }
    fallback: [{ provider: openai, model: gpt-4o-mini }]
    budgets: { max_tokens: 2000, max_cost_usd: 0.01, over_max_cost: refuse }
`);
    const { plan } = await admitted(policy);
    expect(plan.eligible).toEqual([]);
    for (const candidate of plan.decision.candidates)
      expect(candidate.reason).toMatch(
        /^route "chat" refuses requests whose worst case passes max_cost_usd \$0\.01/,
      );
  });

  it("a budgeted tenant's calls stay off a model with no price, unless the tenant states one", async () => {
    const routes = `
  - name: chat
    primary: { provider: local, model: unpriced-model }
    fallback: [{ provider: local, model: llama }]
`;
    const refusing = policyOf(routes, "tenants:\n  acme: { budgets: { usd_per_day: 5 } }");
    const { plan } = await admitted(refusing, { tenant: "acme" });
    expect(plan.eligible.map((target) => target.model)).toEqual(["llama"]);
    expect(plan.decision.candidates[0]?.reason).toMatch(/no price, and tenant "acme" has a budget/);
    // Another tenant, with no budget, is not affected.
    expect((await admitted(refusing, { tenant: "other" })).plan.eligible).toHaveLength(2);

    const pricing = policyOf(
      routes,
      "tenants:\n  acme:\n    budgets: { usd_per_day: 5 }\n    unpriced: { input_usd_per_mtok: 1, output_usd_per_mtok: 4 }",
    );
    const { plan: priced, admission } = await admitted(pricing, { tenant: "acme" });
    expect(priced.eligible).toHaveLength(2);
    expect(admission.worstCaseUsd).toBeGreaterThanOrEqual((300 * 4) / 1e6);
    expect(admission.unpricedPrice).toMatchObject({ outputPicoUsdPerToken: 4_000_000 });
  });
});

describe("input tokens before the call", () => {
  it("counts an OpenAI model's prompt with its own tokenizer, dated snapshots and OpenRouter names included", async () => {
    const messages = [{ role: "user" as const, content: "Tokenizers split text into pieces; how many?" }];
    const exact = countTokens("user") + countTokens(messages[0]?.content ?? "") + 3 + 3;
    for (const model of ["gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o", "gpt-9-turbo", "o7-mini"])
      expect(await countInputTokens(model, messages, []), model).toEqual({ tokens: exact, exact: true });
  });

  it("approximates any other model's (about four characters a token), never pretending to be exact", async () => {
    const counted = await countInputTokens("llama-3.1-8b", [{ role: "user", content: "x".repeat(400) }], []);
    expect(counted).toEqual({ tokens: 100 + 3, exact: false });
  });

  it("counts special-token text as the plain text it is, never failing on it", async () => {
    const counted = await countInputTokens(
      "gpt-4o",
      [{ role: "user", content: "<|endoftext|><|im_start|>" }],
      [],
    );
    expect(counted.tokens).toBeGreaterThan(6);
  });

  it("counts past EXACT_CHARACTERS at the rate the exact part showed (at least a token per four characters): bounded time", async () => {
    const sentence = "The quick brown fox jumps over the lazy dog. ";
    const text = sentence.repeat(Math.ceil((EXACT_CHARACTERS * 4) / sentence.length));
    const counted = await countInputTokens("gpt-4o", [{ role: "user", content: text }], []);
    const truth = countTokens(text) + countTokens("user") + 6;
    // English prose runs ~0.22 tokens a character, under the floor: the rest is counted at 0.25,
    // never less than the truth, and not far over it.
    expect(counted.tokens).toBeGreaterThanOrEqual(truth);
    expect(counted.tokens / truth).toBeLessThan(1.15);
  });
});
