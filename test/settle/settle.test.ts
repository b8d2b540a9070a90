import { describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { Consumption, Execution, RoutingPlan } from "../../src/core/call.js";
import type { LlmRequest } from "../../src/core/types.js";
import { decide } from "../../src/decide/decide.js";
import { identify } from "../../src/identify/identify.js";
import { costOf, settle } from "../../src/settle/settle.js";
import { call, request } from "../helpers/pipeline.js";

const policy = parsePolicy(
  `
providers:
  cheap:
    kind: mock
    hosted: false
    models: { small: { input_usd_per_mtok: 0.40, output_usd_per_mtok: 1.60 } }
  tiny:
    kind: mock
    hosted: false
    models: { m: { input_usd_per_mtok: 0.1, output_usd_per_mtok: 0.2 } }
  unpriced: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: cheap, model: small }
    fallback:
      - { provider: tiny, model: m }
      - { provider: unpriced, model: any }
`,
  { source: "settle.test.yaml", env: {} },
);

/** The plan for a request, with one attempt per target so far (outcomes do not matter to settle). */
function planned(overrides: Partial<LlmRequest> = {}) {
  const identified = identify(request(overrides), policy);
  const plan: RoutingPlan = decide(identified, classify(identified, policy), policy, call());
  plan.decision.attempts = plan.eligible.map((target) => ({
    target: `${target.provider}/${target.model}`,
    outcome: "failed",
    latencyMs: 1,
  }));
  const [cheap, tiny, unpriced] = plan.eligible;
  if (!cheap || !tiny || !unpriced) throw new Error("the route has three targets");
  return { identified, plan, targets: { cheap, tiny, unpriced } };
}

const answered = (index: number): Execution => ({
  message: { role: "assistant", content: "" },
  finishReason: "stop",
  answeredBy: index,
});

describe("settle", () => {
  it("prices reported usage exactly in picodollars: 3 tokens in at $0.40/Mtok and 2 out at $1.60/Mtok is $0.0000044", () => {
    const { identified, plan, targets } = planned();
    const consumed: Consumption[] = [
      {
        attempt: 0,
        target: targets.cheap,
        reported: { inputTokens: 3, outputTokens: 2 },
        receivedCharacters: 99,
      },
    ];
    const settlement = settle(identified, plan, consumed, answered(0), policy);

    expect(settlement).toEqual({ usage: { inputTokens: 3, outputTokens: 2 }, costUsd: 0.0000044 });
    expect(String(settlement.costUsd)).toBe("0.0000044");
    expect(plan.decision.costUsd).toBe(0.0000044);
    expect(plan.decision.attempts[0]).toMatchObject({
      usage: { inputTokens: 3, outputTokens: 2 },
      costUsd: 0.0000044,
    });
  });

  it("estimates usage the provider did not report from what was received, and marks it estimated", () => {
    // "12345678" is 2 tokens, plus 3 for the message; 9 characters received are 3 tokens.
    const { identified, plan, targets } = planned({ messages: [{ role: "user", content: "12345678" }] });
    const settlement = settle(
      identified,
      plan,
      [{ attempt: 0, target: targets.cheap, receivedCharacters: 9 }],
      answered(0),
      policy,
    );

    expect(settlement.usage).toEqual({ inputTokens: 5, outputTokens: 3, estimated: true });
    // 5 × 400000 + 3 × 1600000 picodollars.
    expect(settlement.costUsd).toBe(0.0000068);
    expect(plan.decision.attempts[0]?.usage).toEqual({ inputTokens: 5, outputTokens: 3, estimated: true });
  });

  it("adds every attempt's cost into decision.costUsd, exactly, while the answer's usage is the answering attempt's", () => {
    const { identified, plan, targets } = planned();
    const consumed: Consumption[] = [
      {
        attempt: 0,
        target: targets.cheap,
        reported: { inputTokens: 1, outputTokens: 1 },
        receivedCharacters: 4,
      },
      {
        attempt: 1,
        target: targets.tiny,
        reported: { inputTokens: 1, outputTokens: 2 },
        receivedCharacters: 8,
      },
    ];
    const settlement = settle(identified, plan, consumed, answered(1), policy);

    expect(plan.decision.attempts.map((attempt) => attempt.costUsd)).toEqual([
      0.000002,
      0.0000005,
      undefined,
    ]);
    // Added in dollars, 0.000002 + 0.0000005 is 0.0000024999999999999998.
    expect(plan.decision.costUsd).toBe(0.0000025);
    expect(settlement).toEqual({ usage: { inputTokens: 1, outputTokens: 2 }, costUsd: 0.0000025 });
  });

  it("leaves an attempt that consumed nothing without usage or cost", () => {
    const { identified, plan, targets } = planned();
    settle(
      identified,
      plan,
      [
        {
          attempt: 1,
          target: targets.tiny,
          reported: { inputTokens: 10, outputTokens: 0 },
          receivedCharacters: 0,
        },
      ],
      answered(1),
      policy,
    );
    expect(plan.decision.attempts[0]).not.toHaveProperty("usage");
    expect(plan.decision.attempts[0]).not.toHaveProperty("costUsd");
    expect(plan.decision.attempts[1]?.usage).toEqual({ inputTokens: 10, outputTokens: 0 });
  });

  it("gives a degraded answer zero usage while still charging the attempts that consumed tokens", () => {
    const { identified, plan, targets } = planned();
    const degraded: Execution = {
      message: { role: "assistant", content: "later" },
      finishReason: "degraded",
    };
    const settlement = settle(
      identified,
      plan,
      [
        {
          attempt: 0,
          target: targets.cheap,
          reported: { inputTokens: 3, outputTokens: 2 },
          receivedCharacters: 5,
        },
      ],
      degraded,
      policy,
    );
    expect(settlement).toEqual({ usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0.0000044 });
  });

  it("settles a call that failed before any execution, charging what its attempts consumed", () => {
    const { identified, plan, targets } = planned();
    const settlement = settle(
      identified,
      plan,
      [
        {
          attempt: 0,
          target: targets.cheap,
          reported: { inputTokens: 3, outputTokens: 2 },
          receivedCharacters: 5,
        },
      ],
      undefined,
      policy,
    );
    expect(settlement).toEqual({ usage: { inputTokens: 0, outputTokens: 0 }, costUsd: 0.0000044 });
  });

  it("records the usage of a model without prices, at no cost", () => {
    const { identified, plan, targets } = planned();
    const settlement = settle(
      identified,
      plan,
      [
        {
          attempt: 2,
          target: targets.unpriced,
          reported: { inputTokens: 7, outputTokens: 7 },
          receivedCharacters: 5,
        },
      ],
      answered(2),
      policy,
    );
    expect(settlement).toEqual({ usage: { inputTokens: 7, outputTokens: 7 }, costUsd: 0 });
    expect(plan.decision.attempts[2]).toMatchObject({
      usage: { inputTokens: 7, outputTokens: 7 },
      costUsd: 0,
    });
  });
});

describe("costOf", () => {
  it("is whole picodollars at the policy's prices, and 0 for an unpriced model or unknown provider", () => {
    const usage = { inputTokens: 3, outputTokens: 2 };
    expect(costOf({ provider: "cheap", model: "small" }, usage, policy)).toBe(4_400_000);
    expect(costOf({ provider: "unpriced", model: "any" }, usage, policy)).toBe(0);
    expect(costOf({ provider: "nobody", model: "x" }, usage, policy)).toBe(0);
  });
});

describe("prices", () => {
  const priced = parsePolicy(
    `
providers:
  openai: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", hosted: false }
  anthropic: { kind: anthropic, base_url: "http://127.0.0.1:9", hosted: false }
  vllm:
    kind: openai-compatible
    base_url: "http://127.0.0.1:9/v1"
    hosted: false
    models:
      llama: {}
      gpt-4o: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 }
routes:
  - name: a
    match: { task: a }
    primary: { provider: openai, model: gpt-4o-mini-2024-07-18 }
    fallback: [{ provider: anthropic, model: claude-sonnet-4-5-20250929 }, { provider: vllm, model: gpt-4o }]
  - name: b
    primary: { provider: vllm, model: llama }
`,
    { source: "prices.yaml", env: {} },
  );

  it("takes a model the policy gives no price from its kind's table, saying which and when", () => {
    const price = priced.providers.get("openai")?.prices.get("gpt-4o-mini-2024-07-18");
    expect(price).toMatchObject({ inputPicoUsdPerToken: 150_000, outputPicoUsdPerToken: 600_000 });
    expect(price?.source).toMatch(
      /^price table checked \d{4}-\d{2}-\d{2} \(https:\/\/developers\.openai\.com/,
    );
  });

  it("lets the policy's price win, and warns about a model priced nowhere", () => {
    expect(priced.providers.get("vllm")?.prices.get("gpt-4o")).toMatchObject({
      inputPicoUsdPerToken: 1_000_000,
      source: "policy",
    });
    expect(priced.warnings).toContain(
      'routes[1].primary: no price for "llama" on provider "vllm" in the policy or the built-in openai-compatible price table; its cost is reported as 0',
    );
  });

  it("prices input read from and written to a prompt cache at their own rates", () => {
    const target = { provider: "anthropic", model: "claude-sonnet-4-5-20250929" };
    // 1,000 input tokens of which 600 read from the cache and 300 written to it; 100 output.
    const cost = costOf(
      target,
      { inputTokens: 1000, cachedInputTokens: 600, cacheWriteInputTokens: 300, outputTokens: 100 },
      priced,
    );
    // 100 × $3 + 600 × $0.30 + 300 × $3.75 + 100 × $15, per million tokens, in picodollars.
    expect(cost).toBe(100 * 3_000_000 + 600 * 300_000 + 300 * 3_750_000 + 100 * 15_000_000);
    expect(costOf(target, { inputTokens: 1000, outputTokens: 100 }, priced)).toBe(
      1000 * 3_000_000 + 100 * 15_000_000,
    );
  });
});
