/**
 * A circuit breaker for one target (provider + model): closed, open, half-open.
 *
 * Closed lets every call through and watches three things: consecutive failures, the failure
 * rate over a sliding window (once the window holds `minimumCalls`), and the rate of slow calls
 * over the same window. Any of them over its threshold opens the breaker: no call goes to the
 * target for `openMs`. Then it is half-open: at most `halfOpenProbes` calls are let through at
 * once as probes; that many successes close it, one failure opens it again.
 *
 * Time is passed in (`now`, milliseconds on the pipeline's clock), so the breaker is a plain
 * state machine that tests drive by hand.
 */
import type { BreakerSettings } from "../core/policy.js";

/** On with no configuration: trips on a target that is clearly failing, not on one bad call. */
export const DEFAULT_BREAKER: Readonly<BreakerSettings> = {
  enabled: true,
  consecutiveFailures: 5,
  failureRate: 0.5,
  slowCallRate: 0.8,
  slowCallMs: 30_000,
  windowMs: 30_000,
  minimumCalls: 10,
  openMs: 5_000,
  halfOpenProbes: 1,
};

export type BreakerState = "closed" | "open" | "half_open";

/** What a call may do: go (as a probe while half-open), or not. */
export type BreakerPermit =
  /** `round`: which half-open round a probe belongs to (its report counts only in that round). */
  { allowed: true; probe: boolean; round: number } | { allowed: false; reason: string };

export interface BreakerView {
  state: BreakerState;
  /** When it entered that state. */
  since: number;
  /** Why it opened last (kept while half-open and after it closed again until the next trip). */
  trippedBy?: string;
  /** Failures over the window ÷ calls over the window; 0 with no calls. */
  failureRate: number;
  /** Calls over the window. */
  calls: number;
}

/** Buckets the window is cut into: the rates forget old calls a tenth of the window at a time. */
const BUCKETS = 10;

interface Bucket {
  start: number;
  calls: number;
  failures: number;
  slow: number;
}

export class CircuitBreaker {
  private current: BreakerState = "closed";
  private enteredAt: number;
  private tripReason: string | undefined;
  private streak = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  /** Counts state changes: a probe let through in one half-open round is no probe in the next. */
  private round = 0;
  private readonly buckets: Bucket[] = [];

  constructor(
    private settings: Readonly<BreakerSettings>,
    now: number,
  ) {
    this.enteredAt = now;
  }

  /** New thresholds (a policy reload); the state and the window are kept, unless it is turned off. */
  configure(settings: Readonly<BreakerSettings>, now?: number): void {
    this.settings = settings;
    if (!settings.enabled && this.current !== "closed" && now !== undefined) this.enter("closed", now);
  }

  /** Whether a call may go now. A permitted probe must be followed by exactly one report. */
  permit(now: number): BreakerPermit {
    const refusal = this.refusal(now);
    if (refusal !== undefined) return { allowed: false, reason: refusal };
    if (this.current === "closed" || !this.settings.enabled)
      return { allowed: true, probe: false, round: this.round };
    this.probesInFlight += 1;
    return { allowed: true, probe: true, round: this.round };
  }

  /** Why a call would not be let through now (without taking a probe slot), or undefined. */
  refusal(now: number): string | undefined {
    if (!this.settings.enabled) return undefined;
    this.advance(now);
    if (this.current === "open")
      return `breaker open (${this.tripReason}); probes in ${Math.ceil(this.enteredAt + this.settings.openMs - now)} ms`;
    if (this.current === "half_open" && this.probesInFlight >= this.settings.halfOpenProbes)
      return "breaker half-open: its probes are in flight";
    return undefined;
  }

  /**
   * Until when (clock ms) no call is let through because the breaker is open; undefined unless
   * open. Cheap: no window arithmetic.
   */
  openUntil(): number | undefined {
    return this.current === "open" ? this.enteredAt + this.settings.openMs : undefined;
  }

  /**
   * Another replica opened its breaker for this target until `until` (clock ms): this one opens
   * too for what is left of that period, then goes half-open and probes on its own. Probes in
   * flight here no longer count (a new round). Ignored while turned off, when `until` has passed,
   * or when already open at least as long. Returns whether it opened.
   */
  heldOpen(now: number, until: number, reason: string): boolean {
    if (!this.settings.enabled || until <= now) return false;
    this.advance(now);
    const open = this.openUntil();
    if (open !== undefined && open >= until) return false;
    this.tripReason = reason;
    // As if opened when the other replica did (never later than now, so `since` is never ahead).
    this.enter("open", Math.min(now, until - this.settings.openMs));
    return true;
  }

  /** A call that reached the target and answered. */
  succeeded(now: number, latencyMs: number, probed: boolean, round?: number): void {
    this.advance(now);
    const probe = this.isCurrentProbe(probed, round);
    this.count(now, false, latencyMs);
    this.streak = 0;
    if (probe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
    if (this.current === "closed") {
      this.checkRates(now);
      return;
    }
    // Open: a call let through before it opened. Judging the rates again would trip on the calls
    // that opened it and push the probes back (`failed` does not judge them while open either).
    if (this.current === "open" || !probe) return;
    this.probeSuccesses += 1;
    if (this.probeSuccesses >= this.settings.halfOpenProbes) this.enter("closed", now);
  }

  /** A call that failed because of the target (not the caller, not the request). */
  failed(now: number, latencyMs: number, probed: boolean, round?: number): void {
    this.advance(now);
    const probe = this.isCurrentProbe(probed, round);
    this.count(now, true, latencyMs);
    this.streak += 1;
    if (probe) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
    if (this.current === "half_open") {
      if (probe) this.trip(now, "a probe failed");
      return;
    }
    if (this.current === "open") return;
    if (this.settings.enabled && this.streak >= this.settings.consecutiveFailures)
      this.trip(now, `${this.streak} failures in a row`);
    else this.checkRates(now);
  }

  /** A permitted call that ended saying nothing about the target (the caller left, a bad request). */
  released(probed: boolean, round?: number): void {
    if (this.isCurrentProbe(probed, round)) this.probesInFlight = Math.max(0, this.probesInFlight - 1);
  }

  /** A probe of this round (one from an earlier round neither frees a slot nor closes it). */
  private isCurrentProbe(probed: boolean, round: number | undefined): boolean {
    return probed && (round === undefined || round === this.round);
  }

  view(now: number): BreakerView {
    this.advance(now);
    const { calls, failures } = this.totals(now);
    return {
      state: this.current,
      since: this.enteredAt,
      ...(this.tripReason !== undefined && { trippedBy: this.tripReason }),
      failureRate: calls === 0 ? 0 : failures / calls,
      calls,
    };
  }

  /** Open becomes half-open once `openMs` has passed; nothing else moves with time alone. */
  private advance(now: number): void {
    if (this.current === "open" && now >= this.enteredAt + this.settings.openMs) this.enter("half_open", now);
  }

  private checkRates(now: number): void {
    if (!this.settings.enabled) return;
    const { calls, failures, slow } = this.totals(now);
    if (calls < this.settings.minimumCalls) return;
    if (failures / calls >= this.settings.failureRate)
      this.trip(now, `failure rate ${percent(failures / calls)} over ${calls} calls`);
    else if (slow / calls >= this.settings.slowCallRate)
      this.trip(
        now,
        `slow-call rate ${percent(slow / calls)} over ${calls} calls (slower than ${this.settings.slowCallMs} ms)`,
      );
  }

  private trip(now: number, reason: string): void {
    this.tripReason = reason;
    this.enter("open", now);
  }

  private enter(state: BreakerState, now: number): void {
    this.current = state;
    this.enteredAt = now;
    this.round += 1;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.streak = 0;
    // A breaker that closes starts a fresh window: the calls that opened it are not held against
    // the recovered target.
    if (state === "closed") this.buckets.length = 0;
  }

  private count(now: number, failure: boolean, latencyMs: number): void {
    const width = this.settings.windowMs / BUCKETS;
    const start = now - (now % width);
    let bucket = this.buckets.at(-1);
    if (!bucket || bucket.start !== start) {
      bucket = { start, calls: 0, failures: 0, slow: 0 };
      this.buckets.push(bucket);
    }
    bucket.calls += 1;
    if (failure) bucket.failures += 1;
    if (latencyMs > this.settings.slowCallMs) bucket.slow += 1;
    this.forget(now);
  }

  private totals(now: number): { calls: number; failures: number; slow: number } {
    this.forget(now);
    let calls = 0;
    let failures = 0;
    let slow = 0;
    for (const bucket of this.buckets) {
      calls += bucket.calls;
      failures += bucket.failures;
      slow += bucket.slow;
    }
    return { calls, failures, slow };
  }

  private forget(now: number): void {
    const oldest = now - this.settings.windowMs;
    while (
      this.buckets.length > 0 &&
      (this.buckets[0]?.start ?? 0) + this.settings.windowMs / BUCKETS <= oldest
    )
      this.buckets.shift();
  }
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}
