import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { BreakerState, TargetState } from "../../gen/switchyard/v1/admin_pb.js";
import type { RouteResponse } from "../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REPLY } from "../fakes/fake-openai-server.js";
import { rejectionOf } from "../helpers/async.js";
import { always, type Chaos, skipMessages, sleep, startChaos, targetStatus } from "../helpers/chaos.js";
import { userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

const OPEN_MS = 300;

/** `chat`: primary then fallback, two attempts per target; breakers trip after four failures in a row. */
const start = (options: { openMs?: number; maxLatencyMs?: number } = {}) =>
  startChaos(
    ["primary", "fallback"],
    (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    budgets: { max_latency_ms: ${options.maxLatencyMs ?? 5000} }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
`,
    {
      breaker: `{ consecutive_failures: 4, open_ms: ${options.openMs ?? OPEN_MS}, half_open_probes: 1 }`,
    },
  );

const CHAT = userRequest("hello", { task: "chat" });
const OVERLOADED = { type: "error", status: 503 } as const;

describe("a persistent 503", () => {
  it("gets bounded attempts, then the fallback; once the breaker opens the primary sees no more requests", async () => {
    chaos = await start({ openMs: 60_000 });
    const { primary, fallback } = chaos.fakes;
    always(primary, OVERLOADED);

    const first = await chaos.router.route(CHAT);
    expect(first.message?.content).toBe(DEFAULT_REPLY);
    expect(first.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.OVERLOADED, retry: 0 },
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.OVERLOADED, retry: 1 },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(primary.requests).toHaveLength(2);

    // The second call's two failures make four in a row: the breaker opens.
    await chaos.router.route(CHAT);
    expect(primary.requests).toHaveLength(4);

    for (let i = 0; i < 5; i += 1) {
      const answer = await chaos.router.route(CHAT);
      expect(answer.decision?.target).toBe("fallback/m2");
      expect(answer.decision?.attempts).toMatchObject([
        { target: "primary/m1", outcome: AttemptOutcome.SKIPPED, retryable: true },
        { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
      ]);
      expect(skipMessages(answer.decision)).toEqual([
        expect.stringMatching(/^skipped: breaker open \(4 failures in a row\); probes in \d+ ms$/),
      ]);
    }
    expect(primary.requests).toHaveLength(4);
    expect(fallback.requests).toHaveLength(7);

    const status = await targetStatus(chaos.admin, "primary/m1");
    expect(status.state).toBe(TargetState.BREAKER_OPEN);
    expect(status.breaker).toBe(BreakerState.OPEN);
    expect(status.reason).toBe("breaker open (4 failures in a row)");
    expect((await targetStatus(chaos.admin, "fallback/m2")).state).toBe(TargetState.AVAILABLE);
  });
});

describe("a flapping primary", () => {
  it("is cut off while it fails, probed after open_ms, and gets its traffic back soon after it recovers", async () => {
    // Long enough that the four calls below all fall inside one open period on a loaded machine.
    const openMs = 1000;
    chaos = await start({ openMs });
    const { primary } = chaos.fakes;
    always(primary, OVERLOADED);

    // Failing 100%: two calls (four failures) open the breaker; the fallback serves meanwhile.
    for (let i = 0; i < 4; i += 1)
      expect((await chaos.router.route(CHAT)).decision?.target).toBe("fallback/m2");
    expect((await targetStatus(chaos.admin, "primary/m1")).breaker).toBe(BreakerState.OPEN);
    const failedRequests = primary.requests.length;
    expect(failedRequests).toBe(4);

    // It recovers.
    primary.setFallback(undefined);
    const recovered = performance.now();
    let answer: RouteResponse | undefined;
    while (performance.now() - recovered < 30_000) {
      answer = await chaos.router.route(CHAT);
      if (answer.decision?.target === "primary/m1") break;
      await sleep(20);
    }
    const back = performance.now() - recovered;
    expect(answer?.decision?.target).toBe("primary/m1");
    expect(answer?.message?.content).toBe(DEFAULT_REPLY);
    // Back within one open period and a second of scheduling, far inside the 30 s the issue allows.
    expect(back).toBeLessThan(openMs + 1000);
    // One probe closed the breaker; every call after it goes to the primary again.
    expect(primary.requests).toHaveLength(failedRequests + 1);
    expect((await targetStatus(chaos.admin, "primary/m1")).breaker).toBe(BreakerState.CLOSED);
    for (let i = 0; i < 3; i += 1)
      expect((await chaos.router.route(CHAT)).decision?.target).toBe("primary/m1");
  });
});

describe("a sustained run against a primary failing every call", () => {
  it("answers every call within max_latency_ms, and the open breaker lets only probes through", async () => {
    const openMs = 100;
    const maxLatencyMs = 2000;
    chaos = await start({ openMs, maxLatencyMs });
    const rig = chaos;
    const { primary, fallback } = rig.fakes;
    always(primary, OVERLOADED);

    const calls = 200;
    const concurrency = 4;
    let next = 0;
    let openedAt: number | undefined;
    let requestsBeforeOpen = 0;
    const slowest: number[] = [];
    const failures: unknown[] = [];
    const worker = async () => {
      while (next < calls) {
        next += 1;
        const started = performance.now();
        try {
          const answer = await rig.router.route(CHAT);
          slowest.push(performance.now() - started);
          expect(answer.message?.content).toBe(DEFAULT_REPLY);
          if (
            openedAt === undefined &&
            skipMessages(answer.decision).some((message) => message.includes("breaker open"))
          ) {
            // The breaker was open before this call decided: what reached the primary until then.
            openedAt = started;
            requestsBeforeOpen = primary.requests.length;
          }
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = performance.now() - (openedAt ?? 0);

    expect(failures).toEqual([]);
    expect(slowest).toHaveLength(calls);
    expect(Math.max(...slowest)).toBeLessThan(maxLatencyMs);
    expect(openedAt).toBeDefined();
    // Each open period lets through at most half_open_probes (1) probes.
    expect(primary.requests.length).toBeLessThanOrEqual(requestsBeforeOpen + Math.ceil(elapsed / openMs) * 1);
    expect(fallback.requests).toHaveLength(calls);
  });
});

describe("an outage drill", () => {
  it("takes the primary out of service (the decision says why) and returns it", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;

    expect((await chaos.router.route(CHAT)).decision?.target).toBe("primary/m1");
    expect(primary.requests).toHaveLength(1);

    const taken = await chaos.admin.takeTargetOutOfService({
      target: "primary/m1",
      reason: "drill 42: failover rehearsal",
    });
    expect(taken.target).toMatchObject({
      target: "primary/m1",
      state: TargetState.OUT_OF_SERVICE,
      reason: "out of service: drill 42: failover rehearsal",
    });

    const during = await chaos.router.route(CHAT);
    expect(during.decision?.target).toBe("fallback/m2");
    expect(during.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.SKIPPED },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(skipMessages(during.decision)).toEqual(["skipped: out of service (drill 42: failover rehearsal)"]);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
    expect((await targetStatus(chaos.admin, "primary/m1")).state).toBe(TargetState.OUT_OF_SERVICE);

    const returned = await chaos.admin.returnTargetToService({ target: "primary/m1" });
    expect(returned.wasOutOfService).toBe(true);
    expect(returned.target?.state).toBe(TargetState.AVAILABLE);

    const after = await chaos.router.route(CHAT);
    expect(after.decision?.target).toBe("primary/m1");
    expect(after.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(primary.requests).toHaveLength(2);
    expect(fallback.requests).toHaveLength(1);
  });

  it("with every target out of service: UNAVAILABLE naming the drill, and nothing sent", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    for (const target of ["primary/m1", "fallback/m2"])
      await chaos.admin.takeTargetOutOfService({ target, reason: "region evacuation" });

    const error = ConnectError.from(await rejectionOf(() => chaos?.router.route(CHAT) ?? Promise.resolve()));
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain("no target of the route is available");
    expect(primary.requests).toHaveLength(0);
    expect(fallback.requests).toHaveLength(0);
  });
});
