import { describe, expect, it } from "vitest";
import {
  AllTargetsFailedError,
  CallerStalledError,
  NoEligibleTargetError,
  StreamInterruptedError,
} from "../../src/core/errors.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import {
  consume,
  errorOf,
  harness,
  label,
  nextEvent,
  resultOf,
  routeYaml,
  settled,
} from "../helpers/execute-harness.js";

describe("execute, Route (the answer is assembled, nothing reaches the caller before it is whole)", () => {
  it("abandons a primary that sends no first token within first_token_ms, and the fallback answers well before max_latency_ms", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ budgets: "first_token_ms: 1000, max_latency_ms: 30000" }),
    );
    const run = route();
    const primary = await provider("slow").next();

    await clock.advance(999);
    expect(primary.aborted).toBe(false);
    await clock.advance(1);
    expect(primary.aborted).toBe(true);
    expect(primary.call.signal.reason).toMatchObject({
      errorClass: "timeout",
      message: "no first token within first_token_ms=1000",
    });

    const fallback = await provider("fast").next();
    fallback.say("from the fallback");
    fallback.finish({ usage: { inputTokens: 4, outputTokens: 3 } });
    const execution = await resultOf(run.outcome);

    expect(execution).toEqual({
      message: { role: "assistant", content: "from the fallback" },
      finishReason: "stop",
      answeredBy: 1,
    });
    expect(clock.now() - run.startedAt).toBe(1000);
    expect(run.decision.target).toBe("fast/b");
    expect(run.decision.attempts).toEqual([
      {
        target: "slow/a",
        outcome: "failed",
        latencyMs: 1000,
        errorClass: "timeout",
        message: "no first token within first_token_ms=1000",
        retryable: true,
        budgetMs: 1000,
        startedMs: 0,
      },
      // Sent the moment the primary was given up, and answering at once.
      {
        target: "fast/b",
        outcome: "succeeded",
        latencyMs: 0,
        budgetMs: 1000,
        startedMs: 1000,
        firstTokenMs: 0,
      },
    ]);
    // Route sends no events: the caller gets the answer whole.
    expect(run.events).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("moves on after a retryable failure that came after some tokens, and keeps what that attempt received", async () => {
    const { provider, route } = harness(routeYaml());
    const run = route();
    (await provider("slow").next()).fail(new ProviderError("connect", "connection refused"));
    const broken = await provider("fast").next();
    broken.say("partial answer");
    broken.fail(new ProviderError("server", "the upstream reset the stream"));
    const spare = await provider("spare").next();
    spare.say("whole answer");
    spare.finish({ usage: { inputTokens: 9, outputTokens: 2 } });
    const execution = await resultOf(run.outcome);

    // The partial text was never delivered, so it is not part of the answer.
    expect(execution.message.content).toBe("whole answer");
    expect(execution.answeredBy).toBe(2);
    expect(
      run.decision.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.errorClass]),
    ).toEqual([
      ["slow/a", "failed", "connect"],
      ["fast/b", "failed", "server"],
      ["spare/c", "succeeded", undefined],
    ]);
    // An attempt that received nothing and reported nothing consumed nothing.
    expect(run.consumed).toEqual([
      { attempt: 1, target: expect.objectContaining({ provider: "fast" }), receivedCharacters: 14 },
      {
        attempt: 2,
        target: expect.objectContaining({ provider: "spare" }),
        receivedCharacters: 12,
        reported: { inputTokens: 9, outputTokens: 2 },
      },
    ]);
  });

  it("keeps an attempt's reported usage even when it failed before any token", async () => {
    const { provider, route } = harness(routeYaml());
    const run = route();
    const primary = await provider("slow").next();
    primary.send({ type: "usage", usage: { inputTokens: 12, outputTokens: 0 } });
    primary.fail(new ProviderError("overloaded", "503"));
    const fallback = await provider("fast").next();
    fallback.say("ok");
    fallback.finish();
    await resultOf(run.outcome);

    expect(run.consumed.map((consumption) => [consumption.attempt, consumption.reported])).toEqual([
      [0, { inputTokens: 12, outputTokens: 0 }],
      [1, undefined],
    ]);
  });

  it("leaves a provider silent past max_token_gap_ms mid-answer for the next target (nothing reached the caller)", async () => {
    const { clock, provider, route } = harness(routeYaml({ budgets: "max_token_gap_ms: 500" }));
    const run = route();
    const primary = await provider("slow").next();
    primary.say("half of");
    await clock.advance(500);
    expect(primary.aborted).toBe(true);
    const fallback = await provider("fast").next();
    fallback.say("all of it");
    fallback.finish();
    const execution = await resultOf(run.outcome);

    expect(execution).toMatchObject({ message: { content: "all of it" }, answeredBy: 1 });
    expect(run.decision.attempts[0]).toMatchObject({
      errorClass: "timeout",
      message: "no token within max_token_gap_ms=500",
    });
    expect(run.consumed.map((consumption) => consumption.receivedCharacters)).toEqual([7, 9]);
  });

  it("stops at a failure that is not safe to retry (invalid_request), even with a degrade answer", async () => {
    const { provider, route } = harness(routeYaml({ degrade: "Try again later." }));
    const run = route();
    (await provider("slow").next()).fail(
      new ProviderError("invalid_request", "400 bad request", { status: 400 }),
    );
    const error = await errorOf(run.outcome);

    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect(error).toMatchObject({
      lastErrorClass: "invalid_request",
      message: 'no target of route "r" answered; last failure: 400 bad request',
    });
    expect(provider("fast").calls).toHaveLength(0);
    expect(run.decision.degraded).toBe(false);
    expect(run.decision.attempts).toEqual([
      expect.objectContaining({ target: "slow/a", errorClass: "invalid_request", retryable: false }),
    ]);
  });

  it("moves on from a target that cannot take the request as sent (invalid_request marked retryable), trying it once", async () => {
    // What an adapter throws for an image by URL on a wire that takes images inline only.
    const { provider, route } = harness(routeYaml({ retry: "max_attempts: 3, backoff_ms: 10" }));
    const run = route();
    (await provider("slow").next()).fail(
      new ProviderError("invalid_request", "gemini takes images inline only (data: URLs)", {
        retryable: true,
      }),
    );
    const fallback = await provider("fast").next();
    fallback.say("a cat");
    fallback.finish();
    const execution = await resultOf(run.outcome);

    expect(execution).toMatchObject({ message: { content: "a cat" }, answeredBy: 1 });
    expect(provider("slow").calls).toHaveLength(1);
    expect(run.decision.attempts).toEqual([
      expect.objectContaining({
        target: "slow/a",
        errorClass: "invalid_request",
        message: "gemini takes images inline only (data: URLs)",
        retryable: true,
      }),
      expect.objectContaining({ target: "fast/b", outcome: "succeeded" }),
    ]);
  });

  it("splits what is left of the deadline between the targets left to try, and stops once max_latency_ms is spent", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ budgets: "first_token_ms: 1000, max_latency_ms: 1500" }),
    );
    const run = route();
    // Three targets, 1500 ms: the primary's first token must come within its third.
    const primary = await provider("slow").next();
    await clock.advance(500);
    expect(primary.aborted).toBe(true);
    // Two left, 1000 ms: half each.
    const fallback = await provider("fast").next();
    await clock.advance(499);
    expect(fallback.aborted).toBe(false);
    await clock.advance(1);
    expect(fallback.aborted).toBe(true);
    // The last target has the rest (500 ms, under first_token_ms): the deadline ends it.
    const spare = await provider("spare").next();
    await clock.advance(500);
    const error = await errorOf(run.outcome);

    expect(spare.aborted).toBe(true);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect(error).toMatchObject({
      lastErrorClass: "timeout",
      message: 'no target of route "r" answered; last failure: route budget max_latency_ms=1500 exhausted',
    });
    expect(
      run.decision.attempts.map((attempt) => [
        attempt.target,
        attempt.latencyMs,
        attempt.budgetMs,
        attempt.message,
      ]),
    ).toEqual([
      ["slow/a", 500, 500, "no first token within this attempt's 500 ms share of the call's deadline"],
      ["fast/b", 500, 500, "no first token within this attempt's 500 ms share of the call's deadline"],
      ["spare/c", 500, 500, "route budget max_latency_ms=1500 exhausted"],
    ]);
    expect(clock.pending).toBe(0);
  });

  it("takes the caller's deadline when it is tighter than max_latency_ms", async () => {
    const { clock, provider, start } = harness(routeYaml({ budgets: "max_latency_ms: 30000" }));
    const run = start({ deadline: clock.now() + 900 });
    void run.generator.next().catch(() => {});
    await provider("slow").next();
    await clock.advance(300);
    await provider("fast").next();
    await clock.advance(300);
    await provider("spare").next();

    expect(run.decision.attempts.map((attempt) => [attempt.target, attempt.budgetMs])).toEqual([
      ["slow/a", 300],
      ["fast/b", 300],
    ]);
  });

  it("answers with the route's degrade answer when the last failure was retryable", async () => {
    const { provider, route } = harness(routeYaml({ degrade: "Try again later." }));
    const run = route();
    (await provider("slow").next()).fail(new ProviderError("overloaded", "503"));
    (await provider("fast").next()).fail(new ProviderError("rate_limited", "429", { retryAfterMs: 10 }));
    (await provider("spare").next()).fail(new ProviderError("server", "500"));
    const execution = await resultOf(run.outcome);

    expect(execution).toEqual({
      message: { role: "assistant", content: "Try again later." },
      finishReason: "degraded",
    });
    expect(run.decision).toMatchObject({ degraded: true, target: "" });
    expect(run.decision.attempts).toHaveLength(3);
  });

  it("degrades when the total budget ran out (a timeout is retryable)", async () => {
    const { clock, provider, route } = harness(
      routeYaml({ budgets: "max_latency_ms: 2000", degrade: "Try again later." }),
    );
    const run = route();
    // Begun answering, it is no longer bound by its share of the deadline: only by the deadline.
    (await provider("slow").next()).say("a slow");
    await clock.advance(2000);
    const execution = await resultOf(run.outcome);

    expect(execution.finishReason).toBe("degraded");
    expect(provider("fast").calls).toHaveLength(0);
  });

  it("never degrades after the caller cancelled, and tries nothing more", async () => {
    const { clock, provider, route } = harness(routeYaml({ degrade: "Try again later." }));
    const caller = new AbortController();
    const run = route({ signal: caller.signal });
    const primary = await provider("slow").next();
    primary.say("half an");
    await clock.advance(10);
    caller.abort();
    const error = await errorOf(run.outcome);

    expect(primary.aborted).toBe(true);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect(error).toMatchObject({ lastErrorClass: "cancelled" });
    expect(run.decision.degraded).toBe(false);
    expect(run.decision.attempts).toEqual([
      expect.objectContaining({
        target: "slow/a",
        outcome: "cancelled",
        errorClass: "cancelled",
        message: "the caller cancelled or its deadline passed; the upstream request was aborted",
        retryable: false,
      }),
    ]);
    expect(provider("fast").calls).toHaveLength(0);
    // What it received before the caller left was paid for.
    expect(run.consumed).toEqual([expect.objectContaining({ attempt: 0, receivedCharacters: 7 })]);
  });

  it("returns the assembled answer, its text and its tool calls joined by index, with the attempt that answered", async () => {
    const { provider, route } = harness(routeYaml());
    const run = route();
    (await provider("slow").next()).fail(new ProviderError("overloaded", "503"));
    const fallback = await provider("fast").next();
    fallback.say("Checking both.");
    fallback.send({
      type: "tool-call-delta",
      index: 1,
      id: "call_b",
      name: "clock",
      argumentsDelta: '{"tz":',
    });
    fallback.send({
      type: "tool-call-delta",
      index: 0,
      id: "call_a",
      name: "weather",
      argumentsDelta: '{"city":',
    });
    fallback.send({ type: "tool-call-delta", index: 1, argumentsDelta: '"UTC"}' });
    fallback.send({ type: "tool-call-delta", index: 0, argumentsDelta: '"Oslo"}' });
    fallback.finish({ finishReason: "tool_calls" });
    const execution = await resultOf(run.outcome);

    expect(execution).toEqual({
      message: {
        role: "assistant",
        content: "Checking both.",
        toolCalls: [
          { id: "call_a", name: "weather", arguments: '{"city":"Oslo"}' },
          { id: "call_b", name: "clock", arguments: '{"tz":"UTC"}' },
        ],
      },
      finishReason: "tool_calls",
      answeredBy: 1,
    });
  });

  it("sends each target the request as admitted, addressed to its model, on a signal of its own", async () => {
    const { provider, route } = harness(routeYaml({ maxTokens: "50" }));
    const messages = [{ role: "user" as const, content: "hello" }];
    const run = route({
      request: { messages, params: { maxTokens: 100, temperature: 0.5, topP: 0.9, stop: ["END"] } },
    });
    const primary = await provider("slow").next();
    primary.fail(new ProviderError("server", "500"));
    const fallback = await provider("fast").next();
    fallback.finish();
    await resultOf(run.outcome);

    expect(primary.call).toMatchObject({
      model: "a",
      messages,
      tools: [],
      maxTokens: 50,
      temperature: 0.5,
      topP: 0.9,
      stop: ["END"],
    });
    expect(fallback.call.model).toBe("b");
    expect(fallback.call.signal).not.toBe(primary.call.signal);
  });

  it("fails with NoEligibleTargetError, naming why, when the guard refuses every target", async () => {
    const { route } = harness(`
providers:
  local: { kind: mock, hosted: false }
  cloud: { kind: mock, hosted: true }
routes:
  - name: open
    match: { data_class: public }
    primary: { provider: cloud, model: a }
  - name: rest
    primary: { provider: local, model: a }
`);
    // A plan for public data (decide allowed cloud), run for a request classified pii: the
    // guard looks again, at the classification, not at the decision record.
    const run = route({ request: { dataClass: "public" }, dataClass: "pii" });
    const error = await errorOf(run.outcome);

    expect(error).toBeInstanceOf(NoEligibleTargetError);
    expect((error as Error).message).toBe(
      'route "open" has no target this request may be sent to (cloud/a: data class pii may not leave the boundary; provider cloud is hosted)',
    );
    expect(run.decision.attempts).toEqual([
      {
        target: "cloud/a",
        outcome: "refused",
        latencyMs: 0,
        errorClass: "policy",
        message: "data class pii may not leave the boundary; provider cloud is hosted",
        retryable: false,
      },
    ]);
  });
});

describe("execute, Stream (every event goes to the caller as it happens)", () => {
  it("sends the first-token budget event, the deltas, then the token-gap and total budget events", async () => {
    const { clock, provider, stream } = harness(
      routeYaml({ budgets: "first_token_ms: 1000, max_token_gap_ms: 500, max_latency_ms: 10000" }),
    );
    const run = stream();
    const primary = await provider("slow").next();
    await clock.advance(30);
    primary.say("one");
    await clock.advance(40);
    primary.say(" two");
    await clock.advance(10);
    primary.finish({ usage: { inputTokens: 5, outputTokens: 2 } });
    const execution = await resultOf(run.outcome);

    expect(run.events.map(label)).toEqual([
      "budget:first_token:30/1000",
      "delta:one",
      "delta: two",
      "budget:token_gap:40/500",
      "budget:total:80/10000",
    ]);
    expect(execution).toEqual({
      message: { role: "assistant", content: "one two" },
      finishReason: "stop",
      answeredBy: 0,
    });
    expect(run.decision.target).toBe("slow/a");
    expect(clock.pending).toBe(0);
  });

  it("passes tool-call deltas through with their index, id and name, and the target that wrote them", async () => {
    const { provider, stream } = harness(routeYaml());
    const run = stream();
    const primary = await provider("slow").next();
    primary.send({ type: "tool-call-delta", index: 0, id: "call_a", name: "weather", argumentsDelta: "{}" });
    primary.finish({ finishReason: "tool_calls" });
    await resultOf(run.outcome);

    expect(run.events.filter((event) => event.type === "delta")).toEqual([
      {
        type: "delta",
        content: "",
        toolCalls: [{ index: 0, id: "call_a", name: "weather", argumentsDelta: "{}" }],
        target: "slow/a",
      },
    ]);
  });

  it("ends a started answer with StreamInterruptedError when the provider is silent past max_token_gap_ms, without trying another model", async () => {
    const { clock, provider, stream } = harness(routeYaml({ budgets: "max_token_gap_ms: 500" }));
    const run = stream();
    const primary = await provider("slow").next();
    primary.say("one two");
    await clock.advance(499);
    expect(primary.aborted).toBe(false);
    await clock.advance(1);
    const error = await errorOf(run.outcome);

    expect(primary.aborted).toBe(true);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect(error).toMatchObject({ errorClass: "timeout" });
    expect((error as Error).message).toBe(
      "the stream from slow/a failed after it had started (no token within max_token_gap_ms=500); it is not restarted on another model",
    );
    expect(run.events.map(label)).toEqual([
      "budget:first_token:0/0",
      "delta:one",
      "delta: two",
      "budget:token_gap:500/500:exceeded",
    ]);
    expect(provider("fast").calls).toHaveLength(0);
    expect(run.decision.attempts).toEqual([
      expect.objectContaining({
        target: "slow/a",
        outcome: "failed",
        errorClass: "timeout",
        message: "no token within max_token_gap_ms=500",
      }),
    ]);
    expect(run.consumed).toEqual([expect.objectContaining({ attempt: 0, receivedCharacters: 7 })]);
  });

  it("does not count the gap while a delta waits for the caller to take it", async () => {
    const { clock, provider, start } = harness(routeYaml({ budgets: "max_token_gap_ms: 500" }));
    const { generator } = start({ deliver: true });
    const first = generator.next();
    const primary = await provider("slow").next();
    primary.say("one two three");
    const step = await first;
    expect(step.done === false && label(step.value)).toBe("budget:first_token:0/0");

    // The caller holds each delta four times longer than the gap budget; the provider is not late.
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(await nextEvent(generator));
      await clock.advance(2000);
      expect(primary.aborted).toBe(false);
    }
    const rest = settled(consume(generator, []));
    primary.finish();
    const execution = await resultOf(rest);

    expect(seen).toEqual(["delta:one", "delta: two", "delta: three"]);
    expect(execution.message.content).toBe("one two three");
  });

  it("fails over before the first token and says so in an attempt event", async () => {
    const { clock, provider, stream } = harness(routeYaml({ budgets: "first_token_ms: 1000" }));
    const run = stream();
    await provider("slow").next();
    await clock.advance(1000);
    (await provider("fast").next()).fail(new ProviderError("overloaded", "503"));
    const spare = await provider("spare").next();
    spare.say("ok");
    spare.finish();
    const execution = await resultOf(run.outcome);

    expect(run.events.map(label)).toEqual([
      "budget:first_token:1000/1000:exceeded",
      "attempt:slow/a:failed:timeout",
      "attempt:fast/b:failed:overloaded",
      "budget:first_token:0/1000",
      "delta:ok",
      "budget:token_gap:0/0",
      "budget:total:1000/0",
    ]);
    expect(execution.answeredBy).toBe(2);
  });

  it("ends with the degrade answer as one delta when every target failed retryably", async () => {
    const { provider, stream } = harness(routeYaml({ degrade: "Try again later." }));
    const run = stream();
    for (const name of ["slow", "fast", "spare"])
      (await provider(name).next()).fail(new ProviderError("server", "500"));
    const execution = await resultOf(run.outcome);

    expect(run.events.map(label)).toEqual([
      "attempt:slow/a:failed:server",
      "attempt:fast/b:failed:server",
      "attempt:spare/c:failed:server",
      "delta:Try again later.",
    ]);
    expect(execution.finishReason).toBe("degraded");
  });

  it("records an abandoned stream's attempt as cancelled, with what it received, and closes the upstream stream", async () => {
    const { clock, provider, start } = harness(routeYaml());
    const { generator, decision, consumed } = start({ deliver: true });
    const first = generator.next();
    const primary = await provider("slow").next();
    await clock.advance(30);
    primary.say("hello world");
    await first;
    expect(await nextEvent(generator)).toBe("delta:hello");
    await clock.advance(20);
    await generator.return(undefined as never);

    expect(primary.closed).toBe(true);
    expect(decision.attempts).toEqual([
      {
        target: "slow/a",
        outcome: "cancelled",
        latencyMs: 50,
        errorClass: "cancelled",
        message: "the caller stopped receiving the stream; the upstream request was aborted",
        retryable: false,
        startedMs: 0,
        firstTokenMs: 30,
      },
    ]);
    expect(consumed).toEqual([
      { attempt: 0, target: expect.objectContaining({ provider: "slow" }), receivedCharacters: 5 },
    ]);
    expect(provider("fast").calls).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });

  it("says why in the abandoned attempt when the caller stalled", async () => {
    const { provider, start } = harness(routeYaml());
    const caller = new AbortController();
    const { generator, decision } = start({ deliver: true, signal: caller.signal });
    const first = generator.next();
    const primary = await provider("slow").next();
    primary.say("hello world");
    await first;
    await nextEvent(generator);
    caller.abort(new CallerStalledError(3000));
    await generator.return(undefined as never);

    expect(decision.attempts[0]).toMatchObject({
      outcome: "cancelled",
      message: "the caller stopped reading the stream for 3000 ms; the upstream request was aborted",
    });
  });

  it("aborts the abandoned attempt's upstream signal", async () => {
    const { provider, start } = harness(routeYaml());
    const { generator } = start({ deliver: true });
    const first = generator.next();
    const primary = await provider("slow").next();
    primary.say("hello world");
    await first;
    await nextEvent(generator);
    await generator.return(undefined as never);

    expect(primary.aborted).toBe(true);
  });

  it("counts the first token when the caller leaves at the first-token budget event", async () => {
    const { provider, start } = harness(routeYaml());
    const { generator, consumed } = start({ deliver: true });
    const first = generator.next();
    const primary = await provider("slow").next();
    primary.say("hello world");
    expect((await first).value).toMatchObject({ type: "budget", step: "first_token" });
    await generator.return(undefined as never);

    expect(consumed).toEqual([expect.objectContaining({ attempt: 0, receivedCharacters: 5 })]);
  });
});
