import { describe, expect, it } from "vitest";
import { mergeSpend } from "../../src/cluster/merge.js";

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
