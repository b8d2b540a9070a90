import { Code, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { TargetState } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";
import {
  always,
  type Chaos,
  cooledUntilMs,
  failedRoute,
  RATE_LIMITED_WITHOUT_RETRY_AFTER,
  skipMessages,
  startChaos,
  targetStatus,
} from "../helpers/chaos.js";
import { userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback" | "lonely"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

/** `chat` fails over from primary to fallback; `alone` has one target and a 2 s budget. */
const start = () =>
  startChaos(
    ["primary", "fallback", "lonely"],
    (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { backoff_ms: 1, max_backoff_ms: 5 }
  - name: alone
    match: { task: alone }
    primary: { provider: lonely, model: m3 }
    budgets: { max_latency_ms: 2000 }
    retry: { backoff_ms: 1, max_backoff_ms: 5 }
`,
  );

const CHAT = userRequest("hello", { task: "chat" });
const ALONE = userRequest("hello", { task: "alone" });

describe("a 429 with retry-after", () => {
  it("fails over to the fallback at once and cools the primary for the retry-after", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    primary.script({ type: "error", status: 429, retryAfterSeconds: 7 });

    const started = performance.now();
    const first = await chaos.router.route(CHAT);
    // No wait for the 7 s: the fallback answers straight away.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(first.message?.content).toBe("Hello from the fake OpenAI server.");
    expect(first.decision?.target).toBe("fallback/m2");
    expect(first.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.RATE_LIMITED,
        retryable: true,
        retryAfterMs: 7000,
        retry: 0,
      },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED, retry: 0 },
    ]);

    // Within the cooling, the primary is not even asked.
    const second = await chaos.router.route(CHAT);
    expect(second.decision?.target).toBe("fallback/m2");
    expect(second.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.SKIPPED },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(skipMessages(second.decision)).toEqual([
      expect.stringMatching(/^skipped: cooling down for \d+ ms more \(the provider's retry-after\)$/),
    ]);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(2);

    const status = await targetStatus(chaos.admin, "primary/m1");
    expect(status.state).toBe(TargetState.COOLING);
    expect(cooledUntilMs(status)).toBeGreaterThan(Date.now() + 5000);
  });

  it("with no fallback: RESOURCE_EXHAUSTED with retry-after-ms and the decision, and no second request", async () => {
    chaos = await start();
    const { lonely } = chaos.fakes;
    lonely.script({ type: "error", status: 429, retryAfterSeconds: 7 });

    const started = performance.now();
    const { error, decision } = await failedRoute(chaos.router.route(ALONE));
    // The 7 s wait does not fit the route's 2 s budget: the caller is told at once, and when to come back.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.rawMessage).toContain('no target of route "alone" answered');
    expect(Number(error.metadata.get("retry-after-ms"))).toBe(7000);
    expect(decision.attempts).toMatchObject([
      {
        target: "lonely/m3",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.RATE_LIMITED,
        retryAfterMs: 7000,
      },
    ]);

    // A second call within the cooling is refused without reaching the upstream, with what is left of it.
    const again = await failedRoute(chaos.router.route(ALONE));
    expect(again.error.code).toBe(Code.ResourceExhausted);
    const left = Number(again.error.metadata.get("retry-after-ms"));
    expect(left).toBeGreaterThan(5000);
    expect(left).toBeLessThanOrEqual(7000);
    expect(again.decision.attempts).toMatchObject([{ target: "lonely/m3", outcome: AttemptOutcome.SKIPPED }]);
    expect(skipMessages(again.decision)).toEqual([expect.stringContaining("cooling down")]);
    expect(lonely.requests).toHaveLength(1);
  });

  it("with no fallback and a retry-after that fits the budget: waits it out, and the retry answers", async () => {
    chaos = await start();
    const { lonely } = chaos.fakes;
    // Many short waits: a wait that ends a hair early (timers on a millisecond loop clock) would
    // find the target still cooling and fail a call that had already paid for the wait.
    const calls = 25;
    for (let i = 0; i < calls; i += 1) {
      lonely.script({ type: "error", status: 429, retryAfterMs: 10 + (i % 5) });
      const answer = await chaos.router.route(ALONE);
      expect(answer.decision?.attempts).toMatchObject([
        {
          target: "lonely/m3",
          outcome: AttemptOutcome.FAILED,
          errorClass: ErrorClass.RATE_LIMITED,
          retry: 0,
        },
        { target: "lonely/m3", outcome: AttemptOutcome.SUCCEEDED, retry: 1 },
      ]);
      const [limited, retried] = lonely.requests.slice(-2);
      expect((retried?.receivedAt ?? 0) - (limited?.receivedAt ?? 0)).toBeGreaterThanOrEqual(
        10 + (i % 5) - 1,
      );
    }
    expect(lonely.requests).toHaveLength(2 * calls);
  });

  it("with no fallback over the Connect protocol: the retry-after-ms header", async () => {
    chaos = await start();
    chaos.fakes.lonely.script({ type: "error", status: 429, retryAfterMs: 7000 });
    const connect = createClient(RouterService, chaos.transports.get("Connect over HTTP/1.1 (JSON)"));
    const { error } = await failedRoute(connect.route(ALONE));
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.metadata.get("retry-after-ms")).toBe("7000");
  });
});

describe("a persistent 429 without retry-after", () => {
  it("backs the primary off for at least a second instead of hammering it; the fallback serves", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, RATE_LIMITED_WITHOUT_RETRY_AFTER);

    const before = Date.now();
    // Up to 20 calls, all inside the shortest cooling (1 s): a busy machine makes fewer, never more
    // than the cooling allows.
    const answers = [];
    while (answers.length < 20 && Date.now() - before < 800) answers.push(await chaos.router.route(CHAT));

    expect(answers.length).toBeGreaterThanOrEqual(2);
    expect(answers.every((answer) => answer.decision?.target === "fallback/m2")).toBe(true);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(answers.length);
    expect(answers[0]?.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.RATE_LIMITED,
        retryAfterMs: 0,
      },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    for (const answer of answers.slice(1))
      expect(skipMessages(answer.decision)).toEqual([
        expect.stringMatching(
          /^skipped: cooling down for \d+ ms more \(rate limited 1× in a row, no retry-after\)$/,
        ),
      ]);

    const status = await targetStatus(chaos.admin, "primary/m1");
    expect(status.state).toBe(TargetState.COOLING);
    expect(cooledUntilMs(status)).toBeGreaterThanOrEqual(before + 1000);
  });
});
