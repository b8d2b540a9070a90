import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AllTargetsFailedError,
  InvalidRequestError,
  NoRouteError,
  StreamInterruptedError,
} from "../../src/core/errors.js";
import { DEFAULT_BREAKER } from "../../src/health/breaker.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { collect } from "../helpers/async.js";
import { call, pipelineFor, request } from "../helpers/pipeline.js";

const PROMPT_MARKER = "zebra-crossing-4471";

function mockProvider(name: string, options: { hosted: boolean; mock?: string }): string {
  return `  ${name}:\n    kind: mock\n    hosted: ${options.hosted}\n    mock: ${options.mock ?? "{}"}\n`;
}

describe("pipeline.route", () => {
  it("retries a retryable failure once on the same target (the default), then falls back, and records every attempt", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("down", { hosted: false, mock: "{ failure_rate: 1, failure: unavailable }" })}${mockProvider("up", { hosted: false })}
routes:
  - name: chat
    primary: { provider: down, model: a }
    fallback: [{ provider: up, model: b }]
`);
    const result = await pipeline.route(request({ task: "chat" }), call());
    expect(result.decision).toMatchObject({
      route: "chat",
      rule: "any request",
      target: "up/b",
      dataClass: "internal",
      declaredDataClass: "",
      tenant: "default",
    });
    expect(result.decision.attempts.map((a) => [a.target, a.outcome, a.errorClass, a.retry])).toEqual([
      ["down/a", "failed", "overloaded", undefined],
      ["down/a", "failed", "overloaded", 1],
      ["up/b", "succeeded", undefined, undefined],
    ]);
    expect(result.message.content).toContain("up/b");
  });

  it("does not fall back after a failure that is not safe to retry", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("picky", { hosted: false, mock: "{ failure_rate: 1, failure: invalid_request }" })}${mockProvider("up", { hosted: false })}
routes:
  - name: chat
    primary: { provider: picky, model: a }
    fallback: [{ provider: up, model: b }]
`);
    const error = await pipeline.route(request(), call()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    const failed = error as AllTargetsFailedError;
    expect(failed.lastErrorClass).toBe("invalid_request");
    expect(failed.decision.attempts).toHaveLength(1);
  });

  it("answers with the route's fixed answer when every target failed retryably", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("down", { hosted: false, mock: "{ failure_rate: 1, failure: server_error }" })}
routes:
  - name: chat
    primary: { provider: down, model: a }
    degrade: { answer: "Try again later." }
`);
    const result = await pipeline.route(request(), call());
    expect(result).toMatchObject({ finishReason: "degraded", message: { content: "Try again later." } });
    expect(result.decision).toMatchObject({ degraded: true, target: "" });
  });

  it("caps output tokens by the route's budget", async () => {
    const { pipeline } = pipelineFor(`
defaults: { max_tokens: 3 }
providers:
${mockProvider("local", { hosted: false })}
routes:
  - name: bounded
    match: { task: bounded }
    primary: { provider: local, model: a }
    budgets: { max_tokens: bounded }
  - name: capped
    primary: { provider: local, model: a }
    budgets: { max_tokens: 5 }
`);
    const bounded = await pipeline.route(request({ task: "bounded" }), call());
    expect(bounded).toMatchObject({
      finishReason: "length",
      usage: { outputTokens: 3 },
      decision: { maxTokens: 3 },
    });
    const capped = await pipeline.route(request({ params: { maxTokens: 100, stop: [] } }), call());
    expect(capped.decision.maxTokens).toBe(5);
    const lower = await pipeline.route(request({ params: { maxTokens: 2, stop: [] } }), call());
    expect(lower.decision.maxTokens).toBe(2);
  });

  it("prices usage at the policy's rates", async () => {
    const { pipeline } = pipelineFor(`
providers:
  local:
    kind: mock
    hosted: false
    models: { a: { input_usd_per_mtok: 1000000, output_usd_per_mtok: 2000000 } }
routes:
  - name: r
    primary: { provider: local, model: a }
`);
    const result = await pipeline.route(request(), call());
    expect(result.costUsd).toBe(result.usage.inputTokens * 1 + result.usage.outputTokens * 2);
    expect(result.decision.costUsd).toBe(result.costUsd);
  });

  it("refuses bad requests naming the field", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("local", { hosted: false })}
routes:
  - name: only_code
    match: { task: code }
    primary: { provider: local, model: a }
`);
    const cases: Array<[Parameters<typeof request>[0], string]> = [
      [{ messages: [] }, "messages: must contain at least one message"],
      [{ dataClass: "top_secret" }, 'dataClass: unknown data class "top_secret"'],
      [{ messages: [{ role: "user", content: "" }] }, "messages[0].content: must not be empty"],
      [{ params: { temperature: 3, stop: [] } }, "params.temperature: must be between 0 and 2"],
      [
        { messages: [{ role: "system", content: "be nice" }] },
        "messages: must contain at least one message with role ROLE_USER",
      ],
      [
        {
          messages: [
            { role: "user", content: "weather?" },
            { role: "assistant", content: "", toolCalls: [{ id: "", name: "weather", arguments: "{}" }] },
          ],
        },
        "messages[1].toolCalls[0].id: must not be empty",
      ],
      [
        {
          messages: [
            { role: "user", content: "weather?" },
            { role: "tool", content: "sunny", toolCallId: "call_9" },
          ],
        },
        'messages[1].toolCallId: "call_9" answers no earlier tool call',
      ],
    ];
    for (const [overrides, message] of cases) {
      const error = await pipeline
        .route(request({ task: "code", ...overrides }), call())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toContain(message);
    }
    await expect(pipeline.route(request({ task: "chat" }), call())).rejects.toBeInstanceOf(NoRouteError);
  });

  it("never writes prompt or output text to a log line", async () => {
    const { pipeline, rawLogs } = pipelineFor(`
providers:
${mockProvider("down", { hosted: false, mock: "{ failure_rate: 1, failure: unavailable }" })}${mockProvider("up", { hosted: false })}
routes:
  - name: chat
    primary: { provider: down, model: a }
    fallback: [{ provider: up, model: b }]
`);
    const result = await pipeline.route(
      request({ messages: [{ role: "user", content: PROMPT_MARKER }] }),
      call(),
    );
    expect(result.message.content).toContain(PROMPT_MARKER);
    expect(rawLogs.length).toBeGreaterThan(0);
    for (const line of rawLogs) expect(line).not.toContain(PROMPT_MARKER);
  });
});

describe("pipeline.stream", () => {
  it("sends the decision first, then deltas and budget events, then done with the full decision", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("local", { hosted: false, mock: "{ token_interval_ms: 1 }" })}
routes:
  - name: r
    primary: { provider: local, model: a }
    budgets: { first_token_ms: 1000, max_token_gap_ms: 1000, max_latency_ms: 5000 }
`);
    const events = await collect(pipeline.stream(request(), call()));
    expect(events[0]?.type).toBe("decision");
    expect(events.at(-1)?.type).toBe("done");
    const text = events.map((event) => (event.type === "delta" ? event.content : "")).join("");
    const done = events.at(-1);
    if (done?.type !== "done") throw new Error("no done");
    expect(text).toContain("local/a");
    expect(done.decision.attempts).toEqual([
      expect.objectContaining({ target: "local/a", outcome: "succeeded" }),
    ]);
    const budgets = events.filter((event) => event.type === "budget");
    expect(
      budgets.map((event) => event.type === "budget" && [event.step, event.limitMs, event.exceeded]),
    ).toEqual([
      ["first_token", 1000, false],
      ["token_gap", 1000, false],
      ["total", 5000, false],
    ]);
  });

  it("moves to the next target when the first token does not come within its budget", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("slow", { hosted: false, mock: "{ latency_ms: 2000 }" })}${mockProvider("fast", { hosted: false })}
routes:
  - name: r
    primary: { provider: slow, model: a }
    fallback: [{ provider: fast, model: b }]
    budgets: { first_token_ms: 50 }
`);
    const started = performance.now();
    const events = await collect(pipeline.stream(request(), call()));
    expect(performance.now() - started).toBeLessThan(1500);
    const kinds = events.map((event) =>
      event.type === "budget" ? `budget:${event.step}:${event.exceeded}` : event.type,
    );
    expect(kinds.slice(0, 3)).toEqual(["decision", "budget:first_token:true", "attempt"]);
    expect(kinds.at(-1)).toBe("done");
    const attempt = events[2];
    expect(attempt?.type === "attempt" && attempt.attempt).toMatchObject({
      target: "slow/a",
      errorClass: "timeout",
      retryable: true,
    });
  });

  it("ends a started stream with an error when the gap between tokens exceeds its budget", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("stutter", { hosted: false, mock: "{ token_interval_ms: 300 }" })}${mockProvider("spare", { hosted: false })}
routes:
  - name: r
    primary: { provider: stutter, model: a }
    fallback: [{ provider: spare, model: b }]
    budgets: { max_token_gap_ms: 40 }
`);
    const events: string[] = [];
    const error = await (async () => {
      for await (const event of pipeline.stream(request(), call()))
        events.push(event.type === "budget" ? `budget:${event.step}:${event.exceeded}` : event.type);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
    expect((error as StreamInterruptedError).errorClass).toBe("timeout");
    expect(events).toEqual(["decision", "budget:first_token:false", "delta", "budget:token_gap:true"]);
  });

  it("does not hold a slow caller's pace against the provider's gap budget", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("steady", { hosted: false, mock: "{ token_interval_ms: 5, reply: 'one two three four' }" })}
routes:
  - name: r
    primary: { provider: steady, model: a }
    budgets: { max_token_gap_ms: 50 }
`);
    const events: string[] = [];
    for await (const event of pipeline.stream(request(), call())) {
      events.push(event.type);
      if (event.type === "delta") await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(events.at(-1)).toBe("done");
  });

  it("records the decision of a stream its caller abandoned", async () => {
    const { pipeline, decisions, rawLogs } = pipelineFor(`
providers:
${mockProvider("steady", { hosted: false, mock: "{ token_interval_ms: 5 }" })}
routes:
  - name: r
    primary: { provider: steady, model: a }
`);
    const context = call();
    for await (const event of pipeline.stream(request(), context)) if (event.type === "delta") break;
    const recorded = decisions.byCall(context.callId);
    expect(recorded?.decision).toMatchObject({ route: "r", target: "steady/a" });
    expect(recorded?.outcome).toBe("abandoned: the caller stopped reading");
    expect(recorded?.decision.attempts).toMatchObject([
      {
        target: "steady/a",
        outcome: "cancelled",
        message: "the caller stopped receiving the stream; the upstream request was aborted",
      },
    ]);
    expect(rawLogs.some((line) => line.includes('"outcome":"abandoned: the caller stopped reading"'))).toBe(
      true,
    );
  });

  it("reports a caller that went away before any attempt as cancelled, not as a routing failure", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("local", { hosted: false })}
routes:
  - name: r
    primary: { provider: local, model: a }
    degrade: { answer: "never for a cancelled caller" }
`);
    const gone = new AbortController();
    gone.abort();
    const error = await pipeline.route(request(), call(gone.signal)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTargetsFailedError);
    expect((error as AllTargetsFailedError).lastErrorClass).toBe("cancelled");
  });

  describe("against an OpenAI-compatible upstream", () => {
    let fake: FakeOpenAi;
    beforeAll(async () => {
      fake = await startFakeOpenAi();
    });
    afterAll(async () => {
      await fake.close();
    });

    it("keeps a complete answer when the upstream holds the connection open after [DONE]", async () => {
      fake.reset();
      const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      fake.script({
        type: "raw",
        contentType: "text/event-stream; charset=utf-8",
        body: `${chunk({ role: "assistant", content: "whole" })}${chunk({}, "stop")}data: [DONE]\n\n`,
        end: "hang",
      });
      const { pipeline } = pipelineFor(`
providers:
  upstream: { kind: openai-compatible, base_url: "${fake.url}", hosted: false }
routes:
  - name: r
    primary: { provider: upstream, model: m }
    budgets: { max_token_gap_ms: 100, max_latency_ms: 3000 }
`);
      const events = await collect(pipeline.stream(request(), call()));
      const done = events.at(-1);
      expect(done?.type === "done" && [done.finishReason, done.decision.target]).toEqual([
        "stop",
        "upstream/m",
      ]);
    });

    it("does not restart a stream on another model once tokens have reached the caller", async () => {
      fake.reset();
      fake.script({ type: "reply", content: ["one", " two", " three"], dropAfterTokens: 2 });
      const { pipeline } = pipelineFor(`
providers:
  upstream: { kind: openai-compatible, base_url: "${fake.url}", hosted: false }
${mockProvider("spare", { hosted: false })}
routes:
  - name: r
    primary: { provider: upstream, model: m }
    fallback: [{ provider: spare, model: b }]
`);
      const seen: string[] = [];
      const error = await (async () => {
        for await (const event of pipeline.stream(request(), call())) seen.push(event.type);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamInterruptedError);
      expect(seen).toContain("delta");
      expect((error as StreamInterruptedError).decision.attempts.map((a) => a.target)).toEqual([
        "upstream/m",
      ]);
    });

    const pricedUpstream = () => `
providers:
  upstream:
    kind: openai-compatible
    base_url: "${fake.url}"
    hosted: false
    models: { m: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 } }
routes:
  - name: r
    primary: { provider: upstream, model: m }
`;

    it("prices the deltas a cut stream delivered instead of recording it as free", async () => {
      fake.reset();
      const tokens = Array.from({ length: 20 }, (_, index) => ` paid${index}`);
      fake.script({ type: "reply", content: tokens, dropAfterTokens: 10 });
      const { pipeline, decisions } = pipelineFor(pricedUpstream());
      const context = call();
      const delivered: string[] = [];
      const error = await (async () => {
        for await (const event of pipeline.stream(request(), context))
          if (event.type === "delta") delivered.push(event.content);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamInterruptedError);
      // Every character received reached the caller (a word with digits waits for the next
      // word while it could be part of a key, and goes out when the stream ends).
      expect(delivered.join("")).toBe(tokens.slice(0, 10).join(""));
      const [attempt] = (error as StreamInterruptedError).decision.attempts;
      // Ten " paidN" deltas (60 characters) at four characters a token, estimated.
      expect(attempt?.usage).toEqual({ inputTokens: expect.any(Number), outputTokens: 15, estimated: true });
      expect((error as StreamInterruptedError).decision.costUsd).toBeGreaterThan(0);
      expect(decisions.byCall(context.callId)?.decision.costUsd).toBe(
        (error as StreamInterruptedError).decision.costUsd,
      );
    });

    it("estimates usage the upstream reported as negative, fractional or not numbers, and answers anyway", async () => {
      for (const usage of [
        { prompt_tokens: -5, completion_tokens: 3 },
        { prompt_tokens: 2.5, completion_tokens: 3 },
        { prompt_tokens: "12", completion_tokens: 3 },
      ]) {
        fake.reset();
        fake.script({ type: "reply", content: "fine answer", usage: usage as never });
        const { pipeline } = pipelineFor(pricedUpstream());
        const result = await pipeline.route(request(), call());
        expect(result.message.content).toBe("fine answer");
        expect(result.usage).toMatchObject({ estimated: true, outputTokens: 3 });
        expect(result.costUsd).toBeGreaterThan(0);
      }
    });

    it("takes a stream that says [DONE] after nothing it recognises for a protocol violation, not an answer", async () => {
      fake.reset();
      fake.script({
        type: "raw",
        contentType: "text/event-stream",
        body: 'data: {"foo":1}\n\ndata: [DONE]\n\n',
      });
      const { pipeline } = pipelineFor(pricedUpstream());
      const error = await pipeline.route(request(), call()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AllTargetsFailedError);
      expect((error as AllTargetsFailedError).lastErrorClass).toBe("protocol");
      expect((error as AllTargetsFailedError).decision.attempts).toMatchObject([
        {
          target: "upstream/m",
          outcome: "failed",
          errorClass: "protocol",
          message: "upstream stream ended without an answer",
        },
      ]);
    });
  });
});

describe("a primary that never answers", () => {
  it("is left at the first-token budget by Route too, so the fallback answers within the call's budget", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("hung", { hosted: false, mock: "{ failure_rate: 1, failure: timeout }" })}${mockProvider("up", { hosted: false })}
routes:
  - name: r
    primary: { provider: hung, model: a }
    fallback: [{ provider: up, model: b }]
    budgets: { first_token_ms: 200, max_latency_ms: 5000 }
`);
    const started = performance.now();
    const result = await pipeline.route(request(), call());
    expect(result.decision.target).toBe("up/b");
    expect(result.decision.attempts[0]).toMatchObject({
      target: "hung/a",
      outcome: "failed",
      errorClass: "timeout",
      message: "no first token within first_token_ms=200",
    });
    // Not the whole max_latency_ms: the fallback got the call long before.
    expect(performance.now() - started).toBeLessThan(4000);
  });
});

describe("pipeline.classify", () => {
  it("runs no step with effects: nothing is sent, reserved or recorded", async () => {
    const { pipeline, decisions, rawLogs } = pipelineFor(`
providers:
${mockProvider("up", { hosted: false })}
routes:
  - name: r
    primary: { provider: up, model: b }
`);
    const before = rawLogs.length;
    const context = call();
    const result = await pipeline.classify(request(), context);
    expect(result.decision).toMatchObject({ dryRun: true, attempts: [], target: "up/b", costUsd: 0 });
    expect(decisions.byCall(context.callId)).toBeUndefined();
    expect(rawLogs.slice(before).some((line) => line.includes('"msg":"decision"'))).toBe(false);
  });
});

describe("pipeline.classify", () => {
  it("returns the decision Route would take without sending anything", async () => {
    const { pipeline } = pipelineFor(`
providers:
${mockProvider("down", { hosted: false, mock: "{ failure_rate: 1, failure: unavailable }" })}
routes:
  - name: r
    primary: { provider: down, model: a }
`);
    const result = await pipeline.classify(request({ task: "summarize", dataClass: "pii" }), call());
    expect(result).toMatchObject({ task: "summarize", dataClass: "pii", entities: [] });
    expect(result.decision).toMatchObject({ route: "r", dryRun: true, attempts: [], target: "down/a" });
  });
});

describe("pipeline.classify and target health", () => {
  it("names the target Route would send to now: a pool ordered as Route orders it, skips said, the degrade rung when nothing is left", async () => {
    const { pipeline, health } = pipelineFor(`
providers:
${mockProvider("east", { hosted: false })}${mockProvider("west", { hosted: false })}${mockProvider("cheap", { hosted: false })}
routes:
  - name: r
    pool:
      strategy: least_in_flight
      targets: [{ provider: east, model: m }, { provider: west, model: m }]
    degrade: { target: { provider: cheap, model: small } }
`);
    const busy = health.admit("east/m", { ...DEFAULT_BREAKER, enabled: false });
    expect(busy.allowed).toBe(true);
    const pooled = await pipeline.classify(request(), call());
    expect(pooled.decision).toMatchObject({
      target: "west/m",
      pool: "least_in_flight: west/m (0 in flight) over east/m (1)",
    });

    health.takeOutOfService("west/m", "drill");
    health.takeOutOfService("east/m", "drill");
    const degraded = await pipeline.classify(request(), call());
    expect(degraded.decision).toMatchObject({
      target: "cheap/small",
      degraded: true,
      degradeRung: "target cheap/small",
      // Still in the pool's order: east is the busier.
      attempts: [
        { target: "west/m", outcome: "skipped", message: "skipped: out of service (drill)" },
        { target: "east/m", outcome: "skipped", message: "skipped: out of service (drill)" },
      ],
    });
  });
});
