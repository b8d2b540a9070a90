import type { Decision } from "../core/types.js";
import type { RoutingRecord } from "./routing-record.js";

export interface RecordedDecision {
  decision: Decision;
  recordedAt: Date;
  /** "ok", or how the call ended otherwise (e.g. "AllTargetsFailedError", "abandoned: …"). */
  outcome: string;
  /** What replay needs to decide the call again; absent for calls recorded before it was kept. */
  routing?: RoutingRecord;
}

/**
 * Recent decisions, one per call, under the call's own server-made id: a call can neither
 * overwrite nor hide another's. Calls sharing a caller's trace id (an agent loop) are also listed
 * by trace, oldest first. Bounded in calls (`capacity`; the oldest is forgotten first) and in
 * calls listed per trace (`perTrace`; the oldest drop out of the listing, still found by id).
 *
 * A decision is stored as is, not copied: recording is the last thing the pipeline does with it.
 */
export interface DecisionLog {
  add(decision: Decision, outcome: string, at?: Date, routing?: RoutingRecord): void;
  /** The decision of one call; undefined when unknown or forgotten. */
  byCall(callId: string): RecordedDecision | undefined;
  /** The recent calls of a trace, oldest first; empty when none. */
  byTrace(traceId: string): readonly RecordedDecision[];
  /** Calls held. */
  readonly size: number;
  /** Recorded decisions matching `filter`, newest first, at most `filter.limit`. */
  list(filter: DecisionFilter): { decisions: RecordedDecision[]; truncated: boolean };
  /** The recorded calls matching `query`, counted and their costs added up per bucket of time. */
  spend(query: SpendQuery): SpendBucket[];
}

/**
 * Whose calls: every tenant's, one tenant's, or one user's of one tenant (a user is one tenant's,
 * so a user is never asked for without its tenant). A user named is never empty.
 */
export type Whose = { tenant?: string; user?: undefined } | { tenant: string; user?: string };

/**
 * What GetSpend asks for: the calls of `Whose` recorded in [`since`, `until`), in buckets of
 * `bucketMs` milliseconds, the n-th starting at `since + n × bucketMs`.
 */
export type SpendQuery = Whose & {
  since: Date;
  until: Date;
  bucketMs: number;
};

/** The calls recorded in one bucket: how many, and their decisions' costUsd added up (US dollars). */
export interface SpendBucket {
  costUsd: number;
  calls: number;
}

/** How many buckets `query`'s range takes (the last one may end past `until`). */
export function bucketCount(query: SpendQuery): number {
  return Math.max(0, Math.ceil((query.until.getTime() - query.since.getTime()) / query.bucketMs));
}

/** Every bucket of `query`'s range, empty. */
export function emptyBuckets(query: SpendQuery): SpendBucket[] {
  return Array.from({ length: bucketCount(query) }, () => ({ costUsd: 0, calls: 0 }));
}

/** What ListDecisions asks for: every field narrows the list; `until` is exclusive. */
export type DecisionFilter = Whose & {
  route?: string;
  since?: Date;
  until?: Date;
  /** A "provider/model": the calls that tried it (any attempt) or that it answered (`decision.target`). */
  target?: string;
  limit: number;
};

/** Whether `recorded` passes `filter`'s tenant, user, route, target and time bounds. */
export function matchesFilter(recorded: RecordedDecision, filter: DecisionFilter): boolean {
  const { decision, recordedAt } = recorded;
  if (filter.tenant !== undefined && decision.tenant !== filter.tenant) return false;
  if (filter.user !== undefined && decision.user !== filter.user) return false;
  if (filter.route !== undefined && decision.route !== filter.route) return false;
  if (
    filter.target !== undefined &&
    decision.target !== filter.target &&
    !decision.attempts.some((attempt) => attempt.target === filter.target)
  )
    return false;
  if (filter.since !== undefined && recordedAt < filter.since) return false;
  return filter.until === undefined || recordedAt < filter.until;
}

export function createDecisionLog(capacity = 10_000, perTrace = 32): DecisionLog {
  // Maps iterate in insertion order: the first key is always the oldest call.
  const calls = new Map<string, RecordedDecision>();
  const traces = new Map<string, string[]>();

  const forget = (callId: string): void => {
    const recorded = calls.get(callId);
    if (!recorded) return;
    calls.delete(callId);
    const traceId = recorded.decision.traceId;
    const listed = traces.get(traceId)?.filter((id) => id !== callId);
    if (listed && listed.length > 0) traces.set(traceId, listed);
    else traces.delete(traceId);
  };

  return {
    add(decision, outcome, at = new Date(), routing) {
      // Ids are made by the server per call; a second record under one is a bug, never a replacement.
      if (calls.has(decision.callId)) return;
      calls.set(decision.callId, { decision, recordedAt: at, outcome, ...(routing && { routing }) });
      const listed = traces.get(decision.traceId) ?? [];
      listed.push(decision.callId);
      if (listed.length > perTrace) listed.shift();
      traces.set(decision.traceId, listed);
      if (calls.size > capacity) {
        const oldest = calls.keys().next();
        if (!oldest.done) forget(oldest.value);
      }
    },
    byCall: (callId) => calls.get(callId),
    byTrace(traceId) {
      const listed = traces.get(traceId) ?? [];
      return listed
        .map((id) => calls.get(id))
        .filter((entry): entry is RecordedDecision => entry !== undefined);
    },
    get size() {
      return calls.size;
    },
    list(filter) {
      const decisions: RecordedDecision[] = [];
      // Newest first: the map holds calls in the order they were recorded.
      for (const recorded of [...calls.values()].reverse()) {
        if (!matchesFilter(recorded, filter)) continue;
        if (decisions.length === filter.limit) return { decisions, truncated: true };
        decisions.push(recorded);
      }
      return { decisions, truncated: false };
    },
    spend(query) {
      const buckets = emptyBuckets(query);
      const since = query.since.getTime();
      for (const { decision, recordedAt } of calls.values()) {
        if (query.tenant !== undefined && decision.tenant !== query.tenant) continue;
        if (query.user !== undefined && decision.user !== query.user) continue;
        if (recordedAt < query.since || recordedAt >= query.until) continue;
        const bucket = buckets[Math.floor((recordedAt.getTime() - since) / query.bucketMs)];
        if (!bucket) continue;
        bucket.calls += 1;
        bucket.costUsd += decision.costUsd;
      }
      return buckets;
    },
  };
}

/**
 * `log`, with `observe` told of every decision added (the metrics count calls as they are
 * recorded): what is recorded and what is counted cannot drift apart.
 */
export function observedDecisionLog(
  log: DecisionLog,
  observe: (decision: Decision, outcome: string) => void,
): DecisionLog {
  return {
    add(decision, outcome, at, routing) {
      log.add(decision, outcome, at, routing);
      observe(decision, outcome);
    },
    byCall: (callId) => log.byCall(callId),
    byTrace: (traceId) => log.byTrace(traceId),
    list: (filter) => log.list(filter),
    spend: (query) => log.spend(query),
    get size() {
      return log.size;
    },
  };
}
