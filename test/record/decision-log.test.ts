import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/types.js";
import { createDecisionLog } from "../../src/record/decision-log.js";

function decision(traceId: string): Decision {
  return {
    route: "r",
    rule: "any request",
    task: "chat",
    dataClass: "internal",
    declaredDataClass: "",
    tenant: "default",
    policyVersion: "v1",
    traceId,
    target: "a/b",
    candidates: [],
    attempts: [],
    degraded: false,
    costUsd: 0,
    maxTokens: 0,
    dryRun: false,
  };
}

describe("createDecisionLog", () => {
  it("finds a recent decision by trace id", () => {
    const log = createDecisionLog(10);
    const at = new Date("2026-11-23T10:00:00Z");
    log.add(decision("t1"), at);
    expect(log.get("t1")).toEqual([{ decision: decision("t1"), recordedAt: at }]);
    expect(log.get("t2")).toEqual([]);
  });

  it("keeps every recent decision of one trace, oldest first, up to its bound", () => {
    const log = createDecisionLog(10, 2);
    for (const route of ["first", "second", "third"]) log.add({ ...decision("t1"), route });
    expect(log.get("t1").map((entry) => entry.decision.route)).toEqual(["second", "third"]);
    expect(log.size).toBe(1);
  });

  it("forgets the oldest trace once full", () => {
    const log = createDecisionLog(3);
    for (const id of ["t1", "t2", "t3", "t4"]) log.add(decision(id));
    expect(log.size).toBe(3);
    expect(log.get("t1")).toEqual([]);
    expect(log.get("t4")).toHaveLength(1);
  });

  it("keeps a copy, so later changes to the decision do not rewrite history", () => {
    const log = createDecisionLog(3);
    const original = decision("t1");
    log.add(original);
    original.target = "changed/later";
    expect(log.get("t1")[0]?.decision.target).toBe("a/b");
  });
});
