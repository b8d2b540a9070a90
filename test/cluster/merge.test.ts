import { deserialize, serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { mergeSpend, mergeViews, viewFromEpoch, viewToEpoch } from "../../src/cluster/merge.js";
import type { TargetId } from "../../src/core/types.js";
import { DEFAULT_BREAKER } from "../../src/health/breaker.js";
import {
  createTargetHealth,
  latencyPercentiles,
  type TargetHealth,
  type TargetView,
} from "../../src/health/target-health.js";
import { createFakeClock } from "../helpers/fake-clock.js";

const TARGET: TargetId = "acme/large";

/** A worker's health after `calls` successful attempts to TARGET, each this fast. */
function workerAfter(calls: number, firstTokenMs: number, latencyMs: number): TargetHealth {
  const health = createTargetHealth(createFakeClock());
  for (let call = 0; call < calls; call++) {
    const admission = health.admit(TARGET, DEFAULT_BREAKER);
    if (!admission.allowed) throw new Error(admission.reason);
    health.ended(admission.permit, { kind: "succeeded", latencyMs, firstTokenMs });
  }
  return health;
}

/** What the primary receives of a worker's views: made epoch-based, sent as IPC's "advanced" serialization sends them. */
function overIpc(health: TargetHealth): Array<[TargetId, TargetView]> {
  const sent = [...health.views()].map(([target, view]) => [target, viewToEpoch(view)]);
  return deserialize(serialize(sent)) as Array<[TargetId, TargetView]>;
}

/** TARGET's view as the primary serves it: the workers' merged, then put on its own clock. */
function mergedView(perWorker: Array<Array<[TargetId, TargetView]>>): TargetView | undefined {
  const merged = mergeViews(perWorker).get(TARGET);
  return merged && viewFromEpoch(merged);
}

describe("mergeViews", () => {
  it("takes latency percentiles over every worker's samples together, so a slow worker weighs by its calls", () => {
    const fast = workerAfter(98, 10, 200);
    const slow = workerAfter(2, 2_000, 9_000);
    const merged = mergedView([overIpc(fast), overIpc(slow)]);
    expect(merged?.samples).toBe(100);
    expect(merged?.recentFirstTokensMs).toHaveLength(100);
    // 2 slow calls in 100 reach p99, not p95 (the slow worker's own p95 would be 2 s).
    expect(latencyPercentiles(merged?.recentFirstTokensMs ?? [])).toEqual({
      p50Ms: 10,
      p95Ms: 10,
      p99Ms: 2_000,
      samples: 100,
    });
    expect(latencyPercentiles(merged?.recentAttemptsMs ?? [])).toEqual({
      p50Ms: 200,
      p95Ms: 200,
      p99Ms: 9_000,
      samples: 100,
    });
    // One p95 only: ListTargets takes it from the samples, as the percentiles above.
    expect(merged).not.toHaveProperty("p95FirstTokenMs");
  });

  it("keeps up to 100 samples from each worker, and a worker without any adds none", () => {
    const idle = createTargetHealth(createFakeClock());
    idle.takeOutOfService(TARGET, "drill");
    const merged = mergedView([
      overIpc(workerAfter(150, 10, 20)),
      overIpc(workerAfter(30, 50, 60)),
      overIpc(idle),
    ]);
    expect(merged).toMatchObject({ samples: 130, outOfService: "drill" });
    expect(merged?.recentFirstTokensMs).toHaveLength(130);
    expect(latencyPercentiles(merged?.recentAttemptsMs ?? [])).toMatchObject({ p50Ms: 20, p99Ms: 60 });
  });

  it("leaves a target seen by one worker as that worker saw it", () => {
    const worker = workerAfter(3, 10, 20);
    // Two copies of what the worker sent: one merged, one to compare the result with.
    const [sent, asSent] = [overIpc(worker), overIpc(worker)];
    expect(mergeViews([sent, []]).get(TARGET)).toEqual(asSent[0]?.[1]);
    expect(asSent[0]?.[1].recentFirstTokensMs).toEqual([10, 10, 10]);
  });
});

describe("mergeSpend", () => {
  it("adds every worker's buckets up, bucket by bucket, over the query's whole range", () => {
    const query = { since: new Date(0), until: new Date(3 * 60_000), bucketMs: 60_000 };
    expect(
      mergeSpend(
        [
          [
            { calls: 1, costUsd: 0.5 },
            { calls: 0, costUsd: 0 },
            { calls: 2, costUsd: 0.25 },
          ],
          [
            { calls: 3, costUsd: 1 },
            { calls: 1, costUsd: 0.125 },
            { calls: 0, costUsd: 0 },
          ],
        ],
        query,
      ),
    ).toEqual([
      { calls: 4, costUsd: 1.5 },
      { calls: 1, costUsd: 0.125 },
      { calls: 2, costUsd: 0.25 },
    ]);
    // No worker answered: every bucket, empty.
    expect(mergeSpend([], query)).toEqual([
      { calls: 0, costUsd: 0 },
      { calls: 0, costUsd: 0 },
      { calls: 0, costUsd: 0 },
    ]);
  });
});
