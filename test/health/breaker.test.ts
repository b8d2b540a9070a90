import { describe, expect, it } from "vitest";
import type { BreakerSettings } from "../../src/core/policy.js";
import { CircuitBreaker, DEFAULT_BREAKER } from "../../src/health/breaker.js";

/** A time on a bucket boundary (the window below is cut into buckets of 1000 ms). */
const T0 = 100_000;

/** Small thresholds, so each test reaches them in a few calls. */
const SETTINGS: BreakerSettings = {
  enabled: true,
  consecutiveFailures: 3,
  failureRate: 0.5,
  slowCallRate: 0.5,
  slowCallMs: 1_000,
  windowMs: 10_000,
  minimumCalls: 4,
  openMs: 5_000,
  halfOpenProbes: 1,
};

/** When a breaker tripped at T0 turns half-open. */
const T1 = T0 + SETTINGS.openMs;

function breakerWith(overrides: Partial<BreakerSettings> = {}): CircuitBreaker {
  return new CircuitBreaker({ ...SETTINGS, ...overrides }, T0);
}

/**
 * Reports calls that ended at `now`, in order, none of them a probe: `S` a fast success, `F` a
 * fast failure, `s` and `f` the same slower than `slowCallMs`.
 */
function report(breaker: CircuitBreaker, now: number, outcomes: string): void {
  for (const outcome of outcomes) {
    if (outcome === "S") breaker.succeeded(now, 10, false);
    else if (outcome === "F") breaker.failed(now, 10, false);
    else if (outcome === "s") breaker.succeeded(now, 2_000, false);
    else if (outcome === "f") breaker.failed(now, 2_000, false);
    else throw new Error(`unknown outcome ${outcome}`);
  }
}

/** A breaker opened at T0 by three failures in a row, now at T1: half-open. */
function halfOpen(overrides: Partial<BreakerSettings> = {}): CircuitBreaker {
  const breaker = breakerWith(overrides);
  report(breaker, T0, "FFF");
  expect(breaker.view(T1).state).toBe("half_open");
  return breaker;
}

describe("CircuitBreaker", () => {
  describe("closed", () => {
    it("lets every call through, none of them as a probe", () => {
      const breaker = breakerWith();
      expect(breaker.permit(T0)).toMatchObject({ allowed: true, probe: false });
      expect(breaker.permit(T0 + 1)).toMatchObject({ allowed: true, probe: false });
      expect(breaker.view(T0 + 1)).toEqual({ state: "closed", since: T0, failureRate: 0, calls: 0 });
    });

    it("opens when consecutiveFailures calls fail in a row, and not one failure before", () => {
      const breaker = breakerWith({ minimumCalls: 100 });
      report(breaker, T0, "FF");
      expect(breaker.view(T0).state).toBe("closed");
      report(breaker, T0 + 10, "F");
      expect(breaker.view(T0 + 10)).toMatchObject({
        state: "open",
        since: T0 + 10,
        trippedBy: "3 failures in a row",
      });
    });

    it("starts counting failures in a row again after a success", () => {
      const breaker = breakerWith({ minimumCalls: 100 });
      report(breaker, T0, "FFSFF");
      expect(breaker.view(T0).state).toBe("closed");
    });

    it("opens when the failure rate over the window reaches failureRate exactly", () => {
      const breaker = breakerWith({ consecutiveFailures: 100, minimumCalls: 10 });
      report(breaker, T0, "SFSFSFSFSF");
      expect(breaker.view(T0)).toMatchObject({
        state: "open",
        trippedBy: "failure rate 50% over 10 calls",
        failureRate: 0.5,
        calls: 10,
      });
    });

    it("stays closed one failure short of the failure rate", () => {
      const breaker = breakerWith({ consecutiveFailures: 100, minimumCalls: 10 });
      report(breaker, T0, "SFSFSFSFSS");
      expect(breaker.view(T0)).toMatchObject({ state: "closed", failureRate: 0.4, calls: 10 });
    });

    it("judges no rate before the window holds minimumCalls calls, then judges the call that fills it", () => {
      const breaker = breakerWith({ consecutiveFailures: 100 });
      report(breaker, T0, "FFF");
      expect(breaker.view(T0)).toMatchObject({ state: "closed", failureRate: 1, calls: 3 });
      // A success, but it brings the window to its minimum volume with 3 failures out of 4.
      report(breaker, T0, "S");
      expect(breaker.view(T0)).toMatchObject({ state: "open", trippedBy: "failure rate 75% over 4 calls" });
    });

    it("keeps a call in the window for at least windowMs, and forgets it with its tenth of the window", () => {
      const breaker = breakerWith();
      report(breaker, T0, "F");
      report(breaker, T0 + 999, "F");
      report(breaker, T0 + 1_000, "S");
      // The first two share the bucket [T0, T0 + 1000): kept while its end is within the window.
      expect(breaker.view(T0 + 10_999)).toMatchObject({ calls: 3, failureRate: 2 / 3 });
      expect(breaker.view(T0 + 11_000)).toMatchObject({ calls: 1, failureRate: 0 });
      expect(breaker.view(T0 + 12_000)).toMatchObject({ calls: 0, failureRate: 0 });
    });

    it("still holds failures against the target at the end of the window", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFS");
      report(breaker, T0 + 10_999, "F");
      expect(breaker.view(T0 + 10_999)).toMatchObject({
        state: "open",
        trippedBy: "failure rate 75% over 4 calls",
      });
    });

    it("no longer holds failures against the target once the window has forgotten them", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFS");
      report(breaker, T0 + 11_000, "FSSS");
      expect(breaker.view(T0 + 11_000)).toMatchObject({ state: "closed", failureRate: 0.25, calls: 4 });
    });

    it("opens when the share of calls slower than slowCallMs reaches slowCallRate, even if they all succeeded", () => {
      const breaker = breakerWith();
      report(breaker, T0, "ssSS");
      expect(breaker.view(T0)).toMatchObject({
        state: "open",
        trippedBy: "slow-call rate 50% over 4 calls (slower than 1000 ms)",
        failureRate: 0,
      });
    });

    it("stays closed one slow call short of the slow-call rate", () => {
      const breaker = breakerWith();
      report(breaker, T0, "sSSS");
      expect(breaker.view(T0).state).toBe("closed");
    });

    it("judges no slow-call rate before the window holds minimumCalls calls", () => {
      const breaker = breakerWith();
      report(breaker, T0, "sss");
      expect(breaker.view(T0).state).toBe("closed");
    });

    it("counts a call as slow only when it took longer than slowCallMs", () => {
      const atTheLimit = breakerWith();
      for (let call = 0; call < 4; call++) atTheLimit.succeeded(T0, 1_000, false);
      expect(atTheLimit.view(T0).state).toBe("closed");

      const over = breakerWith();
      for (let call = 0; call < 4; call++) over.succeeded(T0, 1_001, false);
      expect(over.view(T0)).toMatchObject({
        state: "open",
        trippedBy: expect.stringMatching(/^slow-call rate/),
      });
    });

    it("counts a failure that took long as a slow call too", () => {
      const breaker = breakerWith({ failureRate: 1, consecutiveFailures: 100 });
      report(breaker, T0, "fSfS");
      expect(breaker.view(T0)).toMatchObject({
        state: "open",
        trippedBy: "slow-call rate 50% over 4 calls (slower than 1000 ms)",
      });
    });

    it("by default opens on the fifth failure in a row, not on one bad call", () => {
      const breaker = new CircuitBreaker(DEFAULT_BREAKER, T0);
      for (let call = 0; call < 4; call++) breaker.failed(T0, 10, false);
      expect(breaker.view(T0).state).toBe("closed");
      breaker.failed(T0, 10, false);
      expect(breaker.view(T0)).toMatchObject({ state: "open", trippedBy: "5 failures in a row" });
      expect(breaker.view(T0 + DEFAULT_BREAKER.openMs).state).toBe("half_open");
    });
  });

  describe("open", () => {
    it("refuses every call for openMs, saying why it opened and when probes start", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      expect(breaker.permit(T0)).toEqual({
        allowed: false,
        reason: "breaker open (3 failures in a row); probes in 5000 ms",
      });
      expect(breaker.permit(T1 - 1)).toEqual({
        allowed: false,
        reason: "breaker open (3 failures in a row); probes in 1 ms",
      });
      expect(breaker.view(T1 - 1)).toMatchObject({ state: "open", since: T0 });
    });

    it("turns half-open exactly openMs after it opened, and lets a probe through", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      expect(breaker.view(T1)).toMatchObject({
        state: "half_open",
        since: T1,
        trippedBy: "3 failures in a row",
      });
    });

    it("is not kept open longer by calls let through before it opened that end while it is open", () => {
      const breaker = breakerWith();
      report(breaker, T0, "ssss");
      expect(breaker.view(T0)).toMatchObject({
        state: "open",
        trippedBy: "slow-call rate 100% over 4 calls (slower than 1000 ms)",
      });
      // The two stragglers: the window still says the target is slow and failing.
      report(breaker, T0 + 2_000, "sf");
      expect(breaker.view(T0 + 2_000)).toMatchObject({
        state: "open",
        since: T0,
        trippedBy: "slow-call rate 100% over 4 calls (slower than 1000 ms)",
      });
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
    });
  });

  describe("half-open", () => {
    it("lets at most halfOpenProbes probes through at once", () => {
      const breaker = halfOpen({ halfOpenProbes: 2 });
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      expect(breaker.permit(T1 + 1)).toEqual({
        allowed: false,
        reason: "breaker half-open: its probes are in flight",
      });
    });

    it("closes once halfOpenProbes probes have succeeded, not before", () => {
      const breaker = halfOpen({ halfOpenProbes: 2 });
      breaker.permit(T1);
      breaker.permit(T1);
      breaker.succeeded(T1 + 100, 10, true);
      expect(breaker.view(T1 + 100).state).toBe("half_open");
      // The probe that answered freed its slot.
      expect(breaker.permit(T1 + 100)).toMatchObject({ allowed: true, probe: true });
      breaker.succeeded(T1 + 200, 10, true);
      expect(breaker.view(T1 + 200)).toMatchObject({ state: "closed", since: T1 + 200 });
      expect(breaker.permit(T1 + 200)).toMatchObject({ allowed: true, probe: false });
    });

    it("closes on the first successful probe with a single probe", () => {
      const breaker = halfOpen();
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      breaker.succeeded(T1 + 50, 10, true);
      expect(breaker.view(T1 + 50)).toMatchObject({ state: "closed", since: T1 + 50 });
    });

    it("opens again for another openMs when one probe fails", () => {
      const breaker = halfOpen({ halfOpenProbes: 2 });
      breaker.permit(T1);
      breaker.permit(T1);
      breaker.succeeded(T1 + 100, 10, true);
      breaker.failed(T1 + 200, 10, true);
      expect(breaker.view(T1 + 200)).toMatchObject({
        state: "open",
        since: T1 + 200,
        trippedBy: "a probe failed",
      });
      expect(breaker.permit(T1 + 200 + 4_999)).toEqual({
        allowed: false,
        reason: "breaker open (a probe failed); probes in 1 ms",
      });
      expect(breaker.permit(T1 + 200 + 5_000)).toMatchObject({ allowed: true, probe: true });
    });

    it("frees the slot of a probe that ended saying nothing about the target, and neither closes nor opens", () => {
      const breaker = halfOpen();
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      expect(breaker.permit(T1).allowed).toBe(false);
      breaker.released(true);
      expect(breaker.view(T1 + 10).state).toBe("half_open");
      expect(breaker.permit(T1 + 10)).toMatchObject({ allowed: true, probe: true });
    });

    it("is neither closed nor opened by calls let through before it opened that end during half-open", () => {
      const breaker = breakerWith();
      const early = [breaker.permit(T0), breaker.permit(T0), breaker.permit(T0)];
      expect(early.every((permit) => permit.allowed && !permit.probe)).toBe(true);
      report(breaker, T0, "FFF");
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });

      breaker.succeeded(T1 + 10, 10, false);
      expect(breaker.view(T1 + 10).state).toBe("half_open");
      breaker.failed(T1 + 20, 10, false);
      expect(breaker.view(T1 + 20).state).toBe("half_open");
      breaker.released(false);
      // None of them gave back the probe's slot.
      expect(breaker.permit(T1 + 30)).toEqual({
        allowed: false,
        reason: "breaker half-open: its probes are in flight",
      });
    });

    it("starts afresh once closed: an empty window, no failures in a row, the last trip still on view", () => {
      const breaker = halfOpen();
      breaker.permit(T1);
      breaker.failed(T1, 10, false);
      breaker.succeeded(T1 + 10, 10, true);
      expect(breaker.view(T1 + 10)).toEqual({
        state: "closed",
        since: T1 + 10,
        trippedBy: "3 failures in a row",
        failureRate: 0,
        calls: 0,
      });
      report(breaker, T1 + 20, "FF");
      expect(breaker.view(T1 + 20).state).toBe("closed");
      report(breaker, T1 + 20, "F");
      expect(breaker.view(T1 + 20)).toMatchObject({ state: "open", since: T1 + 20 });
    });
  });

  describe("enabled: false", () => {
    it("never opens, however many calls fail or crawl", () => {
      const breaker = breakerWith({ enabled: false });
      report(breaker, T0, "f".repeat(50));
      expect(breaker.view(T0)).toEqual({ state: "closed", since: T0, failureRate: 1, calls: 50 });
      expect(breaker.permit(T0)).toMatchObject({ allowed: true, probe: false });
    });

    it("lets calls through when a reload disables a breaker that is open", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      breaker.configure({ ...SETTINGS, enabled: false });
      expect(breaker.permit(T0 + 1)).toMatchObject({ allowed: true, probe: false });
    });
  });

  describe("configure", () => {
    it("applies new thresholds from the next call on, keeping the failures in a row counted so far", () => {
      const breaker = breakerWith({ consecutiveFailures: 5, minimumCalls: 100 });
      report(breaker, T0, "FF");
      breaker.configure({ ...SETTINGS, consecutiveFailures: 3, minimumCalls: 100 });
      expect(breaker.view(T0).state).toBe("closed");
      report(breaker, T0 + 1, "F");
      expect(breaker.view(T0 + 1)).toMatchObject({ state: "open", trippedBy: "3 failures in a row" });
    });

    it("keeps the window: the calls counted so far are judged by the new minimum", () => {
      const breaker = breakerWith({ consecutiveFailures: 100, minimumCalls: 10 });
      report(breaker, T0, "FFS");
      breaker.configure({ ...SETTINGS, consecutiveFailures: 100, minimumCalls: 4 });
      expect(breaker.view(T0)).toMatchObject({ state: "closed", calls: 3 });
      report(breaker, T0 + 1, "S");
      expect(breaker.view(T0 + 1)).toMatchObject({
        state: "open",
        trippedBy: "failure rate 50% over 4 calls",
      });
    });

    it("keeps an open breaker open; the new openMs decides when it turns half-open", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      breaker.configure({ ...SETTINGS, openMs: 10_000 });
      expect(breaker.permit(T1)).toEqual({
        allowed: false,
        reason: "breaker open (3 failures in a row); probes in 5000 ms",
      });
      expect(breaker.view(T0 + 10_000)).toMatchObject({ state: "half_open", since: T0 + 10_000 });
    });

    it("keeps a half-open breaker's probes: a lower halfOpenProbes counts them against the new limit", () => {
      const breaker = halfOpen({ halfOpenProbes: 2 });
      breaker.permit(T1);
      breaker.configure({ ...SETTINGS, halfOpenProbes: 1 });
      expect(breaker.permit(T1).allowed).toBe(false);
      breaker.succeeded(T1 + 10, 10, true);
      expect(breaker.view(T1 + 10).state).toBe("closed");
    });
  });

  describe("probe rounds", () => {
    it("does not let a probe from an earlier half-open round free a slot or close the breaker in this one", () => {
      const breaker = halfOpen({ halfOpenProbes: 2 });
      const late = breaker.permit(T1);
      const other = breaker.permit(T1);
      if (!late.allowed || !other.allowed) throw new Error("expected two probes");
      breaker.failed(T1 + 1, 10, other.probe, other.round);
      // Open again; at the next half-open round the first probe of the old round reports.
      const T2 = T1 + 1 + SETTINGS.openMs;
      const fresh = breaker.permit(T2);
      const second = breaker.permit(T2);
      expect(fresh.allowed && second.allowed).toBe(true);
      breaker.succeeded(T2 + 1, 10, late.probe, late.round);
      // Its slot is not freed (two of this round are still out) and it does not count to close.
      expect(breaker.permit(T2 + 1).allowed).toBe(false);
      if (fresh.allowed) breaker.succeeded(T2 + 2, 10, fresh.probe, fresh.round);
      expect(breaker.view(T2 + 2).state).toBe("half_open");
      if (second.allowed) breaker.succeeded(T2 + 3, 10, second.probe, second.round);
      expect(breaker.view(T2 + 3).state).toBe("closed");
    });
  });

  describe("turned off on a reload", () => {
    it("closes at once: an open breaker turned off lets calls through and shows closed", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      breaker.configure({ ...SETTINGS, enabled: false }, T0 + 1);
      expect(breaker.view(T0 + 1)).toMatchObject({ state: "closed", since: T0 + 1 });
      expect(breaker.permit(T0 + 1)).toMatchObject({ allowed: true, probe: false });
    });
  });

  describe("heldOpen (another replica opened it)", () => {
    it("opens for what is left of the other's period, then turns half-open and probes here", () => {
      const breaker = breakerWith();
      expect(breaker.heldOpen(T0 + 1_000, T1, "tripped on another replica")).toBe(true);
      expect(breaker.openUntil()).toBe(T1);
      expect(breaker.permit(T0 + 1_000)).toEqual({
        allowed: false,
        reason: "breaker open (tripped on another replica); probes in 4000 ms",
      });
      expect(breaker.view(T0 + 1_000)).toMatchObject({
        state: "open",
        since: T0,
        trippedBy: "tripped on another replica",
      });
      expect(breaker.permit(T1)).toMatchObject({ allowed: true, probe: true });
      expect(breaker.permit(T1).allowed).toBe(false);
    });

    it("changes nothing when the period has passed, is no longer than its own, or the breaker is off", () => {
      const own = breakerWith();
      report(own, T0, "FFF");
      expect(own.heldOpen(T0 + 1, T1, "tripped on another replica")).toBe(false);
      expect(own.view(T0 + 1).trippedBy).toBe("3 failures in a row");
      expect(breakerWith().heldOpen(T1, T1, "tripped on another replica")).toBe(false);
      expect(breakerWith({ enabled: false }).heldOpen(T0, T1, "tripped on another replica")).toBe(false);
    });

    it("is a new round: a probe let through before it no longer frees a slot or closes it", () => {
      const breaker = breakerWith();
      report(breaker, T0, "FFF");
      const probe = breaker.permit(T1);
      expect(probe).toMatchObject({ allowed: true, probe: true });
      expect(breaker.heldOpen(T1 + 10, T1 + 10 + SETTINGS.openMs, "tripped on another replica")).toBe(true);
      if (probe.allowed) breaker.succeeded(T1 + 20, 10, true, probe.round);
      expect(breaker.view(T1 + 20).state).toBe("open");
    });
  });

  describe("view", () => {
    it("shows the failure rate and the calls over the window, and no trip before the first", () => {
      const breaker = breakerWith();
      report(breaker, T0 + 500, "FSSS");
      expect(breaker.view(T0 + 500)).toEqual({ state: "closed", since: T0, failureRate: 0.25, calls: 4 });
    });
  });
});
