import { describe, expect, it } from "vitest";
import { AllTargetsFailedError, StreamInterruptedError } from "../../src/core/errors.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import { errorOf, harness, label, resultOf, routeYaml } from "../helpers/execute-harness.js";

const overloaded = () => new ProviderError("overloaded", "upstream returned HTTP 503");
const serverError = () => new ProviderError("server", "upstream returned HTTP 500");
const rateLimited = (retryAfterMs?: number) =>
  new ProviderError("rate_limited", "upstream returned HTTP 429", {
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });

describe("execute: retries on the same target", () => {
  it("retries a 500 once after a backoff with full jitter, and the retry answers", async () => {
    const { clock, jitter, provider, route } = harness(
      routeYaml({ retry: "max_attempts: 2, backoff_ms: 200" }),
    );
    jitter.value = 0.25;
    const run = route();
    (await provider("slow").next()).fail(serverError());
    // Full jitter: a random wait in [0, 200] for the first retry; 0.25 of it here.
    await clock.advance(49);
    expect(provider("slow").calls).toHaveLength(1);
    await clock.advance(1);
    const retry = await provider("slow").next();
    retry.say("second time lucky");
    retry.finish();
    const execution = await resultOf(run.outcome);

    expect(execution.message.content).toBe("second time lucky");
    expect(provider("fast").calls).toHaveLength(0);
    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.retry])).toEqual([
      ["slow/a", "failed", undefined],
      ["slow/a", "succeeded", 1],
    ]);
  });

  it("waits at least what a 503's retry-after asks before the retry, and cools the target that long for other calls", async () => {
    const { clock, health, provider, route } = harness(
      routeYaml({ retry: "max_attempts: 2, backoff_ms: 10" }),
    );
    const run = route();
    (await provider("slow").next()).fail(
      new ProviderError("overloaded", "upstream returned HTTP 503", { retryAfterMs: 300 }),
    );
    await clock.advance(0);
    expect(health.unavailable("slow/a", DEFAULT_OFF)).toBe(
      "cooling down for 300 ms more (the provider's retry-after)",
    );
    await clock.advance(299);
    expect(provider("slow").calls).toHaveLength(1);
    await clock.advance(1);
    (await provider("slow").next()).finish();
    await resultOf(run.outcome);
    expect(run.decision.attempts.map((attempt) => [attempt.retry, attempt.retryAfterMs])).toEqual([
      [undefined, 300],
      [1, undefined],
    ]);
  });

  it("stops retrying at retry.max_attempts and moves on to the next target", async () => {
    const { clock, provider, route } = harness(routeYaml({ retry: "max_attempts: 3, backoff_ms: 100" }));
    const run = route();
    (await provider("slow").next()).fail(overloaded());
    await clock.advance(100);
    (await provider("slow").next()).fail(overloaded());
    await clock.advance(200);
    (await provider("slow").next()).fail(overloaded());
    const fallback = await provider("fast").next();
    fallback.say("ok");
    fallback.finish();
    await resultOf(run.outcome);

    expect(provider("slow").calls).toHaveLength(3);
    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.retry])).toEqual([
      ["slow/a", undefined],
      ["slow/a", 1],
      ["slow/a", 2],
      ["fast/b", undefined],
    ]);
  });

  it("does not retry a target that stayed silent for its whole first-token budget, nor a malformed answer", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ retry: "max_attempts: 3, backoff_ms: 1", budgets: "first_token_ms: 100" }),
    );
    const run = route();
    await provider("slow").next();
    await clock.advance(100);
    (await provider("fast").next()).fail(new ProviderError("protocol", "upstream sent a malformed chunk"));
    const spare = await provider("spare").next();
    spare.say("fine");
    spare.finish();
    await resultOf(run.outcome);

    expect(provider("slow").calls).toHaveLength(1);
    expect(provider("fast").calls).toHaveLength(1);
    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.errorClass])).toEqual([
      ["slow/a", "timeout"],
      ["fast/b", "protocol"],
      ["spare/c", undefined],
    ]);
  });

  it("never retries what the request caused (invalid_request, context_length, content_refused) nor falls back", async () => {
    for (const errorClass of ["invalid_request", "context_length", "content_refused"] as const) {
      const { provider, route } = harness(routeYaml({ retry: "max_attempts: 3, backoff_ms: 1" }));
      const run = route();
      (await provider("slow").next()).fail(new ProviderError(errorClass, `refused (${errorClass})`));
      const error = await errorOf(run.outcome);
      expect(error).toMatchObject({ lastErrorClass: errorClass });
      expect(provider("slow").calls).toHaveLength(1);
      expect(provider("fast").calls).toHaveLength(0);
    }
  });

  it("does not retry when the backoff would not fit the target's share of the deadline", async () => {
    const { provider, route, jitter } = harness(
      routeYaml({
        retry: "max_attempts: 3, backoff_ms: 2000, max_backoff_ms: 2000",
        budgets: "max_latency_ms: 3000",
      }),
    );
    jitter.value = 0.99;
    const run = route();
    // Three targets, 3000 ms: the primary's share is 1000 ms; a ~2 s backoff does not fit it.
    (await provider("slow").next()).fail(overloaded());
    const fallback = await provider("fast").next();
    fallback.say("ok");
    fallback.finish();
    await resultOf(run.outcome);
    expect(provider("slow").calls).toHaveLength(1);
  });

  it("stops retrying a target whose retry budget is spent (it is failing broadly)", async () => {
    const { health, provider, route } = harness(routeYaml({ retry: "max_attempts: 2, backoff_ms: 1" }));
    // Six failures take the budget from 10 tokens to 4, under half: no retries until it refills.
    for (let i = 0; i < 6; i += 1) {
      const permit = health.admit("slow/a", { ...DEFAULT_OFF });
      if (permit.allowed) health.ended(permit.permit, { kind: "failed", latencyMs: 1 });
    }
    expect(health.mayRetry("slow/a")).toBe(false);
    const run = route();
    (await provider("slow").next()).fail(overloaded());
    const fallback = await provider("fast").next();
    fallback.say("ok");
    fallback.finish();
    await resultOf(run.outcome);
    expect(provider("slow").calls).toHaveLength(1);
  });
});

/** A breaker that never opens, for feeding target health by hand. */
const DEFAULT_OFF = {
  enabled: false,
  consecutiveFailures: 1,
  failureRate: 1,
  slowCallRate: 1,
  slowCallMs: 1,
  windowMs: 1000,
  minimumCalls: 1,
  openMs: 1000,
  halfOpenProbes: 1,
};

describe("execute: circuit breakers", () => {
  const breakerYaml = routeYaml({
    extra: "    breaker: { consecutive_failures: 2, open_ms: 1000, half_open_probes: 1 }",
  });

  it("skips a target whose breaker is open, says so in the decision, and serves from the fallback", async () => {
    const { provider, route } = harness(breakerYaml);
    for (let call = 0; call < 2; call += 1) {
      const run = route();
      (await provider("slow").next()).fail(overloaded());
      const fallback = await provider("fast").next();
      fallback.say("ok");
      fallback.finish();
      await resultOf(run.outcome);
    }
    const run = route();
    const fallback = await provider("fast").next();
    fallback.say("ok");
    fallback.finish();
    await resultOf(run.outcome);

    expect(provider("slow").calls).toHaveLength(2);
    expect(run.decision.attempts[0]).toEqual({
      target: "slow/a",
      outcome: "skipped",
      latencyMs: 0,
      message: "skipped: breaker open (2 failures in a row); probes in 1000 ms",
      retryable: true,
    });
  });

  it("lets one probe through after open_ms and closes on its success", async () => {
    const { clock, health, provider, route } = harness(breakerYaml);
    for (let call = 0; call < 2; call += 1) {
      const run = route();
      (await provider("slow").next()).fail(overloaded());
      const fallback = await provider("fast").next();
      fallback.finish();
      await resultOf(run.outcome);
    }
    await clock.advance(1000);
    expect(health.views().get("slow/a")?.breaker.state).toBe("half_open");
    const probe = route();
    const probed = await provider("slow").next();
    probed.say("back");
    probed.finish();
    await resultOf(probe.outcome);
    expect(health.views().get("slow/a")?.breaker.state).toBe("closed");
  });

  it("counts neither the caller's cancellation nor the request's own fault against the target", async () => {
    const { health, provider, route } = harness(breakerYaml);
    for (let call = 0; call < 3; call += 1) {
      const run = route();
      (await provider("slow").next()).fail(
        new ProviderError("invalid_request", "upstream returned HTTP 400"),
      );
      await errorOf(run.outcome);
    }
    expect(health.views().get("slow/a")?.breaker.state).toBe("closed");
  });
});

describe("execute: rate limits", () => {
  it("cools a target that answered 429 for its retry-after: the next call does not go to it", async () => {
    const { clock, provider, route } = harness(routeYaml());
    const first = route();
    (await provider("slow").next()).fail(rateLimited(7000));
    (await provider("fast").next()).finish();
    await resultOf(first.outcome);
    expect(first.decision.attempts[0]).toMatchObject({ errorClass: "rate_limited", retryAfterMs: 7000 });

    await clock.advance(6000);
    const second = route();
    (await provider("fast").next()).finish();
    await resultOf(second.outcome);
    expect(provider("slow").calls).toHaveLength(1);
    expect(second.decision.attempts[0]).toMatchObject({
      target: "slow/a",
      outcome: "skipped",
      message: "skipped: cooling down for 1000 ms more (the provider's retry-after)",
    });

    await clock.advance(1000);
    const third = route();
    (await provider("slow").next()).finish();
    await resultOf(third.outcome);
    expect(provider("slow").calls).toHaveLength(2);
  });

  it("on its last target, waits out a retry-after that fits the deadline, then tries again", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ retry: "max_attempts: 2", budgets: "max_latency_ms: 10000" }),
    );
    const run = route();
    (await provider("slow").next()).fail(rateLimited(100));
    (await provider("fast").next()).fail(rateLimited(100));
    (await provider("spare").next()).fail(rateLimited(300));
    await clock.advance(299);
    expect(provider("spare").calls).toHaveLength(1);
    await clock.advance(1);
    (await provider("spare").next()).finish();
    await resultOf(run.outcome);
    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.retry])).toEqual([
      ["slow/a", undefined],
      ["fast/b", undefined],
      ["spare/c", undefined],
      ["spare/c", 1],
    ]);
  });

  it("on its last target, a 429 without retry-after waits out our own backoff (at least 1 s), never straight back", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ retry: "max_attempts: 2", budgets: "max_latency_ms: 10000" }),
    );
    const run = route();
    (await provider("slow").next()).fail(rateLimited());
    (await provider("fast").next()).fail(rateLimited());
    (await provider("spare").next()).fail(rateLimited());
    await clock.advance(999);
    expect(provider("spare").calls).toHaveLength(1);
    await clock.advance(1);
    (await provider("spare").next()).finish();
    await resultOf(run.outcome);
    expect(run.decision.attempts.at(-1)).toMatchObject({ target: "spare/c", outcome: "succeeded", retry: 1 });
  });

  it("fails with rate_limited and the retry delay when the wait does not fit the deadline", async () => {
    const { provider, route } = harness(routeYaml({ budgets: "max_latency_ms: 5000" }));
    const run = route();
    (await provider("slow").next()).fail(rateLimited(9000));
    (await provider("fast").next()).fail(rateLimited(8000));
    (await provider("spare").next()).fail(rateLimited(7000));
    const error = await errorOf(run.outcome);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect(error).toMatchObject({ lastErrorClass: "rate_limited", retryAfterMs: 7000 });
  });

  it("when every target is cooling, fails at once with the soonest a target takes calls again", async () => {
    const { clock, provider, route } = harness(routeYaml());
    const first = route();
    (await provider("slow").next()).fail(rateLimited(3000));
    (await provider("fast").next()).fail(rateLimited(2000));
    (await provider("spare").next()).fail(rateLimited(4000));
    await errorOf(first.outcome);
    await clock.advance(500);

    const second = route();
    const error = await errorOf(second.outcome);
    expect(error).toMatchObject({ lastErrorClass: "rate_limited", retryAfterMs: 1500 });
    expect(second.decision.attempts.map((attempt) => attempt.outcome)).toEqual([
      "skipped",
      "skipped",
      "skipped",
    ]);
  });
});

describe("execute: hedging", () => {
  const hedged = routeYaml({ extra: "    hedge: { after_ms: 200 }" });

  it("starts the next target when the first has no first token after the hedge delay, and keeps the first to answer", async () => {
    const { clock, provider, route } = harness(hedged);
    const run = route();
    const primary = await provider("slow").next();
    await clock.advance(199);
    expect(provider("fast").calls).toHaveLength(0);
    await clock.advance(1);
    const hedge = await provider("fast").next();
    hedge.say("the hedge was quicker");
    hedge.finish({ usage: { inputTokens: 5, outputTokens: 4 } });
    const execution = await resultOf(run.outcome);

    expect(execution.message.content).toBe("the hedge was quicker");
    expect(primary.aborted).toBe(true);
    expect(run.decision.target).toBe("fast/b");
    expect(run.decision.attempts).toEqual([
      {
        target: "slow/a",
        outcome: "cancelled",
        latencyMs: 200,
        errorClass: "cancelled",
        message: "hedge: fast/b answered first; the upstream request was aborted",
        retryable: false,
        startedMs: 0,
      },
      // Started at the hedge delay, beside the primary.
      { target: "fast/b", outcome: "succeeded", latencyMs: 0, hedge: true, startedMs: 200, firstTokenMs: 0 },
    ]);
    // Both are priced: the loser read the prompt.
    expect(run.consumed.map((consumption) => consumption.attempt)).toEqual([0, 1]);
  });

  it("keeps the first target when it answers before the hedge does, and stops the hedge", async () => {
    const { clock, provider, route } = harness(hedged);
    const run = route();
    const primary = await provider("slow").next();
    await clock.advance(200);
    const hedge = await provider("fast").next();
    primary.say("first after all");
    primary.finish();
    const execution = await resultOf(run.outcome);
    expect(execution.message.content).toBe("first after all");
    expect(hedge.aborted).toBe(true);
    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.hedge])).toEqual([
      ["fast/b", "cancelled", true],
      ["slow/a", "succeeded", undefined],
    ]);
  });

  it("with after: p95, hedges at the target's observed p95 time to first token once 20 were seen", async () => {
    const { clock, health, provider, route } = harness(
      routeYaml({ extra: "    hedge: { after: p95, after_ms: 500 }" }),
    );
    for (let sample = 1; sample <= 20; sample += 1) {
      const admission = health.admit("slow/a", { ...DEFAULT_OFF });
      if (admission.allowed)
        health.ended(admission.permit, { kind: "succeeded", latencyMs: 200, firstTokenMs: sample * 4 });
    }
    // Nearest rank: the 19th of 20 samples, 76 ms.
    const run = route();
    const primary = await provider("slow").next();
    await clock.advance(75);
    expect(provider("fast").calls).toHaveLength(0);
    await clock.advance(1);
    expect(provider("fast").calls).toHaveLength(1);
    primary.finish();
    await resultOf(run.outcome);
  });

  it("waits for the other when one fails before answering", async () => {
    const { clock, provider, route } = harness(hedged);
    const run = route();
    const primary = await provider("slow").next();
    await clock.advance(200);
    (await provider("fast").next()).fail(overloaded());
    primary.say("slow but sure");
    primary.finish();
    const execution = await resultOf(run.outcome);
    expect(execution.message.content).toBe("slow but sure");
    expect(provider("spare").calls).toHaveLength(0);
  });

  it("never hedges to a target the request's class may not go to", async () => {
    const { clock, provider, route } = harness(`
providers:
  slow: { kind: mock, hosted: false }
  cloud: { kind: mock, hosted: true }
data_classes:
  public: { may_leave: true }
  internal: { may_leave: false }
routes:
  - name: r
    primary: { provider: slow, model: a }
    fallback: [{ provider: cloud, model: b }]
    hedge: { after_ms: 50 }
    match: { data_class: public }
`);
    const run = route({ request: { dataClass: "public" }, dataClass: "internal" });
    const primary = await provider("slow").next();
    await clock.advance(50);
    primary.finish();
    await resultOf(run.outcome);
    expect(provider("cloud").calls).toHaveLength(0);
    expect(run.decision.attempts[0]).toMatchObject({ target: "cloud/b", outcome: "refused" });
  });
});

describe("execute: degrade ladder and drills", () => {
  it("serves from the degrade target when every target failed, then from the fixed answer when that fails too", async () => {
    const yaml = `
providers:
  down: { kind: mock, hosted: false }
  cheap: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: down, model: a }
    retry: { max_attempts: 1 }
    degrade: { target: { provider: cheap, model: small }, answer: "Later, please." }
`;
    const { provider, route } = harness(yaml);
    const first = route();
    (await provider("down").next()).fail(overloaded());
    const cheap = await provider("cheap").next();
    cheap.say("a cheaper answer");
    cheap.finish();
    expect((await resultOf(first.outcome)).message.content).toBe("a cheaper answer");
    expect(first.decision).toMatchObject({
      degraded: true,
      degradeRung: "target cheap/small",
      target: "cheap/small",
    });

    const second = route();
    (await provider("down").next()).fail(overloaded());
    (await provider("cheap").next()).fail(overloaded());
    const execution = await resultOf(second.outcome);
    expect(execution).toMatchObject({ message: { content: "Later, please." }, finishReason: "degraded" });
    expect(second.decision).toMatchObject({ degraded: true, degradeRung: "answer", target: "" });
  });

  it("skips a target an operator took out of service, with the reason, until it is returned", async () => {
    const { health, provider, route } = harness(routeYaml());
    health.takeOutOfService("slow/a", "drill: primary gone for 48 h");
    const run = route();
    (await provider("fast").next()).finish();
    await resultOf(run.outcome);
    expect(run.decision.attempts[0]).toMatchObject({
      target: "slow/a",
      outcome: "skipped",
      message: "skipped: out of service (drill: primary gone for 48 h)",
    });

    health.returnToService("slow/a");
    const after = route();
    (await provider("slow").next()).finish();
    await resultOf(after.outcome);
    expect(provider("slow").calls).toHaveLength(1);
  });
});

describe("execute: Stream", () => {
  it("a hedge that wins reaches the caller alone: the loser's attempt is recorded, its words never sent", async () => {
    const { clock, provider, stream } = harness(routeYaml({ extra: "    hedge: { after_ms: 100 }" }));
    const run = stream();
    await provider("slow").next();
    await clock.advance(100);
    const hedge = await provider("fast").next();
    hedge.say("hedged words");
    hedge.finish();
    await resultOf(run.outcome);
    expect(run.events.map(label).filter((line) => line.startsWith("delta"))).toEqual([
      "delta:hedged",
      "delta: words",
    ]);
    expect(run.decision.attempts.map((attempt) => attempt.outcome)).toEqual(["cancelled", "succeeded"]);
    // The caller hears of the lost hedge as it happens, as of any attempt that did not answer.
    expect(run.events.map(label)).toContain("attempt:slow/a:cancelled:cancelled");
  });

  it("is not retried once a token reached the caller", async () => {
    const { provider, stream } = harness(routeYaml({ retry: "max_attempts: 3, backoff_ms: 1" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.say("half");
    primary.fail(serverError());
    expect(await errorOf(run.outcome)).toBeInstanceOf(StreamInterruptedError);
    expect(provider("slow").calls).toHaveLength(1);
    expect(provider("fast").calls).toHaveLength(0);
  });
});

describe("execute: pools", () => {
  const pooled = `
providers:
  east: { kind: mock, hosted: false }
  west: { kind: mock, hosted: false }
  spare: { kind: mock, hosted: false }
routes:
  - name: r
    pool:
      strategy: least_in_flight
      targets:
        - { provider: east, model: m }
        - { provider: west, model: m }
    fallback: [{ provider: spare, model: c }]
    retry: { max_attempts: 1 }
`;

  it("tries the member with fewest calls in flight first, the other next, then the fallbacks, and says why", async () => {
    const { health, provider, route } = harness(pooled);
    const busy = health.admit("east/m", { ...DEFAULT_OFF });
    expect(busy.allowed).toBe(true);
    const run = route();
    (await provider("west").next()).fail(overloaded());
    (await provider("east").next()).fail(overloaded());
    (await provider("spare").next()).finish();
    await resultOf(run.outcome);
    expect(run.decision.pool).toBe("least_in_flight: west/m (0 in flight) over east/m (1)");
    expect(run.decision.attempts.map((attempt) => attempt.target)).toEqual(["west/m", "east/m", "spare/c"]);
    expect(run.decision.candidates.map((candidate) => candidate.role)).toEqual([
      "pool[0]",
      "pool[1]",
      "fallback[0]",
    ]);
  });
});

describe("execute: resume_on_fallback (Stream)", () => {
  it("continues a stream cut after tokens reached the caller on the next target, from what was delivered", async () => {
    const { provider, stream } = harness(routeYaml({ extra: "    resume_on_fallback: true" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.say("one two");
    primary.fail(serverError());
    const fallback = await provider("fast").next();
    expect(fallback.call.assistantPrefix).toBe("one two");
    fallback.say(" three");
    fallback.finish();
    const execution = await resultOf(run.outcome);

    expect(execution.message.content).toBe("one two three");
    expect(run.events.map(label).filter((line) => line.startsWith("delta"))).toEqual([
      "delta:one",
      "delta: two",
      "delta: three",
    ]);
    expect(
      run.decision.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.continues]),
    ).toEqual([
      ["slow/a", "failed", undefined],
      ["fast/b", "succeeded", true],
    ]);
    expect(run.decision.target).toBe("fast/b");
  });

  it("ends with an error as before when the cut answer had begun a tool call", async () => {
    const { provider, stream } = harness(routeYaml({ extra: "    resume_on_fallback: true" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.send({
      type: "tool-call-delta",
      index: 0,
      id: "call_1",
      name: "lookup",
      argumentsDelta: '{"q":',
    });
    primary.fail(serverError());
    expect(await errorOf(run.outcome)).toBeInstanceOf(StreamInterruptedError);
    expect(provider("fast").calls).toHaveLength(0);
  });

  it("never continues on a target across the boundary from the cut one (what it wrote was not redacted for it)", async () => {
    const { provider, stream } = harness(`
defaults: { data_class: public }
providers:
  inside: { kind: mock, hosted: false }
  cloud: { kind: mock, hosted: true }
data_classes:
  public: { may_leave: true }
routes:
  - name: r
    primary: { provider: inside, model: a }
    fallback: [{ provider: cloud, model: b }]
    retry: { max_attempts: 1 }
    resume_on_fallback: true
`);
    const run = stream();
    const primary = await provider("inside").next();
    primary.say("partial");
    primary.fail(serverError());
    expect(await errorOf(run.outcome)).toBeInstanceOf(StreamInterruptedError);
    expect(provider("cloud").calls).toHaveLength(0);
  });
});

describe("execute: what a second reviewer found", () => {
  it("never continues a stream cut by a refusal (resume_on_fallback): a refusal is not moved elsewhere", async () => {
    const { provider, stream } = harness(routeYaml({ extra: "    resume_on_fallback: true" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.say("one two");
    primary.fail(new ProviderError("content_refused", "upstream content filter"));
    expect(await errorOf(run.outcome)).toBeInstanceOf(StreamInterruptedError);
    expect(provider("fast").calls).toHaveLength(0);
  });

  it("stops continuing when a continuation fails in a way that forbids moving on", async () => {
    const { provider, stream } = harness(routeYaml({ extra: "    resume_on_fallback: true" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.say("one");
    primary.fail(serverError());
    (await provider("fast").next()).fail(new ProviderError("invalid_request", "upstream returned HTTP 400"));
    expect(await errorOf(run.outcome)).toBeInstanceOf(StreamInterruptedError);
    expect(provider("spare").calls).toHaveLength(0);
  });

  it("does not hold a timeout against a target that only had its share of a short caller deadline", async () => {
    const { clock, health, provider, start } = harness(routeYaml());
    for (let call = 0; call < 6; call += 1) {
      const run = start({ deadline: clock.now() + 300 });
      void run.generator.next().catch(() => {});
      await provider("slow").next();
      await clock.advance(100);
      (await provider("fast").next()).finish();
      await clock.advance(0);
    }
    expect(health.views().get("slow/a")?.breaker).toMatchObject({ state: "closed", calls: 0 });
    expect(health.mayRetry("slow/a")).toBe(true);
  });

  it("in a hedge race, a failure that forbids moving on stands over a retryable one that came after it", async () => {
    const { clock, provider, route } = harness(routeYaml({ extra: "    hedge: { after_ms: 100 }" }));
    const run = route();
    const primary = await provider("slow").next();
    await clock.advance(100);
    const hedge = await provider("fast").next();
    primary.fail(new ProviderError("invalid_request", "upstream returned HTTP 400"));
    await clock.advance(0);
    hedge.fail(overloaded());
    const error = await errorOf(run.outcome);
    expect(error).toMatchObject({ lastErrorClass: "invalid_request" });
    expect(provider("spare").calls).toHaveLength(0);
  });

  it("does not wait out a server's retry-after longer than max_backoff_ms: the next target serves", async () => {
    const { provider, route } = harness(routeYaml({ retry: "max_attempts: 2, max_backoff_ms: 2000" }));
    const run = route();
    (await provider("slow").next()).fail(
      new ProviderError("overloaded", "upstream returned HTTP 503", { retryAfterMs: 120_000 }),
    );
    (await provider("fast").next()).finish();
    await resultOf(run.outcome);
    expect(provider("slow").calls).toHaveLength(1);
  });

  it("when every target is skipped and not all for a 429, the call is unavailable, not rate limited", async () => {
    const { health, provider, route } = harness(routeYaml());
    health.takeOutOfService("slow/a", "drill");
    health.takeOutOfService("fast/b", "drill");
    health.cool("spare/c", 5000, "the provider's retry-after");
    const run = route();
    const error = await errorOf(run.outcome);
    expect(error).toMatchObject({ lastErrorClass: "overloaded" });
    expect(provider("spare").calls).toHaveLength(0);
  });
});

describe("execute: timeouts and the breaker", () => {
  it("counts a timeout the provider itself reported (a 408, its headers never came) against the target", async () => {
    const { health, provider, route } = harness(
      routeYaml({ extra: "    breaker: { consecutive_failures: 2 }" }),
    );
    for (let call = 0; call < 2; call += 1) {
      const run = route();
      (await provider("slow").next()).fail(new ProviderError("timeout", "upstream returned HTTP 408"));
      (await provider("fast").next()).finish();
      await resultOf(run.outcome);
    }
    expect(health.views().get("slow/a")?.breaker.state).toBe("open");
  });

  it("counts first_token_ms running out against the target, but not the call's max_latency_ms", async () => {
    const { clock, health, provider, route } = harness(
      routeYaml({ budgets: "first_token_ms: 100", extra: "    breaker: { consecutive_failures: 1 }" }),
    );
    const first = route();
    await provider("slow").next();
    await clock.advance(100);
    (await provider("fast").next()).finish();
    await resultOf(first.outcome);
    expect(health.views().get("slow/a")?.breaker.state).toBe("open");

    const {
      clock: clock2,
      health: health2,
      provider: provider2,
      route: route2,
    } = harness(
      routeYaml({ budgets: "max_latency_ms: 100", extra: "    breaker: { consecutive_failures: 1 }" }),
    );
    const second = route2();
    (await provider2("slow").next()).say("begun");
    await clock2.advance(100);
    await errorOf(second.outcome);
    expect(health2.views().get("slow/a")?.breaker).toMatchObject({ state: "closed", calls: 0 });
  });
});
