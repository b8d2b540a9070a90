import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { PolicyLease } from "../../src/config/policy-store.js";
import { systemClock } from "../../src/core/clock.js";
import { AllTargetsFailedError, DecidedError } from "../../src/core/errors.js";
import { decide } from "../../src/decide/decide.js";
import { execute } from "../../src/execute/execute.js";
import { createTargetHealth } from "../../src/health/target-health.js";
import { identify } from "../../src/identify/identify.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { collect, drain } from "../helpers/async.js";
import { call, pipelineFor, request } from "../helpers/pipeline.js";
import { closedPort } from "../helpers/ports.js";

describe("residency (DESIGN invariant 1)", () => {
  let hosted: FakeOpenAi;
  let policyYaml: string;

  beforeAll(async () => {
    hosted = await startFakeOpenAi();
    policyYaml = `
providers:
  hosted_llm: { kind: openai-compatible, base_url: "${hosted.url}", api_key: sk-test, hosted: true }
  onprem_refused: { kind: openai-compatible, base_url: "http://127.0.0.1:${await closedPort()}/v1", hosted: false }
  onprem_down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: unavailable } }
  onprem_hung: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: timeout } }
routes:
  - name: open
    match: { data_class: [public, customer_ok] }
    primary: { provider: hosted_llm, model: gpt }
    fallback: [{ provider: onprem_down, model: llama }]
  - name: sensitive
    primary: { provider: onprem_refused, model: llama }
    fallback:
      - { provider: onprem_down, model: llama }
      - { provider: onprem_hung, model: llama }
    budgets: { max_latency_ms: 300 }
`;
  });
  afterAll(async () => {
    await hosted.close();
  });

  it("never sends a pii request to a hosted provider, even when every self-hosted target fails", async () => {
    hosted.reset();
    const { pipeline } = pipelineFor(policyYaml);
    for (const run of [
      () => pipeline.route(request({ dataClass: "pii" }), call()),
      () => collect(pipeline.stream(request({ dataClass: "pii" }), call())),
      () => pipeline.route(request({ dataClass: "secret" }), call()),
      // No declared class: the default (internal) stays inside.
      () => pipeline.route(request(), call()),
    ]) {
      const error = await run().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AllTargetsFailedError);
      const targets = (error as AllTargetsFailedError).decision.attempts.map((attempt) => attempt.target);
      expect(targets.every((target) => target.startsWith("onprem_"))).toBe(true);
    }
    expect(hosted.requests).toHaveLength(0);

    // The same policy does use the hosted provider for data that may leave.
    const open = await pipeline.route(request({ dataClass: "public" }), call());
    expect(open.decision.target).toBe("hosted_llm/gpt");
    expect(hosted.requests).toHaveLength(1);
  });

  it("refuses a hosted target again at the moment of the attempt, whatever built the target list", async () => {
    hosted.reset();
    const { policies } = pipelineFor(policyYaml);
    const lease = policies.acquire();
    try {
      for (const deliver of [false, true]) {
        const { plan, run } = executePlannedAsPublic(lease, "pii", deliver);
        expect(plan.eligible.map((target) => target.provider)).toEqual(["hosted_llm", "onprem_down"]);
        expect(await run.catch((e: unknown) => e)).toBeInstanceOf(DecidedError);
        expect(plan.decision.attempts[0]).toMatchObject({
          target: "hosted_llm/gpt",
          outcome: "refused",
          errorClass: "policy",
          message: "data class pii may not leave the boundary; provider hosted_llm is hosted",
        });
      }
      expect(hosted.requests).toHaveLength(0);
    } finally {
      lease.release();
    }
  });

  it("refuses, before an attempt, a provider that a reload made hosted while the call was in flight", async () => {
    hosted.reset();
    const provider = (isHosted: boolean) =>
      `cloud: { kind: openai-compatible, base_url: "${hosted.url}", api_key: sk-test, hosted: ${isHosted} }`;
    const { pipeline, policies } = pipelineFor(`
providers:
  hung: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: timeout } }
  ${provider(false)}
routes:
  - name: sensitive
    match: { data_class: [pii] }
    primary: { provider: hung, model: llama }
    fallback: [{ provider: cloud, model: gpt }]
    budgets: { first_token_ms: 300 }
  - name: rest
    primary: { provider: hung, model: llama }
`);
    const inFlight = pipeline.route(request({ dataClass: "pii" }), call()).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The new policy is valid on its own: pii no longer names `cloud`, which is now hosted.
    policies.replace(
      parsePolicy(
        `
providers:
  hung: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: timeout } }
  ${provider(true)}
routes:
  - name: open
    match: { data_class: [public] }
    primary: { provider: cloud, model: gpt }
  - name: rest
    primary: { provider: hung, model: llama }
`,
        { source: "reloaded.yaml", env: {} },
      ),
    );
    const error = await inFlight;
    expect(error).toBeInstanceOf(DecidedError);
    const attempts = (error as DecidedError).decision.attempts;
    expect(attempts.map((attempt) => [attempt.target, attempt.outcome])).toEqual([
      ["hung/llama", "failed"],
      ["cloud/gpt", "refused"],
    ]);
    expect(attempts[1]?.message).toMatch(
      /data class pii may not leave the boundary; provider cloud is hosted \(policy \w+, now in force\)/,
    );
    expect(hosted.requests).toHaveLength(0);
  });

  it("keeps a class with allowed regions off hosted providers elsewhere: at load, and at the attempt", async () => {
    const classes = `
data_classes:
  public: { may_leave: true }
  eu_only: { may_leave: true, regions: [eu] }
  pii: { may_leave: false }
defaults: { data_class: pii }`;
    const providers = `
providers:
  hosted_eu: { kind: mock, hosted: true, region: eu }
  hosted_us: { kind: mock, hosted: true, region: us }
  onprem: { kind: mock, hosted: false }`;
    // A route that can send eu_only data to the us region is refused when the policy is loaded.
    expect(() =>
      parsePolicy(
        `${classes}${providers}
routes:
  - name: eu
    match: { data_class: [eu_only] }
    primary: { provider: hosted_us, model: m }
  - name: rest
    primary: { provider: onprem, model: m }
`,
        { source: "t", env: {} },
      ),
    ).toThrow(
      /route "eu" can match data class eu_only, which may only go to regions \[eu\], and provider "hosted_us" is in region "us"/,
    );

    // A valid policy: eu_only goes to the eu region; public may go anywhere.
    const { pipeline, policies } = pipelineFor(`${classes}${providers}
routes:
  - name: eu
    match: { data_class: [eu_only] }
    primary: { provider: hosted_eu, model: m }
  - name: open
    match: { data_class: [public] }
    primary: { provider: hosted_us, model: m }
    fallback: [{ provider: hosted_eu, model: m }]
  - name: rest
    primary: { provider: onprem, model: m }
`);
    const eu = await pipeline.route(request({ dataClass: "eu_only" }), call());
    expect(eu.decision.target).toBe("hosted_eu/m");

    // The rule runs again at the attempt: a plan made for public, executed for eu_only, skips us.
    const lease = policies.acquire();
    try {
      const { plan, run } = executePlannedAsPublic(lease, "eu_only", false);
      const execution = await run;
      expect(
        plan.decision.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.message]),
      ).toEqual([
        [
          "hosted_us/m",
          "refused",
          'data class eu_only may only go to regions [eu]; provider hosted_us is in "us"',
        ],
        ["hosted_eu/m", "succeeded", undefined],
      ]);
      expect(execution.answeredBy).toBe(1);
    } finally {
      lease.release();
    }

    // The default class (pii) stays inside.
    expect((await pipeline.route(request(), call())).decision.target).toBe("onprem/m");
  });
});

/**
 * A request of `dataClass` routed as if it were public (a class raised after routing), then
 * executed as what it is: only the check at the attempt stands between it and a hosted target.
 */
function executePlannedAsPublic(lease: PolicyLease, dataClass: string, deliver: boolean) {
  const identified = identify(request({ dataClass }), lease.policy);
  const classification = classify(identified, lease.policy);
  const plan = decide(identified, { ...classification, dataClass: "public" }, lease.policy, call());
  const run = drain(
    execute({
      request: identified,
      classification,
      plan,
      admission: { inputTokens: 0, outputTokens: 1024, worstCaseUsd: 0 },
      lease,
      signal: new AbortController().signal,
      clock: systemClock,
      logger: pino({ level: "silent" }),
      health: createTargetHealth(systemClock),
      random: Math.random,
      deliver,
      consumed: [],
      safeguards: { tools: [] },
      escalate: () => {},
    }),
  );
  return { plan, run };
}
