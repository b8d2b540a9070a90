import { createServer } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admit } from "../../src/admit/admit.js";
import { classify } from "../../src/classify/classify.js";
import { AllTargetsFailedError, DecidedError, NoEligibleTargetError } from "../../src/core/errors.js";
import { decide } from "../../src/decide/decide.js";
import { executeStream } from "../../src/execute/execute-stream.js";
import { executeUnary } from "../../src/execute/execute-unary.js";
import { identify } from "../../src/identify/identify.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { call, collect, pipelineFor, request } from "../helpers/pipeline.js";

/** A loopback port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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
      const identified = identify(request({ dataClass: "pii" }), lease.policy);
      const classification = classify(identified, lease.policy);
      const plan = decide(
        identified,
        { ...classification, dataClass: "public" },
        lease.policy,
        `${"0".repeat(31)}1`,
      );
      // A plan computed for `public` (as if the class were raised after routing), executed for pii.
      expect(plan.eligible.map((target) => target.provider)).toEqual(["hosted_llm", "onprem_down"]);
      plan.decision.dataClass = "pii";
      const input = {
        request: identified,
        plan,
        admission: admit(identified, plan.route, lease.policy),
        lease,
        signal: new AbortController().signal,
        now: () => performance.now(),
        logger: pino({ level: "silent" }),
      };
      const unary = await executeUnary(input).catch((e: unknown) => e);
      expect(unary).toBeInstanceOf(DecidedError);
      expect(plan.decision.attempts[0]).toMatchObject({
        target: "hosted_llm/gpt",
        outcome: "refused",
        errorClass: "policy",
        message: "data class pii may not leave the boundary; provider hosted_llm is hosted",
      });
      plan.decision.attempts = [];
      const streamed = await collect(executeStream(input) as AsyncIterable<never>).catch((e: unknown) => e);
      expect(streamed).toBeInstanceOf(DecidedError);
      expect(plan.decision.attempts[0]).toMatchObject({ target: "hosted_llm/gpt", outcome: "refused" });
      expect(hosted.requests).toHaveLength(0);
    } finally {
      lease.release();
    }
  });

  it("keeps a region-limited class on self-hosted targets, and sends a class no route matches nowhere", async () => {
    const { pipeline } = pipelineFor(`
providers:
  hosted_llm: { kind: mock, hosted: true }
  onprem: { kind: mock, hosted: false }
data_classes:
  public: { may_leave: true }
  eu_only: { may_leave: true, regions: [eu] }
  pii: { may_leave: false }
routes:
  - name: open
    match: { data_class: [public] }
    primary: { provider: hosted_llm, model: gpt }
  - name: eu
    match: { data_class: [eu_only] }
    primary: { provider: onprem, model: llama }
defaults: { data_class: pii }
`);
    const eu = pipeline.classify(request({ dataClass: "eu_only" }), call());
    expect(eu.decision.candidates).toEqual([{ target: "onprem/llama", role: "primary", eligible: true }]);
    const error = await pipeline.route(request(), call()).catch((e: unknown) => e);
    // pii matches no route here, so nothing is sent anywhere.
    expect(error).not.toBeInstanceOf(NoEligibleTargetError);
    expect((error as Error).message).toContain('no route matches task "chat", data class "pii"');
  });
});
