import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/types.js";
import type { DecisionLog } from "../../src/record/decision-log.js";
import type { RoutingRecord } from "../../src/record/routing-record.js";

let calls = 0;
/** A recorded decision under a fresh call id (ids are unique within a test process). */
export function decision(traceId: string, overrides: Partial<Decision> = {}): Decision {
  calls += 1;
  return {
    route: "r",
    rule: "any request",
    task: "chat",
    dataClass: "internal",
    declaredDataClass: "",
    tenant: "default",
    user: "",
    policyVersion: "v1",
    traceId,
    callId: calls.toString(16).padStart(16, "0"),
    target: "a/b",
    candidates: [],
    attempts: [],
    degradeRung: "",
    pool: "",
    degraded: false,
    costUsd: 0,
    maxTokens: 0,
    dryRun: false,
    taskInferred: false,
    dataClassReason: "the policy's default (none declared)",
    findings: [],
    outputFindings: [],
    withheldTools: [],
    escalations: [],
    refusal: "",
    estimatedInputTokens: 0,
    estimatedCostUsd: 0,
    quota: "",
    unpriced: false,
    ...overrides,
  };
}

/** A routing record as the record step writes one (what replay reads), with `overrides`. */
export function routingRecord(overrides: Partial<RoutingRecord> = {}): RoutingRecord {
  return {
    version: 1,
    taskDeclared: true,
    inferredTask: "",
    model: "",
    labels: [],
    imagesByUrl: false,
    inputTokens: 120,
    outputTokens: 30,
    baseline: { hostedEligible: [], estimatedCostPicoUsd: 180_000_000 },
    ...overrides,
  };
}

/** When writeFirstLayout's rows were recorded: recent, so no retention prunes them. */
export const FIRST_LAYOUT_AT = Date.now() - 60_000;

/**
 * A ledger file as the first release wrote it (no routing or user column, user_version 0, and
 * decisions without a user), holding `decisions`.
 */
export function writeFirstLayout(path: string, decisions: Decision[]): void {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    CREATE TABLE decisions (
      call_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, tenant TEXT NOT NULL, route TEXT NOT NULL,
      recorded_at INTEGER NOT NULL, outcome TEXT NOT NULL, decision TEXT NOT NULL
    );`);
  const insert = db.prepare("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const entry of decisions)
    insert.run(
      entry.callId,
      entry.traceId,
      entry.tenant,
      entry.route,
      FIRST_LAYOUT_AT,
      "ok",
      JSON.stringify({ ...entry, user: undefined }),
    );
  db.close();
}

/** What any DecisionLog does: the in-memory ring and the SQLite ledger run the same cases. */
export function describeDecisionLog(
  name: string,
  make: (limits: { capacity: number; perTrace?: number }) => DecisionLog,
): void {
  describe(name, () => {
    it("finds a recent decision by its call id, and the calls of a trace by trace id", () => {
      const log = make({ capacity: 10 });
      const at = new Date("2026-11-23T10:00:00Z");
      const recorded = decision("t1");
      log.add(recorded, "ok", at);
      expect(log.byCall(recorded.callId)).toEqual({ decision: recorded, recordedAt: at, outcome: "ok" });
      expect(log.byTrace("t1")).toEqual([{ decision: recorded, recordedAt: at, outcome: "ok" }]);
      expect(log.byTrace("t2")).toEqual([]);
      expect(log.byCall("ffffffffffffffff")).toBeUndefined();
    });

    it("lists every recent call of one trace, oldest first, up to its bound; older ones stay findable by id", () => {
      const log = make({ capacity: 10, perTrace: 2 });
      const [first, second, third] = ["first", "second", "third"].map((route) => decision("t1", { route }));
      for (const entry of [first, second, third]) if (entry) log.add(entry, "ok");
      expect(log.byTrace("t1").map((entry) => entry.decision.route)).toEqual(["second", "third"]);
      expect(log.byCall(first?.callId ?? "")?.decision.route).toBe("first");
      expect(log.size).toBe(3);
    });

    it("never lets a second record under a call id replace the first", () => {
      const log = make({ capacity: 10 });
      const original = decision("t1");
      log.add(original, "ok");
      log.add({ ...original, route: "planted" }, "ok");
      expect(log.byCall(original.callId)?.decision.route).toBe("r");
      expect(log.byTrace("t1")).toHaveLength(1);
      expect(log.size).toBe(1);
    });

    it("forgets the oldest call once full, and a trace with no call left", () => {
      const log = make({ capacity: 3 });
      const entries = ["t1", "t2", "t3", "t4"].map((id) => decision(id));
      for (const entry of entries) log.add(entry, "ok");
      expect(log.size).toBe(3);
      expect(log.byTrace("t1")).toEqual([]);
      expect(log.byCall(entries[0]?.callId ?? "")).toBeUndefined();
      expect(log.byTrace("t4")).toHaveLength(1);
    });

    it("keeps the whole decision and how the call ended", () => {
      const log = make({ capacity: 10 });
      const recorded = decision("t1", {
        candidates: [{ target: "a/b", role: "primary", eligible: true }],
        attempts: [
          { target: "a/b", outcome: "failed", latencyMs: 12.5, errorClass: "timeout", retryable: true },
        ],
        costUsd: 0.0123,
        findings: [{ kind: "email", group: "pii", count: 2, action: "redact", rule: "detect.email" }],
      });
      log.add(recorded, "AllTargetsFailedError");
      expect(log.byCall(recorded.callId)).toEqual({
        recordedAt: expect.any(Date),
        decision: recorded,
        outcome: "AllTargetsFailedError",
      });
    });

    it("keeps a call's routing record with its decision, and none for a call recorded without one", () => {
      const log = make({ capacity: 10 });
      const at = new Date("2026-11-23T10:00:00Z");
      const routed = decision("t1");
      const routing = routingRecord({ labels: [["k", "v"]] });
      log.add(routed, "ok", at, routing);
      const bare = decision("t1");
      log.add(bare, "ok", at);
      expect(log.byCall(routed.callId)).toEqual({ decision: routed, recordedAt: at, outcome: "ok", routing });
      expect(log.byCall(bare.callId)).not.toHaveProperty("routing");
      expect(log.list({ limit: 10 }).decisions.map((recorded) => recorded.routing)).toEqual([
        undefined,
        routing,
      ]);
    });

    it("lists decisions newest first by tenant, route and time, up to a limit, saying when more matched", () => {
      const log = make({ capacity: 100 });
      const at = (minute: number) => new Date(`2026-11-23T10:${String(minute).padStart(2, "0")}:00Z`);
      const entries = [
        decision("l1", { tenant: "acme", route: "chat" }),
        decision("l2", { tenant: "globex", route: "chat" }),
        decision("l3", { tenant: "acme", route: "code" }),
        decision("l4", { tenant: "acme", route: "chat" }),
      ];
      for (const [index, entry] of entries.entries()) log.add(entry, "ok", at(index));
      const ids = (listed: { decisions: Array<{ decision: Decision }> }) =>
        listed.decisions.map((recorded) => recorded.decision.traceId);
      expect(ids(log.list({ limit: 10 }))).toEqual(["l4", "l3", "l2", "l1"]);
      expect(ids(log.list({ tenant: "acme", limit: 10 }))).toEqual(["l4", "l3", "l1"]);
      expect(ids(log.list({ tenant: "acme", route: "chat", limit: 10 }))).toEqual(["l4", "l1"]);
      // since is inclusive, until exclusive: paging back passes the oldest recorded_at listed.
      expect(ids(log.list({ since: at(1), until: at(3), limit: 10 }))).toEqual(["l3", "l2"]);
      const page = log.list({ limit: 2 });
      expect({ ids: ids(page), truncated: page.truncated }).toEqual({ ids: ["l4", "l3"], truncated: true });
      const next = log.list({ until: page.decisions.at(-1)?.recordedAt, limit: 2 });
      expect({ ids: ids(next), truncated: next.truncated }).toEqual({ ids: ["l2", "l1"], truncated: false });
      expect(log.list({ tenant: "nobody", limit: 10 })).toEqual({ decisions: [], truncated: false });
    });

    it("lists one user's calls within a tenant", () => {
      const log = make({ capacity: 100 });
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute));
      const entries = [
        decision("u1", { tenant: "acme", user: "ana" }),
        decision("u2", { tenant: "acme", user: "bo" }),
        decision("u3", { tenant: "globex", user: "ana" }),
        decision("u4", { tenant: "acme" }),
        decision("u5", { tenant: "acme", user: "ana", route: "code" }),
      ];
      for (const [index, entry] of entries.entries()) log.add(entry, "ok", at(index));
      const ids = (listed: { decisions: Array<{ decision: Decision }> }) =>
        listed.decisions.map((recorded) => recorded.decision.traceId);
      expect(ids(log.list({ tenant: "acme", user: "ana", limit: 10 }))).toEqual(["u5", "u1"]);
      expect(ids(log.list({ tenant: "acme", user: "ana", route: "chat", limit: 10 }))).toEqual([]);
      expect(ids(log.list({ tenant: "globex", user: "ana", limit: 10 }))).toEqual(["u3"]);
      // Matched whole, and case counts: "Ana" is another user.
      expect(ids(log.list({ tenant: "acme", user: "Ana", limit: 10 }))).toEqual([]);
      expect(ids(log.list({ tenant: "acme", user: "%", limit: 10 }))).toEqual([]);
      expect(log.byCall(entries[0]?.callId ?? "")?.decision.user).toBe("ana");
      expect(log.byCall(entries[3]?.callId ?? "")?.decision.user).toBe("");
    });

    it("lists the calls that tried a target (failovers included) or that it answered", () => {
      const log = make({ capacity: 100 });
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute));
      const failed = { outcome: "failed", latencyMs: 5, errorClass: "timeout", retryable: true } as const;
      const entries = [
        decision("answered", {
          target: "openai/gpt-4o",
          attempts: [{ target: "openai/gpt-4o", outcome: "succeeded", latencyMs: 9 }],
        }),
        decision("failed-over", {
          target: "anthropic/claude",
          attempts: [
            { target: "openai/gpt-4o", ...failed },
            { target: "anthropic/claude", outcome: "succeeded", latencyMs: 9 },
          ],
        }),
        decision("other", {
          target: "anthropic/claude",
          attempts: [{ target: "anthropic/claude", outcome: "succeeded", latencyMs: 9 }],
        }),
        // A dry run (or a refusal) names its target without attempting it.
        decision("dry-run", { target: "openai/gpt-4o", attempts: [] }),
        decision("other-tenant", { tenant: "globex", attempts: [{ target: "openai/gpt-4o", ...failed }] }),
      ];
      for (const [index, entry] of entries.entries()) log.add(entry, "ok", at(index));
      const ids = (listed: { decisions: Array<{ decision: Decision }> }) =>
        listed.decisions.map((recorded) => recorded.decision.traceId);
      expect(ids(log.list({ target: "openai/gpt-4o", limit: 10 }))).toEqual([
        "other-tenant",
        "dry-run",
        "failed-over",
        "answered",
      ]);
      expect(ids(log.list({ target: "openai/gpt-4o", tenant: "default", since: at(1), limit: 10 }))).toEqual([
        "dry-run",
        "failed-over",
      ]);
      expect(ids(log.list({ target: "anthropic/claude", limit: 10 }))).toEqual(["other", "failed-over"]);
      const page = log.list({ target: "openai/gpt-4o", limit: 1 });
      expect({ ids: ids(page), truncated: page.truncated }).toEqual({
        ids: ["other-tenant"],
        truncated: true,
      });
      // A target is matched whole: no prefix, no pattern.
      expect(log.list({ target: "openai/gpt-4", limit: 10 })).toEqual({ decisions: [], truncated: false });
      expect(log.list({ target: "%", limit: 10 })).toEqual({ decisions: [], truncated: false });
    });

    it("adds up the calls and cost of a tenant (or every tenant) per bucket of time, empty buckets included", () => {
      const log = make({ capacity: 100 });
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute));
      const calls: Array<[string, number, number]> = [
        ["acme", 0.25, 0],
        ["acme", 0.5, 29],
        ["globex", 4, 30],
        ["acme", 0.125, 45],
        ["acme", 1, 60],
        ["acme", 8, -1],
      ];
      for (const [tenant, costUsd, minute] of calls)
        log.add(decision("s", { tenant, costUsd }), "ok", at(minute));
      const query = { since: at(0), until: at(60), bucketMs: 30 * 60_000 };
      // since is inclusive and until exclusive: the calls at minutes -1 and 60 are outside.
      expect(log.spend({ ...query, tenant: "acme" })).toEqual([
        { calls: 2, costUsd: 0.75 },
        { calls: 1, costUsd: 0.125 },
      ]);
      expect(log.spend(query)).toEqual([
        { calls: 2, costUsd: 0.75 },
        { calls: 2, costUsd: 4.125 },
      ]);
      // A range that does not divide into buckets ends with a partial one (still ending at until).
      expect(log.spend({ ...query, tenant: "acme", bucketMs: 40 * 60_000 })).toEqual([
        { calls: 2, costUsd: 0.75 },
        { calls: 1, costUsd: 0.125 },
      ]);
      expect(log.spend({ ...query, tenant: "nobody" })).toEqual([
        { calls: 0, costUsd: 0 },
        { calls: 0, costUsd: 0 },
      ]);
    });

    it("adds up one user's calls and cost per bucket, apart from the tenant's other users", () => {
      const log = make({ capacity: 100 });
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 10, minute));
      const calls: Array<[string, string, number, number]> = [
        ["acme", "ana", 0.25, 0],
        ["acme", "bo", 0.5, 10],
        ["acme", "ana", 2, 35],
        ["acme", "", 4, 40],
        ["globex", "ana", 16, 45],
      ];
      for (const [tenant, user, costUsd, minute] of calls)
        log.add(decision("s", { tenant, user, costUsd }), "ok", at(minute));
      const query = { since: at(0), until: at(60), bucketMs: 30 * 60_000 };
      expect(log.spend({ ...query, tenant: "acme", user: "ana" })).toEqual([
        { calls: 1, costUsd: 0.25 },
        { calls: 1, costUsd: 2 },
      ]);
      expect(log.spend({ ...query, tenant: "acme", user: "bo" })).toEqual([
        { calls: 1, costUsd: 0.5 },
        { calls: 0, costUsd: 0 },
      ]);
      expect(log.spend({ ...query, tenant: "acme" })).toEqual([
        { calls: 2, costUsd: 0.75 },
        { calls: 2, costUsd: 6 },
      ]);
    });
  });
}
