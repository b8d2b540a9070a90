import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BreakerSettings } from "../../src/core/policy.js";
import type { TargetId } from "../../src/core/types.js";
import { DEFAULT_BREAKER } from "../../src/health/breaker.js";
import { createSharedHealth, type SharedHealth } from "../../src/health/shared-health.js";
import { type AttemptHealth, createTargetHealth, type TargetHealth } from "../../src/health/target-health.js";
import { createMemoryStore } from "../../src/state/memory/memory-store.js";
import type { StateStore } from "../../src/state/store.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";

const TARGET: TargetId = "acme/large";
const OTHER: TargetId = "acme/small";
/** Epoch ms at the fake clock's start: replicas agree on wall time, not on their monotonic clocks. */
const EPOCH = 1_795_000_000_000;

/** Opens after two failures in a row. */
const BREAKER: BreakerSettings = {
  ...DEFAULT_BREAKER,
  consecutiveFailures: 2,
  minimumCalls: 1_000,
  openMs: 5_000,
  halfOpenProbes: 1,
};
const FAILED: AttemptHealth = { kind: "failed", latencyMs: 50 };

interface Replica {
  health: TargetHealth;
  shared: SharedHealth;
  clock: FakeClock;
}

const running: SharedHealth[] = [];
afterEach(async () => {
  for (const shared of running.splice(0)) await shared.stop();
});

/**
 * One replica on `store`: its own health on its own monotonic clock (starting at `start`), both
 * mapped to the same wall time. The interval is long: the tests refresh by hand, as a tick would.
 */
function replica(store: StateStore, wall: FakeClock, start: number, refreshMs = 60_000): Replica {
  const clock = createFakeClock(start);
  const health = createTargetHealth(clock, () => 0.5);
  const shared = createSharedHealth({
    health,
    store,
    clock,
    wallClock: () => EPOCH + wall.now(),
    refreshMs,
    logger: pino({ level: "silent" }),
    targets: () => [
      [TARGET, BREAKER],
      [OTHER, BREAKER],
    ],
  });
  running.push(shared);
  return { health, shared, clock };
}

/** Two replicas on one store, whose clocks (and the store's) move together. */
function twoReplicas(store?: StateStore) {
  const wall = createFakeClock(0);
  const shared = store ?? createMemoryStore({ clock: wall });
  const a = replica(shared, wall, 1_000);
  // A different monotonic origin: what is shared is wall time.
  const b = replica(shared, wall, 50_000);
  const advance = async (ms: number) => {
    await wall.advance(ms);
    await a.clock.advance(ms);
    await b.clock.advance(ms);
  };
  return { a, b, advance, store: shared };
}

/** Lets fire-and-forget publications land. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

function openBreaker(health: TargetHealth, target = TARGET): void {
  for (let i = 0; i < 2; i += 1) {
    const admission = health.admit(target, BREAKER);
    if (!admission.allowed) throw new Error(`refused: ${admission.reason}`);
    health.ended(admission.permit, FAILED);
  }
}

describe("createSharedHealth", () => {
  it("skips a target on one replica once another opened its breaker, saying so, at the next refresh", async () => {
    const { a, b, advance } = twoReplicas();
    openBreaker(a.health);
    await settled();
    await advance(1_000);
    expect(b.health.unavailable(TARGET, BREAKER)).toBeUndefined();
    await b.shared.refresh();
    expect(b.health.admit(TARGET, BREAKER)).toEqual({
      allowed: false,
      skip: "breaker",
      reason: "breaker open (tripped on another replica); probes in 4000 ms",
    });
    expect(b.health.views().get(TARGET)?.breaker).toMatchObject({ state: "open" });
    // The replica that opened it keeps its own reason: reading its own publication back is no news.
    await a.shared.refresh();
    expect(a.health.unavailable(TARGET, BREAKER)).toBe(
      "breaker open (2 failures in a row); probes in 4000 ms",
    );
    expect(b.health.unavailable(OTHER, BREAKER)).toBeUndefined();
  });

  it("lets each replica probe on its own once the opening's period has passed", async () => {
    const { a, b, advance } = twoReplicas();
    openBreaker(a.health);
    await settled();
    await b.shared.refresh();
    await advance(BREAKER.openMs);
    await b.shared.refresh();
    // Half-open on both: one probe each, no more.
    for (const { health } of [a, b]) {
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ allowed: true, permit: { probe: true } });
      expect(health.admit(TARGET, BREAKER)).toMatchObject({ allowed: false, skip: "breaker" });
    }
  });

  it("carries a probe that failed elsewhere: the other replica opens again", async () => {
    const { a, b, advance } = twoReplicas();
    openBreaker(a.health);
    await settled();
    await b.shared.refresh();
    await advance(BREAKER.openMs);
    const probe = b.health.admit(TARGET, BREAKER);
    if (!probe.allowed) throw new Error(probe.reason);
    b.health.ended(probe.permit, FAILED);
    await settled();
    await advance(100);
    await a.shared.refresh();
    expect(a.health.unavailable(TARGET, BREAKER)).toBe(
      "breaker open (tripped on another replica); probes in 4900 ms",
    );
  });

  it("shares a cooling after a 429's retry-after and after a 503's, each as what it was", async () => {
    const { a, b, advance } = twoReplicas();
    a.health.rateLimited(TARGET, 3_000);
    a.health.cool(OTHER, 2_000, "the provider's retry-after");
    await settled();
    await advance(500);
    await b.shared.refresh();
    expect(b.health.admit(TARGET, BREAKER)).toEqual({
      allowed: false,
      skip: "rate_limited",
      reason: "cooling down for 2500 ms more (rate limited on another replica)",
      retryAfterMs: 2_500,
    });
    expect(b.health.admit(OTHER, BREAKER)).toMatchObject({
      skip: "cooling",
      reason: "cooling down for 1500 ms more (the provider's retry-after, on another replica)",
    });
    await advance(2_500);
    await b.shared.refresh();
    expect(b.health.admit(TARGET, BREAKER).allowed).toBe(true);
    expect(b.health.admit(OTHER, BREAKER).allowed).toBe(true);
  });

  it("keeps the latest deadline when two replicas cool the same target", async () => {
    const { a, b, advance } = twoReplicas();
    a.health.rateLimited(TARGET, 1_000);
    await settled();
    await advance(500);
    b.health.rateLimited(TARGET, 4_000);
    await settled();
    await a.shared.refresh();
    expect(a.health.unavailable(TARGET, BREAKER)).toBe(
      "cooling down for 4000 ms more (rate limited on another replica)",
    );
  });

  it("refreshes by itself on its interval", async () => {
    const wall = createFakeClock(0);
    const store = createMemoryStore({ clock: wall });
    const a = replica(store, wall, 1_000);
    const b = replica(store, wall, 1_000, 10);
    openBreaker(a.health);
    await vi.waitFor(() => expect(b.health.unavailable(TARGET, BREAKER)).toMatch(/another replica/), {
      timeout: 2_000,
      interval: 5,
    });
  });

  it("leaves local breakers and coolings working when the store throws, and logs it once", async () => {
    const broken: StateStore = {
      add: () => Promise.reject(new Error("down")),
      addAll: () => Promise.reject(new Error("down")),
      reserve: () => Promise.reject(new Error("down")),
      reserveAll: () => Promise.reject(new Error("down")),
      raise: () => Promise.reject(new Error("down")),
      get: () => Promise.reject(new Error("down")),
      close: async () => {},
    };
    const lines: Array<Record<string, unknown>> = [];
    const clock = createFakeClock();
    const health = createTargetHealth(clock, () => 0.5);
    const shared = createSharedHealth({
      health,
      store: broken,
      clock,
      wallClock: () => EPOCH + clock.now(),
      refreshMs: 60_000,
      logger: pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      targets: () => [[TARGET, BREAKER]],
    });
    running.push(shared);
    openBreaker(health);
    health.rateLimited(OTHER, 1_000);
    await settled();
    await shared.refresh();
    await shared.refresh();
    expect(health.unavailable(TARGET, BREAKER)).toBe("breaker open (2 failures in a row); probes in 5000 ms");
    expect(health.unavailable(OTHER, BREAKER)).toBe(
      "cooling down for 1000 ms more (the provider's retry-after)",
    );
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(/not shared while the state store cannot be reached/);
  });
});
