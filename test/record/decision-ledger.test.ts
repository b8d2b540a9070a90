import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  type DecisionLedger,
  LIST_SQL,
  openDecisionLedger,
  openDecisionLedgerReader,
  SPEND_SQL,
} from "../../src/record/decision-ledger.js";
import {
  decision,
  describeDecisionLog,
  FIRST_LAYOUT_AT,
  routingRecord,
  writeFirstLayout,
} from "../helpers/decision-log-spec.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-ledger-"));
let files = 0;
const opened: DecisionLedger[] = [];

/** A ledger in a fresh file of its own (or `path`), closed after the test. */
function open(options: Partial<Parameters<typeof openDecisionLedger>[0]> = {}): DecisionLedger {
  files += 1;
  const ledger = openDecisionLedger({
    path: join(dir, `ledger-${files}.db`),
    pruneIntervalMs: 0,
    ...options,
  });
  opened.push(ledger);
  return ledger;
}

afterEach(() => {
  for (const ledger of opened.splice(0)) ledger.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// The ring's own cases, with the row bound pruned on every insert so "capacity" means the same,
// and a clock of the cases' own days: the age bound must not prune their dated decisions once the
// real clock is a week past them.
const SPEC_NOW = Date.parse("2026-11-24T00:00:00Z");
describeDecisionLog("openDecisionLedger (as a DecisionLog)", ({ capacity, perTrace }) =>
  open({
    maxRows: capacity,
    pruneEvery: 1,
    now: () => SPEC_NOW,
    ...(perTrace !== undefined && { perTrace }),
  }),
);

describe("openDecisionLedger", () => {
  it("reads back, after a reopen, every decision written before", () => {
    const path = join(dir, "reopened.db");
    const first = open({ path });
    const at = new Date("2026-11-30T09:00:00Z");
    const entries = [decision("t1"), decision("t1"), decision("t2")];
    for (const entry of entries) first.add(entry, "ok", at);
    first.close();

    const again = open({ path, now: () => at.getTime() });
    expect(again.size).toBe(3);
    for (const entry of entries)
      expect(again.byCall(entry.callId)).toEqual({ decision: entry, recordedAt: at, outcome: "ok" });
    expect(again.byTrace("t1").map((recorded) => recorded.decision.callId)).toEqual(
      entries.slice(0, 2).map((entry) => entry.callId),
    );
  });

  it("keeps a decision committed by a writer that never closed the file", () => {
    const path = join(dir, "unclosed.db");
    // No close(): what a killed process leaves behind is the WAL, not a checkpointed file.
    const writer = openDecisionLedger({ path, pruneIntervalMs: 0 });
    const entry = decision("t1");
    writer.add(entry, "ok");
    const reader = open({ path });
    expect(reader.byCall(entry.callId)?.decision).toEqual(entry);
    writer.close();
  });

  it("prunes decisions older than the age bound, and keeps the newer ones", () => {
    let now = Date.parse("2026-11-30T12:00:00Z");
    const hour = 60 * 60 * 1000;
    const ledger = open({ maxAgeMs: 24 * hour, pruneEvery: 1_000, now: () => now });
    const old = decision("t1");
    const recent = decision("t1");
    ledger.add(old, "ok", new Date(now - 25 * hour));
    ledger.add(recent, "ok", new Date(now - 23 * hour));
    expect(ledger.prune()).toBe(1);
    expect(ledger.byCall(old.callId)).toBeUndefined();
    expect(ledger.byTrace("t1").map((entry) => entry.decision.callId)).toEqual([recent.callId]);
    now += 2 * hour;
    expect(ledger.prune()).toBe(1);
    expect(ledger.size).toBe(0);
  });

  it("prunes by row count only every so many inserts, the oldest first", () => {
    const ledger = open({ maxRows: 5, pruneEvery: 4 });
    const entries = Array.from({ length: 8 }, (_, index) => decision(`t${index}`));
    for (const entry of entries.slice(0, 7)) ledger.add(entry, "ok");
    // The 4th insert pruned nothing (4 ≤ 5); the 7th is not a pruning insert yet.
    expect(ledger.size).toBe(7);
    ledger.add(entries[7] ?? decision("t"), "ok");
    expect(ledger.size).toBe(5);
    expect(entries.slice(0, 3).map((entry) => ledger.byCall(entry.callId))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(entries.slice(3).every((entry) => ledger.byCall(entry.callId) !== undefined)).toBe(true);
  });

  it("deletes at most one batch per pass, catching up over later passes", () => {
    const path = join(dir, "backlog.db");
    const writer = open({ path, maxRows: 1_000, pruneEvery: 1_000 });
    for (let index = 0; index < 25; index += 1) writer.add(decision("t"), "ok");
    writer.close();
    const ledger = open({ path, maxRows: 5, pruneBatch: 8, pruneEvery: 1_000 });
    // Opening ran one pass.
    expect(ledger.size).toBe(17);
    expect(ledger.prune()).toBe(8);
    expect(ledger.prune()).toBe(4);
    expect(ledger.prune()).toBe(0);
    expect(ledger.size).toBe(5);
  });

  it("refuses a file that is not a ledger", () => {
    const path = join(dir, "not-a-database.db");
    writeFileSync(path, "this is not sqlite, and long enough to have a header of its own ".repeat(4));
    expect(() => openDecisionLedger({ path })).toThrow();
  });

  it("opens a ledger of the first layout (no routing column), keeps its rows, and adds routing records from then on", () => {
    const path = join(dir, "first-layout.db");
    const old = decision("t1");
    writeFirstLayout(path, [old]);
    const ledger = open({ path });
    expect(ledger.byCall(old.callId)).toEqual({
      decision: old,
      recordedAt: new Date(FIRST_LAYOUT_AT),
      outcome: "ok",
    });
    const routed = decision("t1");
    const routing = routingRecord();
    ledger.add(routed, "ok", new Date(), routing);
    expect(ledger.byCall(routed.callId)?.routing).toEqual(routing);
    ledger.close();
    expect(
      open({ path })
        .byTrace("t1")
        .map((recorded) => recorded.routing),
    ).toEqual([undefined, routing]);
  });

  it("opens a ledger of the second layout (routing, no user), keeps its rows, and lists calls by user from then on", () => {
    const path = join(dir, "second-layout.db");
    const old = decision("t2", { tenant: "acme" });
    writeFirstLayout(path, [old]);
    const db = new DatabaseSync(path);
    db.exec("ALTER TABLE decisions ADD COLUMN routing TEXT; PRAGMA user_version = 2;");
    db.close();
    const ledger = open({ path });
    const named = decision("t2", { tenant: "acme", user: "ana", costUsd: 0.5 });
    ledger.add(named, "ok", new Date(FIRST_LAYOUT_AT + 1));
    // The old row names no user: it is every user's, no one user's.
    expect(ledger.byCall(old.callId)?.decision.user).toBe("");
    const listed = ledger.list({ tenant: "acme", user: "ana", limit: 10 }).decisions;
    expect(listed.map((recorded) => recorded.decision.callId)).toEqual([named.callId]);
    const query = {
      tenant: "acme",
      since: new Date(FIRST_LAYOUT_AT),
      until: new Date(FIRST_LAYOUT_AT + 60_000),
      bucketMs: 60_000,
    };
    expect(ledger.spend({ ...query, user: "ana" })).toEqual([{ calls: 1, costUsd: 0.5 }]);
    expect(ledger.spend(query)).toEqual([{ calls: 2, costUsd: 0.5 }]);
    ledger.close();
    const migrated = new DatabaseSync(path, { readOnly: true });
    expect(migrated.prepare("PRAGMA user_version").get()).toEqual({ user_version: 3 });
    // One user's spend and calls are read on their own index, not by scanning the tenant's calls.
    const explain = (sql: string) => migrated.prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const plan = (steps: unknown[]) =>
      (steps as Array<{ detail: string }>).map((step) => step.detail).join("; ");
    const spendBounds = { since: 0, until: 1, bucket: 1 };
    expect(plan(explain(SPEND_SQL.user).all({ tenant: "acme", user: "ana", ...spendBounds }))).toContain(
      "decisions_by_user",
    );
    expect(plan(explain(LIST_SQL.user).all("acme", null, null, null, 10, null, "ana"))).toContain(
      "decisions_by_user",
    );
    // Why the listing has a statement of its own for a user: the general one cannot use the index.
    expect(plan(explain(LIST_SQL.any).all("acme", null, null, null, 10, null, "ana"))).not.toContain(
      "decisions_by_user",
    );
    migrated.close();
  });

  it("refuses a ledger of a layout newer than it reads, rather than write rows it does not understand", () => {
    const path = join(dir, "newer.db");
    open({ path }).close();
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 99");
    db.close();
    expect(() => openDecisionLedger({ path, pruneIntervalMs: 0 })).toThrow(/layout 99, written by a newer/);
    expect(() => openDecisionLedgerReader(path)).toThrow(/layout 99, written by a newer/);
  });
});

describe("openDecisionLedgerReader", () => {
  it("reads what a live writer committed, newest first, by tenant, route, time and limit", () => {
    const path = join(dir, "read-beside.db");
    const writer = open({ path });
    const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 9, 0, second));
    const entries = [
      decision("r1", { tenant: "acme", route: "chat" }),
      decision("r2", { tenant: "globex", route: "chat" }),
      decision("r3", { tenant: "acme", route: "code" }),
    ];
    for (const [index, entry] of entries.entries()) writer.add(entry, "ok", at(index), routingRecord());
    const reader = openDecisionLedgerReader(path);
    const traces = (filter: Parameters<typeof reader.entries>[0]) =>
      [...reader.entries(filter)].map((recorded) => recorded.decision.traceId);
    expect(traces({})).toEqual(["r3", "r2", "r1"]);
    expect(traces({ tenant: "acme" })).toEqual(["r3", "r1"]);
    expect(traces({ route: "chat", since: at(1) })).toEqual(["r2"]);
    expect(traces({ limit: 1 })).toEqual(["r3"]);
    // The writer goes on while the reader is open; the reader sees each commit.
    writer.add(decision("r4"), "ok", at(3));
    expect(traces({ limit: 1 })).toEqual(["r4"]);
    expect([...reader.entries({ limit: 2 })].map((recorded) => recorded.routing)).toEqual([
      undefined,
      routingRecord(),
    ]);
    reader.close();
  });

  it("reads a first-layout ledger without changing it: its rows come without routing records", () => {
    const path = join(dir, "first-layout-read.db");
    const old = decision("t1");
    writeFirstLayout(path, [old]);
    const reader = openDecisionLedgerReader(path);
    expect([...reader.entries({})]).toEqual([
      { decision: old, recordedAt: new Date(FIRST_LAYOUT_AT), outcome: "ok" },
    ]);
    expect([...reader.entries({ tenant: old.tenant, user: "ana" })]).toEqual([]);
    reader.close();
    const db = new DatabaseSync(path, { readOnly: true });
    expect(db.prepare("PRAGMA user_version").get()).toEqual({ user_version: 0 });
    db.close();
  });

  it("refuses a missing file rather than create one", () => {
    expect(() => openDecisionLedgerReader(join(dir, "never-written.db"))).toThrow();
  });
});
