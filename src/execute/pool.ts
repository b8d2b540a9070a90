import type { Admission, IdentifiedRequest, RoutingPlan } from "../core/call.js";
import { type Policy, type PoolStrategy, priceOf, type RouteTarget } from "../core/policy.js";
import { estimateInputTokens } from "../core/token-estimate.js";
import { type TargetId, targetId } from "../core/types.js";

export type { PoolStrategy };

export interface PoolMember {
  id: TargetId;
  /** Share of the pool's calls under `weighted`, and the tie-break weight elsewhere; 0 = fallback only. */
  weight: number;
  /** What this call would cost on it (estimated input, capped output), in picodollars: for cheapest. */
  estimatedCostPico: number;
}

export interface MemberStats {
  inFlight: number;
  /** EWMA of observed time to first token, ms; undefined when never observed. */
  latencyMs?: number;
}

export interface PoolOrder {
  /** Every member exactly once: the first is tried first, the rest are the in-pool fallbacks in order. */
  order: TargetId[];
  /** one line for the decision record, e.g. `least_in_flight: a/m (0 in flight) over b/m (3)` — ids and numbers only */
  reason: string;
}

interface Entry {
  member: PoolMember;
  stats: MemberStats;
  /** Position in the route's declaration: the last tie-break, so equal members keep a stable order. */
  index: number;
}

/**
 * Orders a pool's members for one call. Pure: randomness comes only from `options.random` (values
 * in [0, 1)), so a seeded source replays a decision. `stats` is read once per member. Never throws;
 * an empty pool gives an empty order. `budgetMs` is used only by `cheapest_within_budget`.
 */
export function orderPool(
  members: readonly PoolMember[],
  strategy: PoolStrategy,
  stats: (id: TargetId) => MemberStats,
  options: { random: () => number; budgetMs?: number },
): PoolOrder {
  // One read per member: a comparator would call it O(n log n) times, and a source that ages its
  // numbers could answer differently halfway through the sort.
  const entries = members.map((member, index) => ({ member, stats: stats(member.id), index }));
  const ordered = orderEntries(entries, strategy, options);
  return { order: ordered.map((entry) => entry.member.id), reason: reasonFor(strategy, ordered, options) };
}

function orderEntries(
  entries: readonly Entry[],
  strategy: PoolStrategy,
  options: { random: () => number; budgetMs?: number },
): Entry[] {
  switch (strategy) {
    case "weighted":
      return weightedShuffle(entries, options.random);
    case "least_in_flight":
      return ascendingThenWeighted(entries, (entry) => entry.stats.inFlight, options.random);
    case "lowest_latency":
      // Never measured sorts first: a member that is never tried would never get a latency.
      return ascendingThenWeighted(
        entries,
        (entry) => entry.stats.latencyMs ?? Number.NEGATIVE_INFINITY,
        options.random,
      );
    case "cheapest_within_budget":
      return cheapestWithinBudget(entries, options.budgetMs);
    default:
      return strategy satisfies never;
  }
}

/**
 * Weighted random without replacement: each next member is drawn with probability weight / weight
 * left, so a heavier member is also the likelier next fallback. Weight-0 members follow in declared
 * order. Draws once per pick that is still a choice (none for a lone member).
 */
function weightedShuffle(entries: readonly Entry[], random: () => number): Entry[] {
  const open = entries.filter((entry) => entry.member.weight > 0);
  const unweighted = entries.filter((entry) => !(entry.member.weight > 0));
  const ordered: Entry[] = [];
  while (open.length > 1) {
    let point = random() * open.reduce((sum, entry) => sum + entry.member.weight, 0);
    // The last member takes what rounding leaves over (and a random() that breaks its contract with 1).
    let pick = open.length - 1;
    for (const [i, entry] of open.entries()) {
      point -= entry.member.weight;
      if (point < 0) {
        pick = i;
        break;
      }
    }
    ordered.push(...open.splice(pick, 1));
  }
  return [...ordered, ...open, ...unweighted];
}

/** Ascending by key; equal keys are shuffled by weight, so equal members share load instead of herding on the first declared. */
function ascendingThenWeighted(
  entries: readonly Entry[],
  key: (entry: Entry) => number,
  random: () => number,
): Entry[] {
  const groups = new Map<number, Entry[]>();
  for (const entry of entries) {
    const k = key(entry);
    groups.set(k, [...(groups.get(k) ?? []), entry]);
  }
  return [...groups]
    .sort(([a], [b]) => ascending(a, b))
    .flatMap(([, group]) => weightedShuffle(group, random));
}

/**
 * Within budget (never measured counts as within, so it can be measured) by cost, then by latency
 * with the unmeasured after the measured (a known fit beats an unknown one), then declared order;
 * then those over budget, fastest first. Deterministic: the cheapest fit takes every call.
 */
function cheapestWithinBudget(entries: readonly Entry[], budgetMs: number | undefined): Entry[] {
  const latency = (entry: Entry) => entry.stats.latencyMs ?? Number.POSITIVE_INFINITY;
  const within = entries
    .filter((entry) => !overBudget(entry, budgetMs))
    .sort(
      (a, b) =>
        ascending(a.member.estimatedCostPico, b.member.estimatedCostPico) ||
        ascending(latency(a), latency(b)) ||
        a.index - b.index,
    );
  const over = entries
    .filter((entry) => overBudget(entry, budgetMs))
    .sort((a, b) => ascending(latency(a), latency(b)) || a.index - b.index);
  return [...within, ...over];
}

function overBudget(entry: Entry, budgetMs: number | undefined): boolean {
  return budgetMs !== undefined && entry.stats.latencyMs !== undefined && entry.stats.latencyMs > budgetMs;
}

// Not `a - b`: two infinities subtract to NaN.
function ascending(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function reasonFor(
  strategy: PoolStrategy,
  ordered: readonly Entry[],
  options: { budgetMs?: number },
): string {
  if (ordered.length === 0) return `${strategy}: no members`;
  const totalWeight = ordered.reduce((sum, entry) => sum + Math.max(0, entry.member.weight), 0);
  const latency = (entry: Entry) =>
    entry.stats.latencyMs === undefined ? "unmeasured" : `${Math.round(entry.stats.latencyMs)} ms`;
  const describe = (entry: Entry, first: boolean): string => {
    switch (strategy) {
      case "weighted":
        return first ? `weight ${entry.member.weight} of ${totalWeight}` : `${entry.member.weight}`;
      case "least_in_flight":
        return first ? `${entry.stats.inFlight} in flight` : `${entry.stats.inFlight}`;
      case "lowest_latency":
        return latency(entry);
      case "cheapest_within_budget":
        return `cost ${entry.member.estimatedCostPico}, ${latency(entry)}${overBudget(entry, options.budgetMs) ? ", over budget" : ""}`;
      default:
        return strategy satisfies never;
    }
  };
  const budget =
    strategy === "cheapest_within_budget" && options.budgetMs !== undefined
      ? ` (budget ${options.budgetMs} ms)`
      : "";
  const [first, ...rest] = ordered.map((entry, i) => `${entry.member.id} (${describe(entry, i === 0)})`);
  return `${strategy}${budget}: ${first}${rest.length > 0 ? ` over ${rest.join(", ")}` : ""}`;
}

/**
 * The targets in the order they are to be tried: a route with a pool puts its members first,
 * ordered for this call by the pool's strategy (the reason goes in the decision), then its
 * fallbacks. Cost is this call's estimate: its input tokens, and its output cap (or as many
 * tokens again as it sends) at each member's price.
 */
export function orderTargets(
  plan: RoutingPlan,
  call: { request: IdentifiedRequest; admission: Admission; policy: Policy },
  stats: (id: TargetId) => MemberStats,
  random: () => number,
): RouteTarget[] {
  const strategy = plan.route.pool;
  if (!strategy) return [...plan.eligible];
  const isMember = (target: RouteTarget) => target.role.startsWith("pool[");
  const members = plan.eligible.filter(isMember);
  const byId = new Map(members.map((target) => [targetId(target), target]));
  const inputTokens = estimateInputTokens(call.request.messages, call.request.tools);
  const outputTokens = call.admission.maxTokens ?? inputTokens;
  const { order, reason } = orderPool(
    members.map((target) => {
      const price = priceOf(call.policy, target);
      return {
        id: targetId(target),
        weight: target.weight ?? 1,
        estimatedCostPico: price
          ? inputTokens * price.inputPicoUsdPerToken + outputTokens * price.outputPicoUsdPerToken
          : 0,
      };
    }),
    strategy,
    stats,
    {
      random,
      ...(plan.route.budgets.firstTokenMs !== undefined && { budgetMs: plan.route.budgets.firstTokenMs }),
    },
  );
  plan.decision.pool = reason;
  return [
    ...order.map((id) => byId.get(id) as RouteTarget),
    ...plan.eligible.filter((target) => !isMember(target)),
  ];
}
