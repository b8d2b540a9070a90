import type { Clock } from "../core/clock.js";
import type { BreakerSettings } from "../core/policy.js";
import type { TargetId } from "../core/types.js";
import { type BreakerView, CircuitBreaker, DEFAULT_BREAKER } from "./breaker.js";

/**
 * What this process knows about each target's health, shared by every call: its circuit
 * breaker, how long it is cooled (a provider's retry-after, or our own backoff after a 429 that
 * gave none), whether an operator took it out of service (an outage drill), calls in flight,
 * observed latency, and its retry budget.
 *
 * Per process: each worker and replica learns for itself, as Envoy's outlier detection does; a
 * failing provider is seen failing by all of them within a few calls. With a shared state store,
 * health/shared-health.ts also tells the others when this one opens a breaker or cools a target
 * (`watch`) and applies what they told it (`holdElsewhere`), so every read here stays local.
 */
export interface TargetHealth {
  /**
   * Whether a call may go to `target` now. A permit counts the call in flight (and as a probe
   * when the breaker is half-open) until `ended` is called with it, exactly once.
   */
  admit(target: TargetId, breaker: Readonly<BreakerSettings>): Admission;
  ended(permit: TargetPermit, outcome: AttemptHealth): void;
  /** Why `target` would be skipped now, or undefined; takes no permit (dry runs: Classify, explain). */
  unavailable(target: TargetId, breaker: Readonly<BreakerSettings>): string | undefined;
  /** No call goes to `target` for `ms` (the longest cooling wins). */
  cool(target: TargetId, ms: number, reason: string): void;
  /**
   * A 429: cooled for the provider's retry-after when it gave one, else for an exponential
   * backoff with jitter on the 429s in a row. Returns how long it is cooled now (a longer cooling
   * already in force stands).
   */
  rateLimited(target: TargetId, retryAfterMs: number | undefined): number;
  /** An outage drill: the target takes no calls until returned, and decisions say why. */
  takeOutOfService(target: TargetId, reason: string): void;
  returnToService(target: TargetId): boolean;
  /**
   * Retries (and hedges) are allowed while the target's retry budget holds more than half its
   * tokens: every failure takes one, every success gives a tenth back (gRPC retry throttling).
   * When a target fails broadly, retries stop adding load to it.
   */
  mayRetry(target: TargetId): boolean;
  stats(target: TargetId): TargetStats;
  /**
   * Applies what another replica published (health/shared-health.ts): its breaker opening opens
   * this process's breaker for the rest of that period (then it goes half-open and probes on its
   * own); its cooling cools the target here until the same time. Decisions and views say it
   * happened on another replica. A hold no longer than what is in force here changes nothing.
   * Never reported to `watch` listeners.
   */
  holdElsewhere(target: TargetId, hold: Hold, breaker: Readonly<BreakerSettings>): void;
  /**
   * Calls `listener` each time this process opens a target's breaker or cools it (a 429, a
   * retry-after), with until when; not for what `holdElsewhere` applied, nor for drills. Returns
   * the function that stops it. A listener must not throw.
   */
  watch(listener: (target: TargetId, hold: Hold) => void): () => void;
  /**
   * Every target seen (or taken out of service), for ListTargets and the console. With
   * `breakerOf`, each breaker is seen under the settings of the policy the reader holds (as a call
   * applies them when admitted), so a reload that turned one off shows at once.
   */
  views(breakerOf?: (target: TargetId) => Readonly<BreakerSettings> | undefined): Map<TargetId, TargetView>;
}

export type Admission =
  | { allowed: true; permit: TargetPermit }
  | {
      allowed: false;
      /** `rate_limited`: cooling after a 429; `cooling`: after a server's retry-after (a 503). */
      skip: "out_of_service" | "rate_limited" | "cooling" | "breaker";
      reason: string;
      retryAfterMs?: number;
    };

/** A period during which no call goes to a target. */
export interface Hold {
  /** `breaker`: its breaker opened; `rate_limited`: cooled after a 429; `cooling`: after a server's retry-after. */
  kind: "breaker" | "rate_limited" | "cooling";
  /** Until when (clock ms). */
  until: number;
}

/** What decisions and views say of a hold another replica published. */
const ELSEWHERE: Record<Hold["kind"], string> = {
  breaker: "tripped on another replica",
  rate_limited: "rate limited on another replica",
  cooling: "the provider's retry-after, on another replica",
};

export interface TargetPermit {
  target: TargetId;
  probe: boolean;
  /** The breaker's half-open round the probe belongs to. */
  round: number;
}

/** How an attempt ended, as far as its target's health goes. */
export type AttemptHealth =
  | { kind: "succeeded"; latencyMs: number; firstTokenMs: number }
  /** Failed because of the target (connect, 5xx, overload, timeout, malformed answer). */
  | { kind: "failed"; latencyMs: number }
  /** Says nothing about the target: the caller left, the request was bad, a hedge lost, a 429. */
  | { kind: "neutral" };

export interface TargetStats {
  inFlight: number;
  /** EWMA of time to first token over successful attempts; undefined until one was seen. */
  latencyMs?: number;
  /** 95th percentile of the last RECENT_SAMPLES times to first token; undefined until one was seen. */
  p95FirstTokenMs?: number;
  /** How many times to first token the percentile is taken over. */
  samples: number;
}

export interface TargetView extends TargetStats {
  breaker: BreakerView;
  /** When cooled: until when (clock ms) and why. */
  cooledUntil?: number;
  coolingReason?: string;
  outOfService?: string;
  /**
   * The last RECENT_SAMPLES successful attempts' times to first token and whole durations, in
   * ms (copies; one process's oldest first, a merged view's one worker's after another's). Views carry the samples rather than their percentiles because
   * several processes' percentiles cannot be combined, but their samples can be concatenated
   * (cluster/merge.ts); read them with `latencyPercentiles`.
   */
  recentFirstTokensMs: number[];
  recentAttemptsMs: number[];
}

/** Nearest-rank percentiles of some latencies, in ms, and how many latencies they were taken over. */
export interface LatencyPercentiles {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  samples: number;
}

const RETRY_TOKENS = 10;
const RETRY_TOKEN_RATIO = 0.1;
/** How many of the latest successful attempts the percentiles are taken over. */
const RECENT_SAMPLES = 100;
/** Weight of the newest sample in the latency EWMA. */
const EWMA_ALPHA = 0.3;
/** Backoff after 429s that gave no retry-after: 1 s, 2 s, 4 s … up to a minute, with full jitter. */
const RATE_LIMIT_BACKOFF_MS = 1_000;
const RATE_LIMIT_BACKOFF_CAP_MS = 60_000;

interface Health {
  breaker: CircuitBreaker;
  inFlight: number;
  latencyMs?: number;
  /** Of the last RECENT_SAMPLES successful attempts, oldest first: time to first token, and to the end. */
  firstTokens: number[];
  durations: number[];
  cooledUntil: number;
  coolingReason: string;
  /** Whether the cooling in force came from a 429 (else from a server's retry-after). */
  coolingAfter429: boolean;
  rateLimitedInARow: number;
  outOfService?: string;
  retryTokens: number;
}

export function createTargetHealth(clock: Clock, random: () => number = Math.random): TargetHealth {
  const targets = new Map<TargetId, Health>();
  const listeners = new Set<(target: TargetId, hold: Hold) => void>();
  const tell = (target: TargetId, hold: Hold): void => {
    for (const listener of listeners) listener(target, hold);
  };
  const healthOf = (target: TargetId, breaker?: Readonly<BreakerSettings>): Health => {
    let health = targets.get(target);
    if (!health) {
      health = {
        breaker: new CircuitBreaker(breaker ?? DEFAULT_BREAKER, clock.now()),
        inFlight: 0,
        firstTokens: [],
        durations: [],
        cooledUntil: 0,
        coolingReason: "",
        coolingAfter429: false,
        rateLimitedInARow: 0,
        retryTokens: RETRY_TOKENS,
      };
      targets.set(target, health);
    } else if (breaker) health.breaker.configure(breaker, clock.now());
    return health;
  };

  /** Cools until `until` unless cooled longer already; says whether it did. */
  const coolUntil = (health: Health, until: number, reason: string, after429: boolean): boolean => {
    if (until <= health.cooledUntil) return false;
    health.cooledUntil = until;
    health.coolingReason = reason;
    health.coolingAfter429 = after429;
    return true;
  };
  /** A cooling this process decided: told to the watchers. */
  const cool = (target: TargetId, health: Health, ms: number, reason: string, after429: boolean) => {
    const until = clock.now() + ms;
    if (coolUntil(health, until, reason, after429))
      tell(target, { kind: after429 ? "rate_limited" : "cooling", until });
  };

  /** Out of service or cooling: why no call may go now (the breaker is asked on its own). */
  const closedBy = (health: Health): Extract<Admission, { allowed: false }> | undefined => {
    if (health.outOfService !== undefined)
      return { allowed: false, skip: "out_of_service", reason: `out of service (${health.outOfService})` };
    const now = clock.now();
    if (health.cooledUntil <= now) return undefined;
    const left = Math.ceil(health.cooledUntil - now);
    return {
      allowed: false,
      skip: health.coolingAfter429 ? "rate_limited" : "cooling",
      reason: `cooling down for ${left} ms more (${health.coolingReason})`,
      retryAfterMs: left,
    };
  };

  const report = (health: Health, permit: TargetPermit, outcome: AttemptHealth, now: number): void => {
    if (outcome.kind === "succeeded") {
      // Slow is slow to answer: a long answer that began at once is not a slow call.
      health.breaker.succeeded(now, outcome.firstTokenMs, permit.probe, permit.round);
      health.rateLimitedInARow = 0;
      health.retryTokens = Math.min(RETRY_TOKENS, health.retryTokens + RETRY_TOKEN_RATIO);
      health.latencyMs =
        health.latencyMs === undefined
          ? outcome.firstTokenMs
          : EWMA_ALPHA * outcome.firstTokenMs + (1 - EWMA_ALPHA) * health.latencyMs;
      keepRecent(health.firstTokens, outcome.firstTokenMs);
      keepRecent(health.durations, outcome.latencyMs);
    } else if (outcome.kind === "failed") {
      health.breaker.failed(now, outcome.latencyMs, permit.probe, permit.round);
      health.retryTokens = Math.max(0, health.retryTokens - 1);
    } else health.breaker.released(permit.probe, permit.round);
  };

  return {
    admit(target, breaker) {
      const health = healthOf(target, breaker);
      const closed = closedBy(health);
      if (closed) return closed;
      const permit = health.breaker.permit(clock.now());
      if (!permit.allowed) return { allowed: false, skip: "breaker", reason: permit.reason };
      health.inFlight += 1;
      return { allowed: true, permit: { target, probe: permit.probe, round: permit.round } };
    },

    unavailable(target, breaker) {
      const health = targets.get(target);
      if (!health) return undefined;
      health.breaker.configure(breaker, clock.now());
      return closedBy(health)?.reason ?? health.breaker.refusal(clock.now());
    },

    ended(permit, outcome) {
      const health = healthOf(permit.target);
      health.inFlight = Math.max(0, health.inFlight - 1);
      const now = clock.now();
      const openBefore = health.breaker.openUntil();
      report(health, permit, outcome, now);
      const openNow = health.breaker.openUntil();
      // This call opened it (a failure, or a slow success tipping the slow-call rate).
      if (openNow !== undefined && openNow !== openBefore)
        tell(permit.target, { kind: "breaker", until: openNow });
    },

    cool(target, ms, reason) {
      cool(target, healthOf(target), ms, reason, false);
    },

    holdElsewhere(target, hold, breaker) {
      const health = healthOf(target, breaker);
      const now = clock.now();
      if (hold.kind === "breaker") health.breaker.heldOpen(now, hold.until, ELSEWHERE.breaker);
      else if (hold.until > now)
        coolUntil(health, hold.until, ELSEWHERE[hold.kind], hold.kind === "rate_limited");
    },

    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    rateLimited(target, retryAfterMs) {
      const health = healthOf(target);
      health.rateLimitedInARow += 1;
      health.retryTokens = Math.max(0, health.retryTokens - 1);
      if (retryAfterMs !== undefined) cool(target, health, retryAfterMs, "the provider's retry-after", true);
      else {
        const ceiling = Math.min(
          RATE_LIMIT_BACKOFF_CAP_MS,
          RATE_LIMIT_BACKOFF_MS * 2 ** (health.rateLimitedInARow - 1),
        );
        // Full jitter, floored at the base: spread callers out, never straight back.
        const ms = Math.max(RATE_LIMIT_BACKOFF_MS, Math.round(random() * ceiling));
        cool(target, health, ms, `rate limited ${health.rateLimitedInARow}× in a row, no retry-after`, true);
      }
      // The cooling in force, which an earlier, longer one may set.
      return Math.max(0, Math.ceil(health.cooledUntil - clock.now()));
    },

    takeOutOfService(target, reason) {
      healthOf(target).outOfService = reason;
    },

    returnToService(target) {
      const health = targets.get(target);
      if (health?.outOfService === undefined) return false;
      delete health.outOfService;
      return true;
    },

    mayRetry(target) {
      return healthOf(target).retryTokens > RETRY_TOKENS / 2;
    },

    stats(target) {
      const health = targets.get(target);
      if (!health) return { inFlight: 0, samples: 0 };
      return statsOf(health);
    },

    views(breakerOf) {
      const now = clock.now();
      const views = new Map<TargetId, TargetView>();
      for (const [target, health] of targets) {
        const settings = breakerOf?.(target);
        if (settings) health.breaker.configure(settings, now);
        views.set(target, {
          ...statsOf(health),
          breaker: health.breaker.view(now),
          ...(health.cooledUntil > now && {
            cooledUntil: health.cooledUntil,
            coolingReason: health.coolingReason,
          }),
          ...(health.outOfService !== undefined && { outOfService: health.outOfService }),
          recentFirstTokensMs: [...health.firstTokens],
          recentAttemptsMs: [...health.durations],
        });
      }
      return views;
    },
  };
}

function statsOf(health: Health): TargetStats {
  return {
    inFlight: health.inFlight,
    samples: health.firstTokens.length,
    ...(health.latencyMs !== undefined && { latencyMs: health.latencyMs }),
    ...(health.firstTokens.length > 0 && { p95FirstTokenMs: nearestRank(ascending(health.firstTokens), 95) }),
  };
}

function keepRecent(samples: number[], sample: number): void {
  samples.push(sample);
  if (samples.length > RECENT_SAMPLES) samples.shift();
}

/**
 * p50, p95 and p99 of `samples` (ms, in any order) by nearest rank: each is one of the samples,
 * the smallest with at least that share of them at or below it. Undefined for no samples.
 */
export function latencyPercentiles(samples: readonly number[]): LatencyPercentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = ascending(samples);
  return {
    p50Ms: nearestRank(sorted, 50),
    p95Ms: nearestRank(sorted, 95),
    p99Ms: nearestRank(sorted, 99),
    samples: sorted.length,
  };
}

function ascending(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/**
 * The sample of rank ⌈percent·n/100⌉ in `sorted` (ascending, not empty). Whole percents keep
 * `percent * n` an exact integer, so the rank never hangs on how 0.95 rounds in binary.
 */
function nearestRank(sorted: readonly number[], percent: number): number {
  return sorted[Math.ceil((percent * sorted.length) / 100) - 1] ?? 0;
}
