import type { RateLimits, SpendLimits, TenantPolicy } from "../core/policy.js";
import { type StateKey, type StateStore, stateKey } from "../state/store.js";

/**
 * A tenant's budgets and limits against the shared store: what a call reserves before it is sent
 * (its worst-case cost and tokens, one request, one slot in flight), and how the reservation is
 * settled to what the call used once it ends, however it ended. Each counter's check-and-add is
 * atomic in the store, so concurrent calls, in one process or across replicas sharing Redis,
 * never together pass a limit by more than what the calls already in flight then use beyond
 * their reservation (DESIGN invariant 4).
 *
 * Windows are fixed and in UTC: a day's spend is a counter per UTC date, a month's per calendar
 * month, rates per wall-clock minute. Calls in flight are one counter that lives 15 minutes past
 * its first reservation, so slots a crashed process never released come back by then.
 */

/** What a call asks of its tenant's counters. */
export interface QuotaAsk {
  /** Worst-case cost, in US dollars. */
  usd: number;
  /** Input tokens and the most output tokens it may get. */
  tokens: number;
}

/** One counter a call holds, to be settled when it ends. */
export interface QuotaHold {
  key: StateKey;
  measure: Measure;
  /** What was added at admission (0 for a call admitted on the downgrade route, which only counts). */
  reserved: number;
  windowMs: number;
}

export type Measure = "usd" | "tokens" | "requests" | "concurrent";

export type QuotaOutcome =
  | { kind: "admitted"; holds: QuotaHold[]; warnings: QuotaWarning[] }
  | { kind: "refused"; refusal: QuotaRefusal };

export interface QuotaRefusal {
  /** As the policy names it: `tenants.acme.budgets.usd_per_day`. */
  limit: string;
  kind: "budget" | "rate";
  user?: string;
  max: number;
  used: number;
  asked: number;
  retryAfterMs: number;
}

export interface QuotaWarning {
  limit: string;
  max: number;
  used: number;
  /** The share reached, e.g. 0.8. */
  at: number;
}

const MINUTE_MS = 60_000;
const IN_FLIGHT_MS = 15 * MINUTE_MS;
/** How long a counter is kept past its window's end. */
const SLACK_MS = 60 * MINUTE_MS;
/** Told to a caller refused for calls in flight: one is likely to have ended by then. */
const IN_FLIGHT_RETRY_MS = 1_000;

interface Counter {
  key: StateKey;
  measure: Measure;
  limit: number;
  /** `tenants.acme.limits.requests_per_minute`. */
  name: string;
  windowMs: number;
  /** When the window ends (the refusal's retry delay), from now. */
  endsInMs: number;
  user?: string;
}

/** Whether the policy gives `tenant` any budget or limit (a tenant may be declared for its keys alone). */
export function isLimited(tenant: TenantPolicy): boolean {
  return [tenant.spend, tenant.rates, tenant.perUser].some((limits) =>
    Object.values(limits).some((limit) => limit !== undefined),
  );
}

/** Every counter `tenant` limits a call by, for it and for its user. */
export function countersFor(tenant: TenantPolicy, user: string | undefined, now: number): Counter[] {
  const counters: Counter[] = [];
  const add = (limits: SpendLimits & RateLimits, scope: string[], who: string | undefined) => {
    const push = (
      measure: Measure,
      limit: number | undefined,
      section: string,
      key: string,
      period: Period,
    ) => {
      if (limit === undefined) return;
      const window = windowOf(period, now);
      counters.push({
        key: stateKey(tenant.name, ...scope, measure, ...window.parts),
        measure,
        limit,
        name: `tenants.${tenant.name}.${who === undefined ? section : "per_user"}.${key}`,
        windowMs: window.keptMs,
        endsInMs: window.endsInMs,
        ...(who !== undefined && { user: who }),
      });
    };
    push("requests", limits.requestsPerMinute, "limits", "requests_per_minute", "minute");
    push("concurrent", limits.concurrent, "limits", "concurrent", "in_flight");
    push("tokens", limits.tokensPerMinute, "limits", "tokens_per_minute", "minute");
    push("usd", limits.usdPerDay, "budgets", "usd_per_day", "day");
    push("usd", limits.usdPerMonth, "budgets", "usd_per_month", "month");
  };
  add({ ...tenant.spend, ...tenant.rates }, [], undefined);
  if (user !== undefined && user !== "") add(tenant.perUser, ["user", user], user);
  return counters;
}

/**
 * Reserves `ask` against every counter of the tenant (and its user) in one atomic step, all or
 * nothing (StateStore.reserveAll): when one would pass its limit nothing is reserved, and the
 * first refused (in the order requests, calls in flight, tokens, spend; the tenant's before its
 * user's) is said, with when its window ends. A call admitted while a spend counter is at or
 * past `warnAt` of its limit asks for that window's warning; the first to get it warns (once per
 * window, across replicas: a marker counter in the store says who was first).
 */
export async function reserveQuota(
  store: StateStore,
  tenant: TenantPolicy,
  user: string | undefined,
  ask: QuotaAsk,
  now: number = Date.now(),
): Promise<QuotaOutcome> {
  const counters = countersFor(tenant, user, now);
  const holds: QuotaHold[] = counters.map((counter) => ({
    key: counter.key,
    measure: counter.measure,
    reserved: amountOf(counter.measure, ask),
    windowMs: counter.windowMs,
  }));
  // All or nothing in one atomic step (one script on the tenant's hash slot, with Redis): a call
  // refused on one counter never holds, even briefly, what it asked of the others.
  const reserved = await store.reserveAll(
    holds.map((hold, index) => ({
      key: hold.key,
      amount: hold.reserved,
      limit: (counters[index] as Counter).limit,
      windowMs: hold.windowMs,
    })),
  );
  if (!reserved.granted) {
    const at = reserved.refusedAt ?? 0;
    const counter = counters[at] as Counter;
    return {
      kind: "refused",
      refusal: {
        limit: counter.name,
        kind: counter.measure === "usd" ? "budget" : "rate",
        ...(counter.user !== undefined && { user: counter.user }),
        max: counter.limit,
        used: reserved.values[at] ?? 0,
        asked: amountOf(counter.measure, ask),
        retryAfterMs: counter.endsInMs,
      },
    };
  }
  // Once per window across every replica: the first call to take the window's warning marker.
  // Each marker is its own reservation (only the first of several may be the one granted); they
  // are asked for together, so with Redis they share one round trip.
  const warned = counters
    .map((counter, index) => ({ counter, used: reserved.values[index] ?? 0 }))
    .filter(({ counter, used }) => counter.measure === "usd" && used >= tenant.warnAt * counter.limit);
  const markers = await Promise.all(
    warned.map(({ counter }) =>
      store.reserve(stateKey(tenant.name, "warned", counter.key), 1, 1, counter.windowMs),
    ),
  );
  const warnings: QuotaWarning[] = warned
    .filter((_, index) => markers[index]?.granted)
    .map(({ counter, used }) => ({ limit: counter.name, max: counter.limit, used, at: tenant.warnAt }));
  return { kind: "admitted", holds, warnings };
}

/**
 * A call admitted on its tenant's downgrade route reserves nothing (its limit is why it is
 * there) but what it uses is still counted: holds of 0 on the spend, token and request counters.
 */
export function countOnly(
  tenant: TenantPolicy,
  user: string | undefined,
  now: number = Date.now(),
): QuotaHold[] {
  return countersFor(tenant, user, now)
    .filter((counter) => counter.measure !== "concurrent")
    .map((counter) => ({
      key: counter.key,
      measure: counter.measure,
      reserved: 0,
      windowMs: counter.windowMs,
    }));
}

/** What the call used, to settle its holds to. */
export interface QuotaUse {
  usd: number;
  tokens: number;
}

/**
 * Settles each hold to what the call used: the spend and tokens counters by the difference
 * (what was reserved and not used goes back; what was used beyond it is added), the request
 * stays counted, the slot in flight is released. Runs however the call ended.
 */
export async function settleQuota(
  store: StateStore,
  holds: readonly QuotaHold[],
  used: QuotaUse,
): Promise<void> {
  const actual: Record<Measure, number> = { usd: used.usd, tokens: used.tokens, requests: 1, concurrent: 0 };
  // One step for all of them: one script, or one request to the primary.
  const changes = holds
    .map((hold) => ({ key: hold.key, amount: actual[hold.measure] - hold.reserved, windowMs: hold.windowMs }))
    .filter((change) => change.amount !== 0);
  if (changes.length > 0) await store.addAll(changes);
}

function amountOf(measure: Measure, ask: QuotaAsk): number {
  if (measure === "usd") return ask.usd;
  if (measure === "tokens") return ask.tokens;
  return 1;
}

type Period = "minute" | "day" | "month" | "in_flight";

/**
 * The window `now` falls in: the parts that name its counter, how long until it ends, and how
 * long its counter is kept (a little past the end, so it is not gone while a clock is behind).
 */
function windowOf(period: Period, now: number): { parts: string[]; endsInMs: number; keptMs: number } {
  const date = new Date(now);
  const ending = (parts: string[], next: number) => ({
    parts,
    endsInMs: next - now,
    keptMs: next - now + SLACK_MS,
  });
  switch (period) {
    case "minute": {
      const minute = Math.floor(now / MINUTE_MS);
      return ending(["minute", String(minute)], (minute + 1) * MINUTE_MS);
    }
    case "day":
      return ending(
        ["day", date.toISOString().slice(0, 10)],
        Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1),
      );
    case "month":
      return ending(
        ["month", date.toISOString().slice(0, 7)],
        Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
      );
    case "in_flight":
      return { parts: [], endsInMs: IN_FLIGHT_RETRY_MS, keptMs: IN_FLIGHT_MS };
  }
}

/** The decision's account of an admitted call: what it reserved, and the warnings it crossed. */
export function describeAdmitted(
  tenant: string,
  admission: { worstCaseUsd: number; inputTokens: number; outputTokens: number },
  warnings: readonly QuotaWarning[],
): string {
  const reserved = `${tenant}: reserved up to ${usd(admission.worstCaseUsd)} and ${admission.inputTokens + admission.outputTokens} tokens`;
  const crossed = warnings.map(
    (warning) =>
      `${warning.limit} at ${Math.floor((warning.used / warning.max) * 100)}% of ${usd(warning.max)} (warned at ${Math.round(warning.at * 100)}%)`,
  );
  return [reserved, ...crossed].join("; ");
}

/** Which limit a call met, in the policy's words: never a value a caller wrote beyond its ids. */
export function describeRefusal(tenant: string, refusal: QuotaRefusal): string {
  const money = refusal.kind === "budget";
  const amount = (value: number) => (money ? usd(value) : String(Math.round(value * 1e6) / 1e6));
  const whose = refusal.user === undefined ? tenant : `${tenant}, user ${refusal.user}`;
  return `${whose}: ${refusal.limit} ${amount(refusal.max)} reached (${amount(refusal.used)} used; this call needs up to ${amount(refusal.asked)})`;
}

function usd(value: number): string {
  return `$${Math.ceil(value * 1e6) / 1e6}`;
}
