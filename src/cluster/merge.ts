import type { TargetId } from "../core/types.js";
import type { TargetView } from "../health/target-health.js";
import {
  type DecisionFilter,
  emptyBuckets,
  type RecordedDecision,
  type SpendBucket,
  type SpendQuery,
} from "../record/decision-log.js";

/**
 * How the primary of `serve --workers N` puts together what each worker knows, for AdminService:
 * pure functions over the workers' answers.
 */

/** Moves a view's clock readings (performance.now() of the process that made it) by `shift` ms. */
export function shiftView(view: TargetView, shift: number): TargetView {
  return {
    ...view,
    breaker: { ...view.breaker, since: view.breaker.since + shift },
    ...(view.cooledUntil !== undefined && { cooledUntil: view.cooledUntil + shift }),
  };
}

/**
 * A view as a worker sends it: clock readings as epoch milliseconds, since each process's
 * performance.now() counts from its own start.
 */
export function viewToEpoch(view: TargetView): TargetView {
  return shiftView(view, performance.timeOrigin);
}

/** An epoch-based view (viewToEpoch's) on this process's performance.now(). */
export function viewFromEpoch(view: TargetView): TargetView {
  return shiftView(view, -performance.timeOrigin);
}

const SEVERITY = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * One view per target from every worker's: each worker keeps its own breakers (as each replica
 * does, like Envoy's outlier detection), so the target shows the most open breaker any worker has
 * (a call landing there meets it), the longest cooling, and an operator's drill; calls in flight
 * and sample counts are summed. The recent latency samples are concatenated (up to 100 per worker,
 * one worker's after another's), so percentiles taken over them weigh a slow worker's calls by
 * their number; the latency EWMA, which cannot be combined, is the highest. A merged view carries
 * no p95FirstTokenMs of its own: read the samples.
 */
export function mergeViews(
  perWorker: ReadonlyArray<ReadonlyArray<[TargetId, TargetView]>>,
): Map<TargetId, TargetView> {
  const merged = new Map<TargetId, TargetView>();
  for (const views of perWorker)
    for (const [target, view] of views) {
      const seen = merged.get(target);
      if (!seen) {
        merged.set(target, view);
        continue;
      }
      const worse = SEVERITY[view.breaker.state] > SEVERITY[seen.breaker.state] ? view : seen;
      const cooled = (view.cooledUntil ?? 0) > (seen.cooledUntil ?? 0) ? view : seen;
      const latencyMs = maxOf(seen.latencyMs, view.latencyMs);
      const outOfService = seen.outOfService ?? view.outOfService;
      merged.set(target, {
        breaker: worse.breaker,
        inFlight: seen.inFlight + view.inFlight,
        samples: seen.samples + view.samples,
        ...(latencyMs !== undefined && { latencyMs }),
        ...(cooled.cooledUntil !== undefined && {
          cooledUntil: cooled.cooledUntil,
          ...(cooled.coolingReason !== undefined && { coolingReason: cooled.coolingReason }),
        }),
        ...(outOfService !== undefined && { outOfService }),
        recentFirstTokensMs: [...seen.recentFirstTokensMs, ...view.recentFirstTokensMs],
        recentAttemptsMs: [...seen.recentAttemptsMs, ...view.recentAttemptsMs],
      });
    }
  return merged;
}

function maxOf(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}

/** Newest first by the time recorded. */
function newestFirst(a: RecordedDecision, b: RecordedDecision): number {
  return b.recordedAt.getTime() - a.recordedAt.getTime();
}

/** The calls of one trace across workers, oldest first, the most recent `perTrace` of them. */
export function mergeTrace(
  perWorker: ReadonlyArray<readonly RecordedDecision[]>,
  perTrace: number,
): RecordedDecision[] {
  return perWorker.flat().sort(newestFirst).slice(0, perTrace).reverse();
}

/** Each worker's answer to one ListDecisions (each at most `filter.limit`) as one answer. */
export function mergeLists(
  perWorker: ReadonlyArray<{ decisions: RecordedDecision[]; truncated: boolean }>,
  filter: DecisionFilter,
): { decisions: RecordedDecision[]; truncated: boolean } {
  const all = perWorker.flatMap((answer) => answer.decisions).sort(newestFirst);
  return {
    decisions: all.slice(0, filter.limit),
    truncated: all.length > filter.limit || perWorker.some((answer) => answer.truncated),
  };
}

/** Every worker's spend buckets for one query, added up bucket by bucket (each worker records its own calls). */
export function mergeSpend(perWorker: ReadonlyArray<SpendBucket[]>, query: SpendQuery): SpendBucket[] {
  const merged = emptyBuckets(query);
  for (const buckets of perWorker)
    for (const [index, bucket] of buckets.entries()) {
      const into = merged[index];
      if (!into) continue;
      into.calls += bucket.calls;
      into.costUsd += bucket.costUsd;
    }
  return merged;
}
