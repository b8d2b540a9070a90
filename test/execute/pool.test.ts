import { describe, expect, it } from "vitest";
import type { TargetId } from "../../src/core/types.js";
import { type MemberStats, orderPool, type PoolMember, type PoolStrategy } from "../../src/execute/pool.js";

const STRATEGIES: PoolStrategy[] = [
  "weighted",
  "least_in_flight",
  "lowest_latency",
  "cheapest_within_budget",
];

function member(id: TargetId, weight = 1, estimatedCostPico = 1): PoolMember {
  return { id, weight, estimatedCostPico };
}

/** Stats as a table; a member missing from it has nothing in flight and was never measured. */
function statsOf(table: Record<TargetId, Partial<MemberStats>> = {}): (id: TargetId) => MemberStats {
  return (id) => ({ inFlight: 0, ...table[id] });
}

/** Hands out these draws in order, and fails the test if the module asks for one more. */
function draws(...values: number[]): () => number {
  let next = 0;
  return () => {
    const value = values[next++];
    if (value === undefined) throw new Error(`random() called ${next} times; the test gave ${values.length}`);
    return value;
  };
}

/** mulberry32: a small seeded PRNG, so the statistical tests give the same numbers on every run. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Share of `runs` orders in which `id` is at `position`. */
function share(runs: number, id: TargetId, position: number, order: (random: () => number) => TargetId[]) {
  const random = mulberry32(20261129);
  let hits = 0;
  for (let run = 0; run < runs; run++) if (order(random)[position] === id) hits++;
  return hits / runs;
}

describe("orderPool", () => {
  it("lists every member exactly once, whatever the strategy and the stats", () => {
    const pool = [member("a/m", 3, 5), member("b/m", 0, 1), member("c/m", 1, 2), member("d/m", 2, 9)];
    const stats = statsOf({ "a/m": { inFlight: 2, latencyMs: 900 }, "c/m": { inFlight: 2, latencyMs: 40 } });
    for (const strategy of STRATEGIES) {
      const { order } = orderPool(pool, strategy, stats, { random: mulberry32(7), budgetMs: 500 });
      expect([...order].sort()).toEqual(["a/m", "b/m", "c/m", "d/m"]);
    }
  });

  it("orders an empty pool as empty, and says so", () => {
    for (const strategy of STRATEGIES)
      expect(orderPool([], strategy, statsOf(), { random: draws() })).toEqual({
        order: [],
        reason: `${strategy}: no members`,
      });
  });

  it("orders a single member alone without drawing", () => {
    for (const strategy of STRATEGIES)
      expect(orderPool([member("a/m")], strategy, statsOf(), { random: draws() }).order).toEqual(["a/m"]);
  });

  it("reads each member's stats once", () => {
    const reads: TargetId[] = [];
    const pool = [member("a/m"), member("b/m"), member("c/m")];
    const stats = (id: TargetId): MemberStats => {
      reads.push(id);
      return { inFlight: reads.length };
    };
    orderPool(pool, "least_in_flight", stats, { random: draws() });
    expect(reads).toEqual(["a/m", "b/m", "c/m"]);
  });
});

describe("orderPool weighted", () => {
  const order = (pool: PoolMember[], random: () => number) =>
    orderPool(pool, "weighted", statsOf(), { random }).order;

  it("picks the first member with probability weight / total weight (3:1 → 75%)", () => {
    const pool = [member("a/m", 3), member("b/m", 1)];
    const first = share(10_000, "a/m", 0, (random) => order(pool, random));
    expect(first).toBeGreaterThanOrEqual(0.72);
    expect(first).toBeLessThanOrEqual(0.78);
  });

  it("maps the draw onto the members' weights laid end to end, in declared order", () => {
    const pool = [member("a/m", 3), member("b/m", 1)];
    // a/m owns [0, 0.75) of the draw, b/m owns [0.75, 1).
    expect(order(pool, draws(0))).toEqual(["a/m", "b/m"]);
    expect(order(pool, draws(0.7499))).toEqual(["a/m", "b/m"]);
    expect(order(pool, draws(0.75))).toEqual(["b/m", "a/m"]);
    expect(order(pool, draws(0.9999))).toEqual(["b/m", "a/m"]);
  });

  it("draws each fallback by weight among the members not yet placed", () => {
    const pool = [member("a/m", 1), member("b/m", 2), member("c/m", 1)];
    // First draw takes a/m; of b/m:2 and c/m:1 left, b/m owns [0, 2/3) of the second draw.
    expect(order(pool, draws(0.1, 0.6))).toEqual(["a/m", "b/m", "c/m"]);
    expect(order(pool, draws(0.1, 0.7))).toEqual(["a/m", "c/m", "b/m"]);
  });

  it("makes a heavier member the likelier next fallback", () => {
    const pool = [member("a/m", 6), member("b/m", 3), member("c/m", 1)];
    // P(b/m second) = 0.6·3/4 + 0.1·3/9 ≈ 0.483; P(c/m second) = 0.6·1/4 + 0.3·1/7 ≈ 0.193.
    const bSecond = share(10_000, "b/m", 1, (random) => order(pool, random));
    const cSecond = share(10_000, "c/m", 1, (random) => order(pool, random));
    expect(bSecond).toBeCloseTo(0.483, 1);
    expect(cSecond).toBeCloseTo(0.193, 1);
  });

  it("puts weight-0 members last, in declared order", () => {
    const pool = [member("z/m", 0), member("a/m", 1), member("y/m", 0), member("b/m", 1)];
    expect(order(pool, draws(0.9))).toEqual(["b/m", "a/m", "z/m", "y/m"]);
  });

  it("keeps declared order when every weight is 0, without drawing", () => {
    const pool = [member("b/m", 0), member("a/m", 0), member("c/m", 0)];
    expect(order(pool, draws())).toEqual(["b/m", "a/m", "c/m"]);
  });
});

describe("orderPool least_in_flight", () => {
  const order = (pool: PoolMember[], stats: Record<TargetId, Partial<MemberStats>>, random = draws()) =>
    orderPool(pool, "least_in_flight", statsOf(stats), { random }).order;

  it("tries the member with the fewest calls in flight first, then ascending", () => {
    const pool = [member("a/m"), member("b/m"), member("c/m")];
    expect(order(pool, { "a/m": { inFlight: 5 }, "b/m": { inFlight: 0 }, "c/m": { inFlight: 2 } })).toEqual([
      "b/m",
      "c/m",
      "a/m",
    ]);
  });

  it("breaks a tie by weighted random, not by declared order", () => {
    const pool = [member("a/m"), member("b/m")];
    expect(order(pool, {}, draws(0.4))).toEqual(["a/m", "b/m"]);
    expect(order(pool, {}, draws(0.6))).toEqual(["b/m", "a/m"]);
  });

  it("shares load evenly among equally idle members of equal weight", () => {
    const pool = [member("a/m"), member("b/m")];
    const first = share(10_000, "a/m", 0, (random) => order(pool, {}, random));
    expect(first).toBeGreaterThanOrEqual(0.47);
    expect(first).toBeLessThanOrEqual(0.53);
  });

  it("shuffles each group of equals on its own, lower counts first", () => {
    const pool = [member("a/m"), member("b/m"), member("c/m"), member("d/m")];
    const stats = {
      "a/m": { inFlight: 1 },
      "b/m": { inFlight: 0 },
      "c/m": { inFlight: 0 },
      "d/m": { inFlight: 1 },
    };
    // One draw for the 0s (b/m, c/m), then one for the 1s (a/m, d/m).
    expect(order(pool, stats, draws(0.9, 0.9))).toEqual(["c/m", "b/m", "d/m", "a/m"]);
    expect(order(pool, stats, draws(0.1, 0.1))).toEqual(["b/m", "c/m", "a/m", "d/m"]);
  });

  it("puts a weight-0 member after its equals, but still ahead of busier members", () => {
    const pool = [member("a/m", 0), member("b/m"), member("c/m")];
    expect(order(pool, { "c/m": { inFlight: 1 } })).toEqual(["b/m", "a/m", "c/m"]);
  });
});

describe("orderPool lowest_latency", () => {
  const order = (pool: PoolMember[], stats: Record<TargetId, Partial<MemberStats>>, random = draws()) =>
    orderPool(pool, "lowest_latency", statsOf(stats), { random }).order;

  it("tries the fastest member to first token first, then ascending", () => {
    const pool = [member("a/m"), member("b/m"), member("c/m")];
    expect(
      order(pool, { "a/m": { latencyMs: 300 }, "b/m": { latencyMs: 120 }, "c/m": { latencyMs: 200 } }),
    ).toEqual(["b/m", "c/m", "a/m"]);
  });

  it("tries members never measured first, so each gets measured", () => {
    const pool = [member("a/m"), member("b/m"), member("c/m")];
    expect(order(pool, { "a/m": { latencyMs: 10 }, "c/m": { latencyMs: 5 } })).toEqual(["b/m", "c/m", "a/m"]);
  });

  it("breaks ties among the never measured by weighted random", () => {
    const pool = [member("a/m", 1), member("b/m", 3), member("c/m")];
    const stats = { "c/m": { latencyMs: 5 } };
    expect(order(pool, stats, draws(0.2))).toEqual(["a/m", "b/m", "c/m"]);
    expect(order(pool, stats, draws(0.3))).toEqual(["b/m", "a/m", "c/m"]);
  });

  it("breaks equal latencies by weighted random", () => {
    const pool = [member("a/m"), member("b/m"), member("c/m")];
    const stats = { "a/m": { latencyMs: 80 }, "b/m": { latencyMs: 80 }, "c/m": { latencyMs: 20 } };
    expect(order(pool, stats, draws(0.6))).toEqual(["c/m", "b/m", "a/m"]);
  });

  it("with no measurements yet orders the whole pool by weighted random", () => {
    const pool = [member("a/m", 1), member("b/m", 1), member("c/m", 2)];
    expect(order(pool, {}, draws(0.9, 0.9))).toEqual(["c/m", "b/m", "a/m"]);
  });
});

describe("orderPool cheapest_within_budget", () => {
  const order = (pool: PoolMember[], stats: Record<TargetId, Partial<MemberStats>>, budgetMs?: number) =>
    orderPool(pool, "cheapest_within_budget", statsOf(stats), {
      random: draws(),
      ...(budgetMs !== undefined && { budgetMs }),
    }).order;

  it("tries the cheapest member within budget first, then those over budget, fastest first", () => {
    const pool = [member("a/m", 1, 1), member("b/m", 1, 8), member("c/m", 1, 4), member("d/m", 1, 2)];
    const stats = {
      "a/m": { latencyMs: 1500 },
      "b/m": { latencyMs: 300 },
      "c/m": { latencyMs: 200 },
      "d/m": { latencyMs: 900 },
    };
    expect(order(pool, stats, 500)).toEqual(["c/m", "b/m", "d/m", "a/m"]);
  });

  it("counts a member exactly at the budget as within it", () => {
    const pool = [member("a/m", 1, 9), member("b/m", 1, 1)];
    expect(order(pool, { "a/m": { latencyMs: 100 }, "b/m": { latencyMs: 500 } }, 500)).toEqual([
      "b/m",
      "a/m",
    ]);
  });

  it("counts a member never measured as within budget", () => {
    const pool = [member("a/m", 1, 9), member("b/m", 1, 1)];
    expect(order(pool, { "a/m": { latencyMs: 100 } }, 50)).toEqual(["b/m", "a/m"]);
  });

  it("counts every member as within budget when there is no budget", () => {
    const pool = [member("a/m", 1, 9), member("b/m", 1, 1)];
    expect(order(pool, { "a/m": { latencyMs: 100 }, "b/m": { latencyMs: 99_999 } })).toEqual(["b/m", "a/m"]);
  });

  it("breaks equal cost by lower latency, a measured member before an unmeasured one", () => {
    const pool = [member("a/m", 1, 3), member("b/m", 1, 3), member("c/m", 1, 3)];
    expect(order(pool, { "b/m": { latencyMs: 400 }, "c/m": { latencyMs: 100 } }, 500)).toEqual([
      "c/m",
      "b/m",
      "a/m",
    ]);
  });

  it("breaks equal cost and latency by declared order, within and over budget", () => {
    const pool = [member("a/m", 1, 3), member("b/m", 1, 3), member("c/m", 1, 1), member("d/m", 1, 2)];
    const stats = { "c/m": { latencyMs: 900 }, "d/m": { latencyMs: 900 } };
    expect(order(pool, stats, 500)).toEqual(["a/m", "b/m", "c/m", "d/m"]);
  });

  it("ignores weight and never draws: the cheapest fit takes every call", () => {
    const pool = [member("a/m", 100, 2), member("b/m", 0, 1)];
    expect(order(pool, {})).toEqual(["b/m", "a/m"]);
  });
});

describe("orderPool reason", () => {
  const pool = [member("a/m", 3, 4), member("b/m", 1, 2)];

  it("names the first member over the rest, with the number each was ordered by", () => {
    const stats = statsOf({ "a/m": { inFlight: 3, latencyMs: 812.6 }, "b/m": { inFlight: 0 } });
    const reason = (strategy: PoolStrategy, random: () => number, budgetMs?: number) =>
      orderPool(pool, strategy, stats, { random, ...(budgetMs !== undefined && { budgetMs }) }).reason;
    expect(reason("weighted", draws(0.5))).toBe("weighted: a/m (weight 3 of 4) over b/m (1)");
    expect(reason("least_in_flight", draws())).toBe("least_in_flight: b/m (0 in flight) over a/m (3)");
    expect(reason("lowest_latency", draws())).toBe("lowest_latency: b/m (unmeasured) over a/m (813 ms)");
    expect(reason("cheapest_within_budget", draws())).toBe(
      "cheapest_within_budget: b/m (cost 2, unmeasured) over a/m (cost 4, 813 ms)",
    );
    expect(reason("cheapest_within_budget", draws(), 500)).toBe(
      "cheapest_within_budget (budget 500 ms): b/m (cost 2, unmeasured) over a/m (cost 4, 813 ms, over budget)",
    );
  });

  it("names a lone member alone", () => {
    expect(orderPool([member("a/m", 2)], "weighted", statsOf(), { random: draws() }).reason).toBe(
      "weighted: a/m (weight 2 of 2)",
    );
  });
});
