import { describe, expect, it } from "vitest";
import type { BreakerSettings } from "../../src/core/policy.js";
import type { TargetId } from "../../src/core/types.js";
import { DEFAULT_BREAKER } from "../../src/health/breaker.js";
import {
  type AttemptHealth,
  createTargetHealth,
  type Hold,
  latencyPercentiles,
  type TargetHealth,
  type TargetPermit,
} from "../../src/health/target-health.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";

const TARGET: TargetId = "acme/large";
const OTHER: TargetId = "acme/small";

/** Opens after two failures in a row; no rate opens it in these tests. */
const BREAKER: BreakerSettings = {
  ...DEFAULT_BREAKER,
  consecutiveFailures: 2,
  minimumCalls: 1_000,
  slowCallMs: 1_000,
  openMs: 5_000,
  halfOpenProbes: 1,
};

const SUCCEEDED: AttemptHealth = { kind: "succeeded", latencyMs: 50, firstTokenMs: 20 };
const FAILED: AttemptHealth = { kind: "failed", latencyMs: 50 };
const NEUTRAL: AttemptHealth = { kind: "neutral" };

/** Hands out these draws in order, and fails the test if the module asks for one more. */
function draws(...values: number[]): () => number {
  let next = 0;
  return () => {
    const value = values[next++];
    if (value === undefined) throw new Error(`random() called ${next} times; the test gave ${values.length}`);
    return value;
  };
}

function setup(...randomDraws: number[]): { clock: FakeClock; health: TargetHealth } {
  const clock = createFakeClock();
  return { clock, health: createTargetHealth(clock, draws(...randomDraws)) };
}

/** Admits a call to `target`, failing the test if it is refused. */
function admitted(health: TargetHealth, target: TargetId = TARGET, breaker = BREAKER): TargetPermit {
  const admission = health.admit(target, breaker);
  if (!admission.allowed) throw new Error(`${target} refused: ${admission.reason}`);
  return admission.permit;
}

/** Runs one admitted call to its end. */
function call(health: TargetHealth, outcome: AttemptHealth, target: TargetId = TARGET): void {
  health.ended(admitted(health, target), outcome);
}

/** Runs one call to TARGET to its end, through a breaker that never opens (to watch the retry budget alone). */
function endCall(health: TargetHealth, outcome: AttemptHealth): void {
  health.ended(admitted(health, TARGET, { ...BREAKER, enabled: false }), outcome);
}

function firstToken(firstTokenMs: number): AttemptHealth {
  return { kind: "succeeded", latencyMs: firstTokenMs + 100, firstTokenMs };
}

describe("createTargetHealth", () => {
  describe("admit", () => {
    it("admits a target it has never seen, as an ordinary call", () => {
      const { health } = setup();
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        allowed: true,
        permit: { target: TARGET, probe: false },
      });
    });

    it("refuses a target taken out of service, saying why", () => {
      const { health } = setup();
      health.takeOutOfService(TARGET, "outage drill");
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "out_of_service",
        reason: "out of service (outage drill)",
      });
      expect(health.admit(OTHER, BREAKER).allowed).toBe(true);
    });

    it("says out of service rather than cooling or open when a target is all three", () => {
      const { health } = setup();
      call(health, FAILED);
      call(health, FAILED);
      health.cool(TARGET, 10_000, "overloaded");
      health.takeOutOfService(TARGET, "outage drill");
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ allowed: false, skip: "out_of_service" });
    });

    it("admits a target again once it is returned to service", () => {
      const { health } = setup();
      health.takeOutOfService(TARGET, "outage drill");
      expect(health.returnToService(TARGET)).toBe(true);
      expect(health.admit(TARGET, BREAKER).allowed).toBe(true);
    });

    it("refuses a cooling target with the time left and why, and admits it when the cooling ends", async () => {
      const { clock, health } = setup();
      health.cool(TARGET, 3_000, "overloaded");
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "cooling",
        reason: "cooling down for 3000 ms more (overloaded)",
        retryAfterMs: 3_000,
      });
      await clock.advance(2_999);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        allowed: false,
        skip: "cooling",
        reason: "cooling down for 1 ms more (overloaded)",
        retryAfterMs: 1,
      });
      await clock.advance(1);
      expect(health.admit(TARGET, BREAKER).allowed).toBe(true);
    });

    it("refuses a target whose breaker is open, with the breaker's reason", async () => {
      const { clock, health } = setup();
      call(health, FAILED);
      await clock.advance(1_000);
      call(health, FAILED);
      await clock.advance(1_000);
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "breaker",
        reason: "breaker open (2 failures in a row); probes in 4000 ms",
      });
    });

    it("lets one probe through a half-open breaker and refuses the calls beside it", async () => {
      const { clock, health } = setup();
      call(health, FAILED);
      call(health, FAILED);
      await clock.advance(BREAKER.openMs);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        allowed: true,
        permit: { target: TARGET, probe: true },
      });
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "breaker",
        reason: "breaker half-open: its probes are in flight",
      });
    });

    it("gives a probe's slot back when the probe ends saying nothing about the target", async () => {
      const { clock, health } = setup();
      call(health, FAILED);
      call(health, FAILED);
      await clock.advance(BREAKER.openMs);
      health.ended(admitted(health), NEUTRAL);
      const next = admitted(health);
      expect(next.probe).toBe(true);
      health.ended(next, SUCCEEDED);
      expect(health.views().get(TARGET)?.breaker.state).toBe("closed");
    });

    it("applies the breaker settings each admission brings (a policy reload) to the same breaker", () => {
      const { health } = setup();
      const lenient = { ...BREAKER, consecutiveFailures: 5 };
      health.ended(admitted(health, TARGET, lenient), FAILED);
      health.ended(admitted(health, TARGET, lenient), FAILED);
      const strict = { ...BREAKER, consecutiveFailures: 3 };
      health.ended(admitted(health, TARGET, strict), FAILED);
      expect(health.admit(TARGET, strict)).toMatchObject({
        allowed: false,
        skip: "breaker",
        reason: expect.stringContaining("3 failures in a row"),
      });
    });

    it("counts each admitted call in flight until it ends, and no refused one", () => {
      const { health } = setup();
      const first = admitted(health);
      const second = admitted(health);
      admitted(health, OTHER);
      expect(health.stats(TARGET).inFlight).toBe(2);
      health.ended(first, SUCCEEDED);
      expect(health.stats(TARGET).inFlight).toBe(1);
      health.cool(TARGET, 1_000, "overloaded");
      expect(health.admit(TARGET, BREAKER).allowed).toBe(false);
      expect(health.stats(TARGET).inFlight).toBe(1);
      health.ended(second, NEUTRAL);
      expect(health.stats(TARGET).inFlight).toBe(0);
      expect(health.stats(OTHER).inFlight).toBe(1);
    });
  });

  describe("ended", () => {
    it("judges a successful call's slowness by its first token: a long answer that began at once is not slow", () => {
      const { health } = setup();
      const breaker = { ...BREAKER, consecutiveFailures: 100, minimumCalls: 2, slowCallRate: 1 };
      for (let i = 0; i < 2; i++)
        health.ended(admitted(health, TARGET, breaker), {
          kind: "succeeded",
          latencyMs: 60_000,
          firstTokenMs: 10,
        });
      expect(health.admit(TARGET, breaker)).toMatchObject({ allowed: true });
      const slow = setup().health;
      for (let i = 0; i < 2; i++)
        slow.ended(admitted(slow, TARGET, breaker), {
          kind: "succeeded",
          latencyMs: 1_002,
          firstTokenMs: 1_001,
        });
      expect(slow.admit(TARGET, breaker)).toMatchObject({
        allowed: false,
        reason: expect.stringContaining("slow-call rate"),
      });
    });

    it("tells the breaker nothing of a call that ended neutral", () => {
      const { health } = setup();
      for (let i = 0; i < 5; i++) call(health, NEUTRAL);
      expect(health.views().get(TARGET)?.breaker).toMatchObject({ state: "closed", calls: 0 });
      expect(health.stats(TARGET)).toEqual({ inFlight: 0, samples: 0 });
    });
  });

  describe("unavailable (dry runs)", () => {
    it("says why a call would be skipped, and takes nothing: no probe slot, no call in flight", async () => {
      const { clock, health } = setup();
      expect(health.unavailable(TARGET, BREAKER)).toBeUndefined();
      call(health, FAILED);
      call(health, FAILED);
      expect(health.unavailable(TARGET, BREAKER)).toBe(
        "breaker open (2 failures in a row); probes in 5000 ms",
      );
      await clock.advance(5_000);
      // Half-open: asking twice does not spend its one probe.
      expect(health.unavailable(TARGET, BREAKER)).toBeUndefined();
      expect(health.unavailable(TARGET, BREAKER)).toBeUndefined();
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ allowed: true, permit: { probe: true } });
      expect(health.unavailable(TARGET, BREAKER)).toBe("breaker half-open: its probes are in flight");
      health.takeOutOfService("other/m", "drill");
      expect(health.unavailable("other/m", BREAKER)).toBe("out of service (drill)");
      expect(health.stats(TARGET).inFlight).toBe(1);
    });
  });

  describe("returnToService", () => {
    it("says whether the target was out of service", () => {
      const { health } = setup();
      expect(health.returnToService(TARGET)).toBe(false);
      call(health, SUCCEEDED);
      expect(health.returnToService(TARGET)).toBe(false);
      health.takeOutOfService(TARGET, "outage drill");
      expect(health.returnToService(TARGET)).toBe(true);
      expect(health.returnToService(TARGET)).toBe(false);
    });
  });

  describe("cool", () => {
    it("is never shortened by a later, shorter cooling", async () => {
      const { clock, health } = setup();
      health.cool(TARGET, 10_000, "overloaded");
      await clock.advance(1_000);
      health.cool(TARGET, 2_000, "a blip");
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        reason: "cooling down for 9000 ms more (overloaded)",
        retryAfterMs: 9_000,
      });
      await clock.advance(8_999);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ skip: "cooling", retryAfterMs: 1 });
    });

    it("is lengthened by a later cooling that ends later, which gives its reason", async () => {
      const { clock, health } = setup();
      health.cool(TARGET, 2_000, "a blip");
      await clock.advance(1_000);
      health.cool(TARGET, 5_000, "overloaded");
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        reason: "cooling down for 5000 ms more (overloaded)",
        retryAfterMs: 5_000,
      });
    });

    it("cools only the target it names", () => {
      const { health } = setup();
      health.cool(TARGET, 2_000, "overloaded");
      expect(health.admit(OTHER, BREAKER).allowed).toBe(true);
    });
  });

  describe("rateLimited", () => {
    it("cools for the provider's retry-after when it gave one, with no jitter", () => {
      const { health } = setup();
      expect(health.rateLimited(TARGET, 7_000)).toBe(7_000);
      // Cooling after a 429 is told apart from a server's retry-after: the call is rate limited.
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "rate_limited",
        reason: "cooling down for 7000 ms more (the provider's retry-after)",
        retryAfterMs: 7_000,
      });
    });

    it("prefers the provider's retry-after to the backoff, even after many 429s in a row", () => {
      const { health } = setup();
      for (let i = 0; i < 8; i++) expect(health.rateLimited(TARGET, 500)).toBe(500);
    });

    it("cools for 1 s after a first 429 without retry-after, whatever the draw", () => {
      for (const draw of [0, 0.4, 0.999]) {
        const { health } = setup(draw);
        expect(health.rateLimited(TARGET, undefined)).toBe(1_000);
        expect(health.admit(TARGET, BREAKER)).toMatchObject({
          skip: "rate_limited",
          reason: "cooling down for 1000 ms more (rate limited 1× in a row, no retry-after)",
          retryAfterMs: 1_000,
        });
      }
    });

    it("draws the backoff between 0 and 1 s·2^(n−1) for the n-th 429 in a row, capped at 60 s", async () => {
      const { clock, health } = setup(...Array.from({ length: 9 }, () => 0.5));
      const backoffs: number[] = [];
      for (let n = 1; n <= 9; n++) {
        backoffs.push(health.rateLimited(TARGET, undefined));
        await clock.advance(60_000);
      }
      // Ceilings 1, 2, 4 … 32 s, then 60 s; the draw takes half of each, floored at 1 s.
      expect(backoffs).toEqual([1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    });

    it("uses the whole range up to the ceiling (full jitter), rounded to the millisecond", async () => {
      const { clock, health } = setup(0.1, 0.9999, 0.3, 0.31234);
      // Each cooling is waited out before the next 429, so each returns its own length.
      expect(health.rateLimited(TARGET, undefined)).toBe(1_000);
      await clock.advance(1_000);
      expect(health.rateLimited(TARGET, undefined)).toBe(2_000);
      await clock.advance(2_000);
      expect(health.rateLimited(TARGET, undefined)).toBe(1_200);
      await clock.advance(1_200);
      expect(health.rateLimited(TARGET, undefined)).toBe(2_499);
    });

    it("never backs off for less than 1 s, however low the draw", () => {
      const { health } = setup(0, 0, 0, 0, 0, 0, 0, 0, 0);
      for (let n = 1; n <= 9; n++) expect(health.rateLimited(TARGET, undefined)).toBe(1_000);
    });

    it("says how many 429s in a row the cooling is for", async () => {
      const { clock, health } = setup(0.9, 0.9);
      health.rateLimited(TARGET, undefined);
      await clock.advance(1_000);
      expect(health.rateLimited(TARGET, undefined)).toBe(1_800);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        reason: "cooling down for 1800 ms more (rate limited 2× in a row, no retry-after)",
        retryAfterMs: 1_800,
      });
    });

    it("counts the 429s that gave a retry-after in the row", () => {
      const { health } = setup(0.99);
      health.rateLimited(TARGET, 100);
      health.rateLimited(TARGET, 100);
      // The third in a row: a ceiling of 4 s.
      expect(health.rateLimited(TARGET, undefined)).toBe(3_960);
    });

    it("starts the row again after a success", async () => {
      const { clock, health } = setup(0.99, 0.99, 0.99, 0.99);
      for (let n = 0; n < 3; n++) health.rateLimited(TARGET, undefined);
      await clock.advance(60_000);
      call(health, SUCCEEDED);
      expect(health.rateLimited(TARGET, undefined)).toBe(1_000);
    });

    it("keeps counting the row through failures and neutral ends", async () => {
      const { clock, health } = setup(0.99, 0.99);
      health.rateLimited(TARGET, undefined);
      await clock.advance(1_000);
      call(health, FAILED);
      call(health, NEUTRAL);
      expect(health.rateLimited(TARGET, undefined)).toBe(1_980);
    });

    it("does not shorten a longer cooling in place, and returns the cooling in force", () => {
      const { health } = setup(0.5);
      health.cool(TARGET, 30_000, "overloaded");
      expect(health.rateLimited(TARGET, 2_000)).toBe(30_000);
      expect(health.rateLimited(TARGET, undefined)).toBe(30_000);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        reason: "cooling down for 30000 ms more (overloaded)",
        retryAfterMs: 30_000,
      });
    });
  });

  describe("mayRetry", () => {
    it("allows retries on a target it has never seen", () => {
      const { health } = setup();
      expect(health.mayRetry(TARGET)).toBe(true);
    });

    it("allows retries while more than half of the 10 tokens are left: after 4 failures, not after 5", () => {
      const { health } = setup();
      for (let i = 0; i < 4; i++) endCall(health, FAILED);
      expect(health.mayRetry(TARGET)).toBe(true);
      endCall(health, FAILED);
      expect(health.mayRetry(TARGET)).toBe(false);
    });

    it("takes a token for each 429", () => {
      const { health } = setup();
      for (let i = 0; i < 4; i++) health.rateLimited(TARGET, 1_000);
      expect(health.mayRetry(TARGET)).toBe(true);
      health.rateLimited(TARGET, 1_000);
      expect(health.mayRetry(TARGET)).toBe(false);
    });

    it("gives a tenth of a token back for each success", () => {
      const { health } = setup();
      for (let i = 0; i < 6; i++) endCall(health, FAILED);
      // 4 tokens: ten successes bring it to exactly half, the eleventh over.
      for (let i = 0; i < 10; i++) endCall(health, SUCCEEDED);
      expect(health.mayRetry(TARGET)).toBe(false);
      endCall(health, SUCCEEDED);
      expect(health.mayRetry(TARGET)).toBe(true);
    });

    it("neither takes nor gives for a neutral end", () => {
      const { health } = setup();
      for (let i = 0; i < 4; i++) endCall(health, FAILED);
      for (let i = 0; i < 20; i++) endCall(health, NEUTRAL);
      expect(health.mayRetry(TARGET)).toBe(true);
      endCall(health, FAILED);
      expect(health.mayRetry(TARGET)).toBe(false);
    });

    it("holds no more than 10 tokens, however many successes", () => {
      const { health } = setup();
      for (let i = 0; i < 100; i++) endCall(health, SUCCEEDED);
      for (let i = 0; i < 5; i++) endCall(health, FAILED);
      expect(health.mayRetry(TARGET)).toBe(false);
    });

    it("holds no fewer than 0 tokens: 51 successes refill a target drained by any number of failures", () => {
      const { health } = setup();
      for (let i = 0; i < 40; i++) endCall(health, FAILED);
      for (let i = 0; i < 50; i++) endCall(health, SUCCEEDED);
      expect(health.mayRetry(TARGET)).toBe(false);
      endCall(health, SUCCEEDED);
      expect(health.mayRetry(TARGET)).toBe(true);
    });

    it("keeps a budget per target", () => {
      const { health } = setup();
      for (let i = 0; i < 5; i++) endCall(health, FAILED);
      expect(health.mayRetry(TARGET)).toBe(false);
      expect(health.mayRetry(OTHER)).toBe(true);
    });
  });

  describe("stats", () => {
    it("knows nothing of a target never seen, and does not start tracking it", () => {
      const { health } = setup();
      expect(health.stats(TARGET)).toEqual({ inFlight: 0, samples: 0 });
      expect(health.views().size).toBe(0);
    });

    it("takes the first time to first token as the latency, then an EWMA weighting the newest 0.3", () => {
      const { health } = setup();
      call(health, firstToken(100));
      expect(health.stats(TARGET).latencyMs).toBe(100);
      call(health, firstToken(200));
      expect(health.stats(TARGET).latencyMs).toBeCloseTo(130, 9);
      call(health, firstToken(30));
      expect(health.stats(TARGET).latencyMs).toBeCloseTo(100, 9);
    });

    it("learns latency from successes only", () => {
      const { health } = setup();
      call(health, firstToken(100));
      call(health, { kind: "failed", latencyMs: 9_000 });
      call(health, NEUTRAL);
      expect(health.stats(TARGET)).toEqual({ inFlight: 0, latencyMs: 100, p95FirstTokenMs: 100, samples: 1 });
    });

    it("takes the p95 by nearest rank", () => {
      const { health } = setup();
      call(health, firstToken(40));
      expect(health.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 40, samples: 1 });
      // 11 samples, 1 … 11 ms: rank ⌈10.45⌉ = 11, the slowest.
      const { health: eleven } = setup();
      for (let ms = 1; ms <= 11; ms++) call(eleven, firstToken(ms));
      expect(eleven.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 11, samples: 11 });
      // 20 samples, 1 … 20 ms (given out of order): rank ⌈0.95·20⌉ = 19.
      const { health: twenty } = setup();
      for (let ms = 20; ms >= 1; ms--) call(twenty, firstToken(ms));
      expect(twenty.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 19, samples: 20 });
      // 21 samples: rank ⌈19.95⌉ = 20.
      call(twenty, firstToken(21));
      expect(twenty.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 20, samples: 21 });
    });

    it("takes the p95 over the last 100 times to first token only", () => {
      const { health } = setup();
      call(health, firstToken(10_000));
      for (let ms = 1; ms <= 99; ms++) call(health, firstToken(ms));
      expect(health.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 95, samples: 100 });
      call(health, firstToken(100));
      // The 10 s outlier has left the samples: 1 … 100 ms, rank 95.
      expect(health.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 95, samples: 100 });
      call(health, firstToken(100));
      expect(health.stats(TARGET)).toMatchObject({ p95FirstTokenMs: 96, samples: 100 });
    });
  });

  describe("watch and holdElsewhere (shared with other replicas)", () => {
    function watched(health: TargetHealth): Array<[TargetId, Hold]> {
      const seen: Array<[TargetId, Hold]> = [];
      health.watch((target, hold) => seen.push([target, hold]));
      return seen;
    }

    it("tells a watcher when a breaker opens and when a target is cooled, with until when", () => {
      const { health } = setup(0.5);
      const seen = watched(health);
      call(health, FAILED);
      expect(seen).toEqual([]);
      call(health, FAILED);
      health.rateLimited(OTHER, 3_000);
      health.cool("acme/tiny", 2_000, "overloaded");
      // A cooling no longer than the one in force is no news.
      health.cool("acme/tiny", 1_000, "overloaded");
      expect(seen).toEqual([
        [TARGET, { kind: "breaker", until: 1_000 + BREAKER.openMs }],
        [OTHER, { kind: "rate_limited", until: 1_000 + 3_000 }],
        ["acme/tiny", { kind: "cooling", until: 1_000 + 2_000 }],
      ]);
    });

    it("skips a target another replica opened, saying so, and probes here once that period ends", async () => {
      const { clock, health } = setup();
      const seen = watched(health);
      health.holdElsewhere(TARGET, { kind: "breaker", until: 1_000 + 3_000 }, BREAKER);
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "breaker",
        reason: "breaker open (tripped on another replica); probes in 3000 ms",
      });
      expect(health.views().get(TARGET)?.breaker).toMatchObject({
        state: "open",
        trippedBy: "tripped on another replica",
      });
      await clock.advance(3_000);
      expect(admitted(health)).toMatchObject({ probe: true });
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ allowed: false, skip: "breaker" });
      // Applied from elsewhere: never told back to the watchers (no echo between replicas).
      expect(seen).toEqual([]);
    });

    it("cools a target another replica cooled, as a 429's or a retry-after's", () => {
      const { health } = setup();
      health.holdElsewhere(TARGET, { kind: "rate_limited", until: 1_000 + 2_000 }, BREAKER);
      health.holdElsewhere(OTHER, { kind: "cooling", until: 1_000 + 500 }, BREAKER);
      expect(health.admit(TARGET, BREAKER)).toEqual({
        allowed: false,
        skip: "rate_limited",
        reason: "cooling down for 2000 ms more (rate limited on another replica)",
        retryAfterMs: 2_000,
      });
      expect(health.admit(OTHER, BREAKER)).toMatchObject({
        skip: "cooling",
        reason: "cooling down for 500 ms more (the provider's retry-after, on another replica)",
      });
      expect(health.views().get(OTHER)).toMatchObject({
        cooledUntil: 1_500,
        coolingReason: "the provider's retry-after, on another replica",
      });
    });

    it("keeps a longer hold of its own, and ignores one that has passed", () => {
      const { health } = setup();
      health.cool(TARGET, 5_000, "overloaded");
      health.holdElsewhere(TARGET, { kind: "cooling", until: 1_000 + 2_000 }, BREAKER);
      health.holdElsewhere(OTHER, { kind: "breaker", until: 1_000 }, BREAKER);
      expect(health.admit(TARGET, BREAKER)).toMatchObject({
        reason: "cooling down for 5000 ms more (overloaded)",
      });
      expect(health.admit(OTHER, BREAKER).allowed).toBe(true);
    });
  });

  describe("views", () => {
    it("shows every target seen or acted on, with its breaker, stats, cooling and service", async () => {
      const { clock, health } = setup();
      call(health, firstToken(80));
      admitted(health);
      health.cool(OTHER, 2_000, "overloaded");
      health.takeOutOfService("acme/tiny", "outage drill");
      await clock.advance(500);

      const views = health.views();
      expect([...views.keys()].sort()).toEqual(["acme/large", "acme/small", "acme/tiny"]);
      expect(views.get(TARGET)).toEqual({
        inFlight: 1,
        latencyMs: 80,
        p95FirstTokenMs: 80,
        samples: 1,
        breaker: { state: "closed", since: 1_000, failureRate: 0, calls: 1 },
        recentFirstTokensMs: [80],
        recentAttemptsMs: [180],
      });
      expect(views.get(OTHER)).toEqual({
        inFlight: 0,
        samples: 0,
        breaker: { state: "closed", since: 1_000, failureRate: 0, calls: 0 },
        cooledUntil: 3_000,
        coolingReason: "overloaded",
        recentFirstTokensMs: [],
        recentAttemptsMs: [],
      });
      expect(views.get("acme/tiny")).toMatchObject({ outOfService: "outage drill" });
    });

    it("stops showing a cooling once it has ended, and an outage once returned", async () => {
      const { clock, health } = setup();
      health.cool(TARGET, 2_000, "overloaded");
      health.takeOutOfService(TARGET, "outage drill");
      health.returnToService(TARGET);
      await clock.advance(2_000);
      const view = health.views().get(TARGET);
      expect(view).not.toHaveProperty("cooledUntil");
      expect(view).not.toHaveProperty("coolingReason");
      expect(view).not.toHaveProperty("outOfService");
    });

    it("shows an open breaker turning half-open as time passes", async () => {
      const { clock, health } = setup();
      call(health, FAILED);
      call(health, FAILED);
      expect(health.views().get(TARGET)?.breaker).toMatchObject({
        state: "open",
        trippedBy: "2 failures in a row",
      });
      await clock.advance(BREAKER.openMs);
      expect(health.views().get(TARGET)?.breaker).toMatchObject({ state: "half_open", since: 1_000 + 5_000 });
    });

    it("carries the successful attempts' times to first token and whole durations, oldest first, and no failure's", () => {
      const { health } = setup();
      call(health, { kind: "succeeded", latencyMs: 900, firstTokenMs: 30 });
      call(health, { kind: "failed", latencyMs: 9_000 });
      call(health, NEUTRAL);
      call(health, { kind: "succeeded", latencyMs: 400, firstTokenMs: 10 });
      expect(health.views().get(TARGET)).toMatchObject({
        recentFirstTokensMs: [30, 10],
        recentAttemptsMs: [900, 400],
        samples: 2,
      });
    });

    it("carries the last 100 of each only", () => {
      const { health } = setup();
      for (let n = 1; n <= 150; n++)
        call(health, { kind: "succeeded", latencyMs: 1_000 + n, firstTokenMs: n });
      const view = health.views().get(TARGET);
      expect(view?.recentFirstTokensMs).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
      expect(view?.recentAttemptsMs).toEqual(Array.from({ length: 100 }, (_, i) => 1_051 + i));
    });

    it("hands out copies: a view read earlier does not change with later calls, nor change what is kept", () => {
      const { health } = setup();
      call(health, firstToken(10));
      const before = health.views().get(TARGET);
      before?.recentFirstTokensMs.push(99_999);
      call(health, firstToken(20));
      expect(before?.recentAttemptsMs).toEqual([110]);
      expect(health.views().get(TARGET)).toMatchObject({
        recentFirstTokensMs: [10, 20],
        p95FirstTokenMs: 20,
      });
    });
  });
});

describe("latencyPercentiles", () => {
  it("has nothing to say of no samples", () => {
    expect(latencyPercentiles([])).toBeUndefined();
  });

  it("gives the one sample as every percentile", () => {
    expect(latencyPercentiles([42])).toEqual({ p50Ms: 42, p95Ms: 42, p99Ms: 42, samples: 1 });
  });

  it("takes each percentile by nearest rank, ⌈p·n⌉, whatever order the samples come in", () => {
    // 1 … 100 ms: ranks 50, 95, 99.
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(latencyPercentiles(hundred)).toEqual({ p50Ms: 50, p95Ms: 95, p99Ms: 99, samples: 100 });
    // 1 … 20 ms: ranks 10, 19 and ⌈19.8⌉ = 20.
    const twenty = Array.from({ length: 20 }, (_, i) => ((i * 7) % 20) + 1);
    expect(latencyPercentiles(twenty)).toEqual({ p50Ms: 10, p95Ms: 19, p99Ms: 20, samples: 20 });
    // Three samples: rank ⌈1.5⌉ = 2 for the median, the slowest for both tails.
    expect(latencyPercentiles([300, 5, 40])).toEqual({ p50Ms: 40, p95Ms: 300, p99Ms: 300, samples: 3 });
  });

  it("lets one slow call in a hundred show at p99 but not at p95", () => {
    const samples = [...Array.from({ length: 99 }, () => 20), 5_000];
    expect(latencyPercentiles(samples)).toMatchObject({ p50Ms: 20, p95Ms: 20, p99Ms: 20 });
    // Two in a hundred reach p99.
    samples[0] = 5_000;
    expect(latencyPercentiles(samples)).toMatchObject({ p50Ms: 20, p95Ms: 20, p99Ms: 5_000 });
  });

  it("leaves the samples it is given in their order", () => {
    const samples = [3, 1, 2];
    latencyPercentiles(samples);
    expect(samples).toEqual([3, 1, 2]);
  });
});
