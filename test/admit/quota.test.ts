import { describe, expect, it } from "vitest";
import { countersFor, countOnly, reserveQuota, settleQuota } from "../../src/admit/quota.js";
import type { TenantPolicy } from "../../src/core/policy.js";
import { createMemoryStore } from "../../src/state/memory/memory-store.js";
import { stateKey } from "../../src/state/store.js";

const NOW = Date.UTC(2026, 10, 30, 23, 59, 30); // 30 s before a new UTC day (and month).

const tenant = (overrides: Partial<TenantPolicy> = {}): TenantPolicy => ({
  name: "acme",
  keys: 0,
  spend: { usdPerDay: 1, usdPerMonth: 10 },
  rates: { requestsPerMinute: 100, tokensPerMinute: 10_000, concurrent: 4 },
  perUser: {},
  onLimit: { kind: "refuse" },
  warnAt: 0.8,
  unpriced: "refuse",
  ...overrides,
});

const ASK = { usd: 0.3, tokens: 1000 };

describe("reserveQuota", () => {
  it("reserves the worst case on every counter of the tenant, named by the policy's keys", async () => {
    const store = createMemoryStore();
    const outcome = await reserveQuota(store, tenant(), undefined, ASK, NOW);
    expect(outcome.kind).toBe("admitted");
    if (outcome.kind !== "admitted") return;
    expect(outcome.holds.map((hold) => [hold.measure, hold.reserved])).toEqual([
      ["requests", 1],
      ["concurrent", 1],
      ["tokens", 1000],
      ["usd", 0.3],
      ["usd", 0.3],
    ]);
    expect(await store.get(stateKey("acme", "usd", "day", "2026-11-30"))).toBe(0.3);
    expect(await store.get(stateKey("acme", "usd", "month", "2026-11"))).toBe(0.3);
  });

  it("refuses at the first limit a call would pass, reserving nothing anywhere, and says when the window ends", async () => {
    const store = createMemoryStore();
    for (let i = 0; i < 3; i++)
      expect((await reserveQuota(store, tenant(), undefined, ASK, NOW)).kind).toBe("admitted");
    const outcome = await reserveQuota(store, tenant(), undefined, ASK, NOW);
    expect(outcome).toEqual({
      kind: "refused",
      refusal: {
        limit: "tenants.acme.budgets.usd_per_day",
        kind: "budget",
        max: 1,
        used: 0.9,
        asked: 0.3,
        // The UTC day ends in 30 s.
        retryAfterMs: 30_000,
      },
    });
    // Nothing of the refused call stays counted.
    expect(await store.get(stateKey("acme", "requests", "minute", String(Math.floor(NOW / 60_000))))).toBe(3);
    expect(await store.get(stateKey("acme", "concurrent"))).toBe(3);
  });

  it("limits each user within the tenant by per_user, and names the user", async () => {
    const store = createMemoryStore();
    const perUser = tenant({ perUser: { requestsPerMinute: 1 } });
    expect((await reserveQuota(store, perUser, "ann", ASK, NOW)).kind).toBe("admitted");
    expect((await reserveQuota(store, perUser, "bob", ASK, NOW)).kind).toBe("admitted");
    const refused = await reserveQuota(store, perUser, "ann", ASK, NOW);
    expect(refused).toMatchObject({
      kind: "refused",
      refusal: {
        limit: "tenants.acme.per_user.requests_per_minute",
        kind: "rate",
        user: "ann",
        max: 1,
        used: 1,
      },
    });
  });

  it("never lets concurrent calls together pass a limit", async () => {
    const store = createMemoryStore();
    const outcomes = await Promise.all(
      Array.from({ length: 64 }, () =>
        reserveQuota(store, tenant(), undefined, { usd: 0.05, tokens: 10 }, NOW),
      ),
    );
    // Four in flight at once, at most.
    expect(outcomes.filter((outcome) => outcome.kind === "admitted")).toHaveLength(4);
    expect(await store.get(stateKey("acme", "concurrent"))).toBe(4);
  });

  it("warns once, as the call that crosses warn_at of a budget is admitted", async () => {
    const store = createMemoryStore();
    const warnings = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await reserveQuota(store, tenant(), undefined, ASK, NOW);
      if (outcome.kind === "admitted") warnings.push(outcome.warnings);
    }
    // 0.3, 0.6, 0.9 of $1: the third crosses 80 %.
    expect(warnings).toEqual([
      [],
      [],
      [{ limit: "tenants.acme.budgets.usd_per_day", max: 1, used: 0.9, at: 0.8 }],
    ]);
  });
});

describe("settleQuota", () => {
  it("settles each counter to what the call used and releases its slot in flight", async () => {
    const store = createMemoryStore();
    const outcome = await reserveQuota(store, tenant(), undefined, ASK, NOW);
    if (outcome.kind !== "admitted") throw new Error("refused");
    await settleQuota(store, outcome.holds, { usd: 0.0123, tokens: 240 });
    expect(await store.get(stateKey("acme", "usd", "day", "2026-11-30"))).toBe(0.0123);
    expect(await store.get(stateKey("acme", "tokens", "minute", String(Math.floor(NOW / 60_000))))).toBe(240);
    expect(await store.get(stateKey("acme", "requests", "minute", String(Math.floor(NOW / 60_000))))).toBe(1);
    expect(await store.get(stateKey("acme", "concurrent"))).toBe(0);
  });

  it("counts what a call used beyond its reservation (fallbacks that read the prompt again)", async () => {
    const store = createMemoryStore();
    const outcome = await reserveQuota(store, tenant(), undefined, ASK, NOW);
    if (outcome.kind !== "admitted") throw new Error("refused");
    await settleQuota(store, outcome.holds, { usd: 0.45, tokens: 1500 });
    expect(await store.get(stateKey("acme", "usd", "day", "2026-11-30"))).toBe(0.45);
  });

  it("counts a call served on the downgrade route without having reserved anything", async () => {
    const store = createMemoryStore();
    await settleQuota(store, countOnly(tenant(), "ann", NOW), { usd: 0.01, tokens: 50 });
    expect(await store.get(stateKey("acme", "usd", "day", "2026-11-30"))).toBe(0.01);
    expect(await store.get(stateKey("acme", "requests", "minute", String(Math.floor(NOW / 60_000))))).toBe(1);
    expect(await store.get(stateKey("acme", "concurrent"))).toBe(0);
  });
});

describe("countersFor", () => {
  it("keys a tenant's counters under its name, so Redis Cluster keeps them on one slot, and a user's within them", () => {
    const keys = countersFor(tenant({ perUser: { usdPerDay: 0.5 } }), "ann:{x}", NOW).map(
      (counter) => counter.key,
    );
    expect(keys.every((key) => key.startsWith("{acme}:"))).toBe(true);
    expect(keys.at(-1)).toBe("{acme}:user:ann%3A%7Bx%7D:usd:day:2026-11-30");
  });
});
