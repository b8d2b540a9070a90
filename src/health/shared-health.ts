import type { Logger } from "pino";
import type { Clock } from "../core/clock.js";
import type { BreakerSettings } from "../core/policy.js";
import type { TargetId } from "../core/types.js";
import { type StateKey, type StateStore, stateKey } from "../state/store.js";
import type { Hold, TargetHealth } from "./target-health.js";

/** How often the others' breaker openings and coolings are read by default (ms). */
export const SHARED_HEALTH_REFRESH_MS = 250;

const KINDS: ReadonlyArray<Hold["kind"]> = ["breaker", "rate_limited", "cooling"];

export interface SharedHealthOptions {
  health: TargetHealth;
  /** A store every replica (or `serve --workers` worker) reaches: Redis, or the primary's. */
  store: StateStore;
  /**
   * The targets to follow, each with the breaker settings its policy gives it: every target the
   * policy in force names. Asked at each refresh, so a reload is followed.
   */
  targets: () => Iterable<readonly [TargetId, Readonly<BreakerSettings>]>;
  /** The clock `health` runs on. */
  clock: Clock;
  /**
   * Epoch milliseconds (default Date.now): what replicas agree on. Their clocks must agree to
   * well within a breaker's open period (NTP does).
   */
  wallClock?: () => number;
  /** How often the others' holds are read (ms); default SHARED_HEALTH_REFRESH_MS. */
  refreshMs?: number;
  logger: Logger;
}

export interface SharedHealth {
  /** One round of reads, applied to `health` (what the interval runs). Never rejects. */
  refresh(): Promise<void>;
  /** Stops refreshing and publishing; resolves once a refresh in flight has ended. */
  stop(): Promise<void>;
}

/**
 * Breaker openings and coolings shared by the replicas (and workers) on one state store, kept
 * off the call path: `health` stays the only thing a call reads, synchronously.
 *
 * - When this process opens a target's breaker or cools it (a 429, a retry-after), it publishes
 *   "held until <epoch>" under `{target}:health:<kind>` with `raise` (the latest deadline wins,
 *   and the key lives as long as it). Fire-and-forget: a publication that fails only means less
 *   sharing, never a failed call.
 * - Every `refreshMs` it reads those keys for every target the policy names (one round of reads,
 *   at most one round at a time) and applies a deadline another process set, and this one did
 *   not, with `health.holdElsewhere`: an opening opens the local breaker for the rest of the
 *   period, after which each process probes on its own (half-open stays local); a cooling cools
 *   the target here as long, as a 429's or as a retry-after's. So another process's opening
 *   reaches this one within about `refreshMs`.
 *
 * Drills (out of service) are not shared: they stay per process, as the AdminService says.
 * A store that cannot be reached (or refuses) is logged once when sharing stops and once when it
 * works again; meanwhile local breakers and coolings work as they do without sharing.
 */
export function createSharedHealth(options: SharedHealthOptions): SharedHealth {
  const { health, store, clock } = options;
  const wallClock = options.wallClock ?? Date.now;
  const log = options.logger.child({ component: "shared-health" });
  /** The latest deadline this process published per key (epoch ms): reading it back is no news. */
  const published = new Map<StateKey, number>();
  let stopped = false;
  let failing = false;
  let inFlight: Promise<void> | undefined;

  const failed = (error: unknown): void => {
    if (failing || stopped) return;
    failing = true;
    log.warn(
      { reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) },
      "breaker state and coolings are not shared while the state store cannot be reached: this process's breakers keep working on their own",
    );
  };
  const worked = (): void => {
    if (!failing || stopped) return;
    failing = false;
    log.info("breaker state and coolings shared again");
  };

  const unwatch = health.watch((target, hold) => {
    if (stopped) return;
    const key = keyOf(target, hold.kind);
    const now = wallClock();
    const until = Math.round(now + hold.until - clock.now());
    if (until <= now) return;
    published.set(key, Math.max(published.get(key) ?? 0, until));
    store.raise(key, until / 1000, until - now).then(worked, failed);
  });

  /** Applies one published deadline (epoch seconds), unless this process set it or it has passed. */
  const apply = (target: TargetId, kind: Hold["kind"], breaker: Readonly<BreakerSettings>, value: number) => {
    const until = Math.round(value * 1000);
    if (until <= (published.get(keyOf(target, kind)) ?? 0)) return;
    const left = until - wallClock();
    if (left <= 0) return;
    health.holdElsewhere(target, { kind, until: clock.now() + left }, breaker);
  };

  const round = async (): Promise<void> => {
    const reads: Array<Promise<void>> = [];
    for (const [target, breaker] of options.targets())
      for (const kind of KINDS)
        reads.push(
          store.get(keyOf(target, kind)).then((value) => {
            if (value > 0 && !stopped) apply(target, kind, breaker, value);
          }),
        );
    const results = await Promise.allSettled(reads);
    const refused = results.find((result) => result.status === "rejected");
    if (refused) failed(refused.reason);
    else worked();
  };

  const refresh = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    // One round at a time: a slow store skips ticks rather than piling reads up.
    inFlight ??= round()
      .catch(failed)
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  const timer = setInterval(() => void refresh(), options.refreshMs ?? SHARED_HEALTH_REFRESH_MS);
  timer.unref();
  void refresh();

  return {
    refresh,
    async stop() {
      stopped = true;
      clearInterval(timer);
      unwatch();
      await inFlight;
    },
  };
}

function keyOf(target: TargetId, kind: Hold["kind"]): StateKey {
  return stateKey(target, "health", kind);
}
