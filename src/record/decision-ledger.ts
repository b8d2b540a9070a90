import { DatabaseSync } from "node:sqlite";
import type { Decision } from "../core/types.js";
import {
  type DecisionFilter,
  type DecisionLog,
  emptyBuckets,
  type RecordedDecision,
} from "./decision-log.js";
import { ROUTING_RECORD_VERSION, type RoutingRecord } from "./routing-record.js";

export interface DecisionLedgerOptions {
  /** The SQLite file (created when missing, with its `-wal` and `-shm` companions beside it). */
  path: string;
  /** Decisions older than this are pruned, in milliseconds (default 7 days). */
  maxAgeMs?: number;
  /** At most this many decisions are kept, the oldest pruned first (default 1,000,000). */
  maxRows?: number;
  /** Calls listed per trace by `byTrace`, the most recent ones (default 32, as the ring). */
  perTrace?: number;
  /** Prune once every this many inserts (default 256), and on every `pruneIntervalMs` tick. */
  pruneEvery?: number;
  /** Rows deleted per pruning pass at most (default 1,000): a pass never stalls a call for long. */
  pruneBatch?: number;
  /** How often an idle ledger still prunes by age, in milliseconds (default 60,000; 0: never). */
  pruneIntervalMs?: number;
  /** The clock retention is measured against. */
  now?: () => number;
  /**
   * Other processes write the file too (`serve --workers N`: every worker writes, the primary
   * prunes): each pruning pass counts the rows first rather than trusting its own inserts.
   */
  sharedWriters?: boolean;
}

export const DEFAULT_LEDGER_RETENTION = { maxAgeMs: 7 * 24 * 60 * 60 * 1000, maxRows: 1_000_000 } as const;

/** A DecisionLog that outlives the process; `close` once the server has drained. */
export interface DecisionLedger extends DecisionLog {
  /** One pruning pass (age, then row count), at most `pruneBatch` rows; returns the rows deleted. */
  prune(): number;
  /** Stops the pruning timer and closes the file (checkpointing the WAL). Idempotent. */
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  call_id TEXT PRIMARY KEY,
  trace_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  route TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  decision TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_trace ON decisions (trace_id, recorded_at);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (recorded_at);
CREATE INDEX IF NOT EXISTS decisions_by_tenant ON decisions (tenant, recorded_at);
CREATE INDEX IF NOT EXISTS decisions_by_route ON decisions (route, recorded_at);
`;

/**
 * The file's layout, in SQLite's `user_version`: 0 as first written (no `routing` column), 2 with
 * each call's routing record (what replay reads), 3 with the user each call named (a column, and
 * an index that one user's calls and spend are read by). Migrations only add nullable columns: a
 * file written by an older server opens and its rows read back without a routing record or a user.
 */
const LEDGER_VERSION = 3;

/** The file's layout; throws for one written by a newer server than this. */
function layoutOf(db: DatabaseSync): number {
  const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  if (version > LEDGER_VERSION)
    throw new Error(
      `the decision ledger is of layout ${version}, written by a newer switchyard (this one reads up to ${LEDGER_VERSION})`,
    );
  return version;
}

/**
 * Brings a ledger of an older layout up to LEDGER_VERSION, in one transaction. Building the user
 * index reads every row while holding the write lock: on a large ledger, a server writing the same
 * file meanwhile may wait past its busy timeout and fail those calls, so migrate before sharing.
 */
function migrate(db: DatabaseSync): void {
  if (layoutOf(db) === LEDGER_VERSION) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Looked at again under the lock, and every step checks what is there: another server sharing
    // the file may have migrated it (to this layout or a newer one) since the first look.
    if (layoutOf(db) === LEDGER_VERSION) {
      db.exec("COMMIT");
      return;
    }
    if (!hasColumn(db, "routing")) db.exec("ALTER TABLE decisions ADD COLUMN routing TEXT");
    if (!hasColumn(db, "user")) db.exec("ALTER TABLE decisions ADD COLUMN user TEXT");
    db.exec("CREATE INDEX IF NOT EXISTS decisions_by_user ON decisions (tenant, user, recorded_at)");
    db.exec(`PRAGMA user_version = ${LEDGER_VERSION}`);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function hasColumn(db: DatabaseSync, name: string): boolean {
  const columns = db.prepare("PRAGMA table_info(decisions)").all() as unknown as { name: string }[];
  return columns.some((column) => column.name === name);
}

/**
 * The filter of a listing, its values bound as ?1 tenant, ?2 route, ?3 since, ?4 until (?5 is the
 * limit), ?6 target and ?7 user; a NULL leaves that one open. The target is read from the stored
 * decision JSON (its answering target, then each attempt's) rather than from a column: a row
 * written by any earlier layout matches without a migration or a backfill, and the scan is bounded
 * by the time index and the limit like every other filter of the list. `userColumn` is `user`, or
 * `NULL` for a file read before its migration (no row of it names a user).
 */
const listWhere = (userColumn: "user" | "NULL") => `(?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR route = ?2)
  AND (?3 IS NULL OR recorded_at >= ?3) AND (?4 IS NULL OR recorded_at < ?4)
  AND (?7 IS NULL OR ${userColumn} = ?7)
  AND (?6 IS NULL OR json_extract(decision, '$.target') = ?6 OR EXISTS (
    SELECT 1 FROM json_each(decision, '$.attempts') AS attempt
    WHERE json_extract(attempt.value, '$.target') = ?6))`;

/**
 * The listing's statements: one for any filter, and one for a user's calls that names the tenant
 * and user outright, so it is read on decisions_by_user (`?7 IS NULL OR user = ?7` alone cannot be).
 */
export const LIST_SQL = {
  any: `SELECT recorded_at, outcome, decision, routing FROM decisions
     WHERE ${listWhere("user")}
     ORDER BY recorded_at DESC, rowid DESC LIMIT ?5`,
  user: `SELECT recorded_at, outcome, decision, routing FROM decisions
     WHERE tenant = ?1 AND user = ?7 AND ${listWhere("user")}
     ORDER BY recorded_at DESC, rowid DESC LIMIT ?5`,
} as const;

/**
 * GetSpend's statements, one per scope rather than `(? IS NULL OR tenant = ?)`, so each is planned
 * on its index (decisions_by_user, decisions_by_tenant, decisions_by_time). node:sqlite binds
 * numbers as REAL: the bucket is cast back to an integer (recorded_at >= since, so the cast floors).
 */
const spendSql = (where: string) => `
    SELECT CAST((recorded_at - :since) / :bucket AS INTEGER) AS bucket, count(*) AS calls,
           total(json_extract(decision, '$.costUsd')) AS cost
    FROM decisions WHERE ${where} recorded_at >= :since AND recorded_at < :until
    GROUP BY bucket`;
export const SPEND_SQL = {
  all: spendSql(""),
  tenant: spendSql("tenant = :tenant AND"),
  user: spendSql("tenant = :tenant AND user = :user AND"),
} as const;

interface Row {
  recorded_at: number;
  outcome: string;
  decision: string;
  routing: string | null;
}

/** A row as a RecordedDecision; a routing record of a format this build does not know is left out. */
function readRow(row: Row | undefined): RecordedDecision | undefined {
  if (!row) return undefined;
  const routing = row.routing === null ? undefined : (JSON.parse(row.routing) as RoutingRecord);
  return {
    // Rows written before decisions held the user name none.
    decision: { user: "", ...(JSON.parse(row.decision) as Omit<Decision, "user"> & { user?: string }) },
    recordedAt: new Date(row.recorded_at),
    outcome: row.outcome,
    ...(routing?.version === ROUTING_RECORD_VERSION && { routing }),
  };
}

/**
 * The decision log kept in a SQLite file through Node's built-in `node:sqlite`: one row per call
 * (the decision and its routing record as JSON, plus the columns it is looked up by), so a
 * restart reads back every decision the retention still holds.
 *
 * Durability: the record step runs before Route returns its response and before Stream sends its
 * `done` event (src/pipeline/pipeline.ts), and `add` commits synchronously. So a call is
 * *acknowledged* — its response or `done` reached the caller — only after its decision was
 * committed, and a `kill -9` loses at most the calls in flight. The journal is WAL with
 * `synchronous=NORMAL`: a commit is in the WAL file (the OS holds it) when `add` returns, which a
 * killed process cannot take back; only a power loss or kernel crash can lose the last commits
 * before a checkpoint (the file stays consistent). FULL would add an fsync per call, and
 * `DatabaseSync` blocks the event loop while it waits: every call in the process would pay it.
 *
 * A write that fails (disk full, say) throws out of `add`: the record step then fails the call
 * rather than acknowledge a call the ledger does not hold.
 *
 * Retention: by age and by row count, pruned in batches of at most `pruneBatch` rows once every
 * `pruneEvery` inserts and on a timer (for an idle server), never on every insert.
 *
 * @throws when the file cannot be opened or is not a SQLite database.
 */
export function openDecisionLedger(options: DecisionLedgerOptions): DecisionLedger {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_LEDGER_RETENTION.maxAgeMs;
  const maxRows = options.maxRows ?? DEFAULT_LEDGER_RETENTION.maxRows;
  const perTrace = options.perTrace ?? 32;
  const pruneEvery = options.pruneEvery ?? 256;
  const pruneBatch = options.pruneBatch ?? 1_000;
  const now = options.now ?? Date.now;

  const db = new DatabaseSync(options.path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
    db.exec(SCHEMA);
    migrate(db);
  } catch (error) {
    db.close();
    throw error;
  }

  // Ids are made by the server per call; a second record under one is a bug, never a replacement.
  const insert = db.prepare(
    "INSERT OR IGNORE INTO decisions (call_id, trace_id, tenant, user, route, recorded_at, outcome, decision, routing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const selectCall = db.prepare(
    "SELECT recorded_at, outcome, decision, routing FROM decisions WHERE call_id = ?",
  );
  // rowid breaks ties between calls recorded in one millisecond: insertion order, as the ring.
  const selectTrace = db.prepare(
    "SELECT recorded_at, outcome, decision, routing FROM decisions WHERE trace_id = ? ORDER BY recorded_at DESC, rowid DESC LIMIT ?",
  );
  const count = db.prepare("SELECT count(*) AS n FROM decisions");
  const selectList = db.prepare(LIST_SQL.any);
  const selectListOfUser = db.prepare(LIST_SQL.user);
  const spendOfUser = db.prepare(SPEND_SQL.user);
  const spendOfTenant = db.prepare(SPEND_SQL.tenant);
  const spendOfAll = db.prepare(SPEND_SQL.all);
  const pruneOld = db.prepare(
    "DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?)",
  );
  const pruneOldest = db.prepare(
    "DELETE FROM decisions WHERE rowid IN (SELECT rowid FROM decisions ORDER BY recorded_at, rowid LIMIT ?)",
  );

  let size = Number((count.get() as { n: number }).n);
  let sincePrune = 0;
  let closed = false;

  const prune = (): number => {
    if (closed) return 0;
    sincePrune = 0;
    if (options.sharedWriters) size = Number((count.get() as { n: number }).n);
    let deleted = Number(pruneOld.run(now() - maxAgeMs, pruneBatch).changes);
    const excess = Math.min(size - deleted - maxRows, pruneBatch - deleted);
    if (excess > 0) deleted += Number(pruneOldest.run(excess).changes);
    size -= deleted;
    return deleted;
  };

  const timer =
    (options.pruneIntervalMs ?? 60_000) > 0
      ? setInterval(prune, options.pruneIntervalMs ?? 60_000)
      : undefined;
  timer?.unref();
  prune();

  return {
    add(decision, outcome, at = new Date(), routing) {
      const { changes } = insert.run(
        decision.callId,
        decision.traceId,
        decision.tenant,
        decision.user === "" ? null : decision.user,
        decision.route,
        at.getTime(),
        outcome,
        JSON.stringify(decision),
        routing ? JSON.stringify(routing) : null,
      );
      size += Number(changes);
      sincePrune += 1;
      if (sincePrune >= pruneEvery) prune();
    },
    byCall: (callId) => readRow(selectCall.get(callId) as Row | undefined),
    byTrace(traceId) {
      const rows = selectTrace.all(traceId, perTrace) as unknown as Row[];
      return rows.reverse().map((row) => readRow(row) as RecordedDecision);
    },
    get size() {
      return size;
    },
    list(filter) {
      // Each filter is a bound parameter (never spliced text); a NULL parameter leaves it open.
      const rows = (filter.user === undefined ? selectList : selectListOfUser).all(
        filter.tenant ?? null,
        filter.route ?? null,
        filter.since?.getTime() ?? null,
        filter.until?.getTime() ?? null,
        filter.limit + 1,
        filter.target ?? null,
        filter.user ?? null,
      ) as unknown as Row[];
      const truncated = rows.length > filter.limit;
      return {
        decisions: rows.slice(0, filter.limit).map((row) => readRow(row) as RecordedDecision),
        truncated,
      };
    },
    spend(query) {
      const buckets = emptyBuckets(query);
      const bounds = {
        since: query.since.getTime(),
        until: query.until.getTime(),
        bucket: query.bucketMs,
      };
      const rows = (query.tenant === undefined
        ? spendOfAll.all(bounds)
        : query.user === undefined
          ? spendOfTenant.all({ ...bounds, tenant: query.tenant })
          : spendOfUser.all({ ...bounds, tenant: query.tenant, user: query.user })) as unknown as Array<{
        bucket: number;
        calls: number;
        cost: number;
      }>;
      for (const row of rows) {
        const bucket = buckets[row.bucket];
        if (bucket) Object.assign(bucket, { calls: Number(row.calls), costUsd: row.cost });
      }
      return buckets;
    },
    prune,
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      db.close();
    },
  };
}

/** A ledger opened only to read (replay): it never writes, migrates or prunes the file. */
export interface DecisionLedgerReader {
  /**
   * Recorded decisions matching `filter`, newest first, at most `filter.limit` when set; read
   * row by row, so a large window is never held in memory at once.
   */
  entries(filter: Omit<DecisionFilter, "limit"> & { limit?: number }): Iterable<RecordedDecision>;
  close(): void;
}

/**
 * Opens a ledger file read-only: it can be read beside the server writing it (WAL readers do not
 * block the writer, nor it them). A file of an older layout reads too, its rows without routing
 * records.
 *
 * @throws when the file is missing, is not a ledger, or is of a newer layout.
 */
export function openDecisionLedgerReader(path: string): DecisionLedgerReader {
  const db = new DatabaseSync(path, { readOnly: true });
  let select: ReturnType<DatabaseSync["prepare"]>;
  try {
    db.exec("PRAGMA busy_timeout = 1000");
    const version = Number(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    if (version > LEDGER_VERSION)
      throw new Error(
        `the decision ledger is of layout ${version}, written by a newer switchyard (this one reads up to ${LEDGER_VERSION})`,
      );
    const routing = hasColumn(db, "routing") ? "routing" : "NULL AS routing";
    select = db.prepare(
      `SELECT recorded_at, outcome, decision, ${routing} FROM decisions
       WHERE ${listWhere(hasColumn(db, "user") ? "user" : "NULL")}
       ORDER BY recorded_at DESC, rowid DESC LIMIT ?5`,
    );
  } catch (error) {
    db.close();
    throw error;
  }
  return {
    *entries(filter) {
      const rows = select.iterate(
        filter.tenant ?? null,
        filter.route ?? null,
        filter.since?.getTime() ?? null,
        filter.until?.getTime() ?? null,
        // SQLite reads a negative LIMIT as none.
        filter.limit ?? -1,
        filter.target ?? null,
        filter.user ?? null,
      );
      for (const row of rows) yield readRow(row as unknown as Row) as RecordedDecision;
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
