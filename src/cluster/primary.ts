import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import type { Environment } from "../config/env.js";
import { parsePolicy, readPolicyText } from "../config/load-policy.js";
import { createPolicyStore } from "../config/policy-store.js";
import { watchPolicyFile } from "../config/reload.js";
import type { TargetId } from "../core/types.js";
import type { TargetView } from "../health/target-health.js";
import { type DecisionLedgerOptions, openDecisionLedger } from "../record/decision-ledger.js";
import type { DecisionFilter, RecordedDecision, SpendBucket, SpendQuery } from "../record/decision-log.js";
import type { DecisionQueries, TargetControl } from "../server/ops/admin-service.js";
import { startOperatorServer } from "../server/server.js";
import { DEFAULT_LIMITS, type ServerLimits } from "../server/transport/server-limits.js";
import { createStateStore } from "../state/create-state-store.js";
import { serveStateStore } from "../state/primary/primary-store.js";
import { createClusterMetrics } from "../telemetry/metrics.js";
import { type Channel, connectChannel, type Requester } from "./ipc.js";
import { mergeLists, mergeSpend, mergeTrace, mergeViews, viewFromEpoch } from "./merge.js";
import type { WorkerStart } from "./worker.js";

export interface ClusterOptions {
  workers: number;
  configPath: string;
  env: () => Environment;
  logger: Logger;
  operator: { host: string; port: number; token?: string };
  limits?: Partial<ServerLimits>;
  ledger?: DecisionLedgerOptions;
}

export interface RunningCluster {
  readonly host: string;
  readonly port: number;
  readonly operatorHost: string;
  readonly operatorPort: number;
  /** The pids of the workers running now. */
  workerPids(): number[];
  /**
   * Drains every worker (each as a single `serve` drains on SIGTERM) and the operator listener;
   * resolves 0 once all exited cleanly, 1 otherwise. Workers still running `drainTimeoutMs` plus
   * a margin after it began are killed.
   */
  stop(): Promise<number>;
}

/** Requests to a worker that do not answer within this are given up (the worker may be stuck). */
const ASK_TIMEOUT_MS = 5_000;
/** Restart backoff: 100 ms after a first crash, doubling per crash in a row, at most 30 s. */
const RESTART_BASE_MS = 100;
const RESTART_CAP_MS = 30_000;
/** A worker that served this long resets its slot's crash count. */
const STABLE_AFTER_MS = 30_000;
/** Beyond the drain bound, how long stop waits for a worker's exit before killing it. */
const EXIT_MARGIN_MS = 5_000;

interface Slot {
  index: number;
  worker?: Worker;
  link?: Requester & { stop(): void };
  listening: boolean;
  listeningAt: number;
  crashesInARow: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * The primary of `serve --workers N` (node:cluster): forks N workers that share the router port
 * (the primary accepts connections and hands them round-robin to the workers, so an HTTP/2
 * connection, with all its calls, stays on one worker), serves the operator listener itself, and
 * holds what must be one thing across workers:
 *
 * - the memory state store (budgets, limits), which the workers reach over IPC (state/primary/);
 * - the policy: it alone watches the file (and SIGHUP), and forwards each text it applied to every
 *   worker, which applies the same bytes; a restarted worker starts on the text in force, so a
 *   refused reload never stops a worker from coming back. GetPolicy answers from the primary;
 * - drills: TakeTargetOutOfService and its return apply to every worker (and to one restarted);
 * - the operator plane: ListTargets merges every worker's views, GetDecision and ListDecisions
 *   ask every worker's ring (or read the ledger file the workers all write), `/metrics`
 *   aggregates every worker's series (prom-client's AggregatorRegistry).
 *
 * A worker that exits unasked is replaced after a backoff (logged, counted in
 * `switchyard_worker_restarts_total`); during start, one that cannot start fails the start.
 * Resolves once every worker is listening.
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const log = options.logger.child({ component: "cluster" });
  const env = options.env;
  let inForceText = await readPolicyText(options.configPath);
  // Throws PolicyError for an invalid policy: nothing is forked.
  const policy = parsePolicy(inForceText, { source: options.configPath, env: env() });
  for (const warning of policy.warnings) options.logger.warn({ version: policy.version }, warning);
  const policies = createPolicyStore(policy);
  // What budgets and limits are counted in: the primary's memory, served to the workers over IPC,
  // or Redis, which the workers reach themselves; AdminService GetUsage reads it here.
  const store = createStateStore(policy.state, options.logger);
  // The workers write the ledger; the primary reads it for AdminService and alone prunes it.
  const ledger =
    options.ledger && openDecisionLedger({ ...options.ledger, sharedWriters: true, pruneIntervalMs: 1_000 });
  const metrics = createClusterMetrics();
  const drills = new Map<TargetId, string>();
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index,
    listening: false,
    listeningAt: 0,
    crashesInARow: 0,
  }));
  let stopping = false;
  let ready = false;
  let failStart: (error: Error) => void = () => {};
  let allListening: () => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    allListening = resolve;
    failStart = reject;
  });
  let router: { host: string; port: number } | undefined;

  const live = () => slots.filter((slot) => slot.listening && slot.link);
  /** Asks every listening worker; the answers of those that answered. */
  const askAll = async <T>(kind: string, body?: unknown): Promise<T[]> => {
    const answers = await Promise.allSettled(
      live().map((slot) => (slot.link as Requester).request<T>(kind, body, ASK_TIMEOUT_MS)),
    );
    for (const answer of answers)
      if (answer.status === "rejected")
        log.warn({ kind, reason: String(answer.reason) }, "a worker did not answer");
    return answers.flatMap((answer) => (answer.status === "fulfilled" ? [answer.value] : []));
  };

  const reloader = watchPolicyFile({
    path: options.configPath,
    store: policies,
    env,
    logger: options.logger,
    onSighup: true,
    onApplied(text, trigger) {
      inForceText = text;
      void askAll<boolean>("policy.apply", { text, trigger });
    },
  });

  const decisions: DecisionQueries = ledger ?? {
    async byCall(callId) {
      return (await askAll<RecordedDecision | undefined>("decisions.byCall", { callId })).find(Boolean);
    },
    async byTrace(traceId) {
      return mergeTrace(await askAll<RecordedDecision[]>("decisions.byTrace", { traceId }), 32);
    },
    async list(filter: DecisionFilter) {
      return mergeLists(await askAll("decisions.list", filter), filter);
    },
    async spend(query: SpendQuery) {
      return mergeSpend(await askAll<SpendBucket[]>("decisions.spend", query), query);
    },
  };
  const health: TargetControl = {
    async views() {
      const perWorker = await askAll<Array<[TargetId, TargetView]>>("health.views");
      const merged = mergeViews(perWorker);
      for (const [target, view] of merged) merged.set(target, viewFromEpoch(view));
      for (const [target, reason] of drills)
        if (!merged.has(target))
          merged.set(target, {
            breaker: { state: "closed", since: performance.now(), failureRate: 0, calls: 0 },
            inFlight: 0,
            samples: 0,
            outOfService: reason,
            recentFirstTokensMs: [],
            recentAttemptsMs: [],
          });
      return merged;
    },
    async takeOutOfService(target, reason) {
      drills.set(target, reason);
      await askAll("health.drill", { target, reason });
    },
    async returnToService(target) {
      const wasOut = drills.delete(target);
      const answers = await askAll<boolean>("health.return", { target });
      return wasOut || answers.some(Boolean);
    },
  };

  let operator: Awaited<ReturnType<typeof startOperatorServer>>;
  try {
    operator = await startOperatorServer(
      { policies, decisions, reloads: reloader, health, metrics, logger: options.logger, store, env },
      { ...options.operator, ...(options.limits && { limits: options.limits }) },
    );
  } catch (error) {
    reloader.stop();
    ledger?.close();
    throw error;
  }

  cluster.setupPrimary({ serialization: "advanced" });
  const stateHandlers = serveStateStore(store);

  const fork = (slot: Slot) => {
    const worker = cluster.fork({ SWITCHYARD_WORKER_INDEX: String(slot.index) });
    slot.worker = worker;
    slot.listening = false;
    slot.link = connectChannel(
      workerChannel(worker),
      {
        ...stateHandlers,
        "worker.hello": (): WorkerStart => ({ policyText: inForceText, drills: [...drills] }),
        "worker.failed": (body: { reason: string }) => {
          if (!ready) failStart(new Error(body.reason));
        },
        "worker.listening": (body: { host: string; port: number }) => {
          if (slot.worker !== worker) return;
          slot.listening = true;
          slot.listeningAt = performance.now();
          router ??= body;
          metrics.setWorkers(live().length);
          log.info({ worker: worker.process.pid, index: slot.index }, "worker listening");
          if (!ready && slots.every((each) => each.listening)) {
            ready = true;
            allListening();
          }
        },
      },
      { timeoutMs: ASK_TIMEOUT_MS },
    );
    worker.once("exit", (code, signal) => {
      slot.link?.stop();
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      slot.link = undefined;
      slot.listening = false;
      metrics.setWorkers(live().length);
      if (stopping) return;
      if (!ready) {
        failStart(
          new Error(`worker ${worker.process.pid} exited (${signal ?? code}) before it was listening`),
        );
        return;
      }
      const stable = slot.listeningAt > 0 && performance.now() - slot.listeningAt >= STABLE_AFTER_MS;
      slot.crashesInARow = stable ? 1 : slot.crashesInARow + 1;
      const delayMs = Math.min(RESTART_CAP_MS, RESTART_BASE_MS * 2 ** (slot.crashesInARow - 1));
      log.error(
        { worker: worker.process.pid, index: slot.index, code, signal, restartInMs: delayMs },
        "worker exited unasked; replacing it",
      );
      metrics.workerRestarted();
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) fork(slot);
      }, delayMs);
    });
  };

  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  let stopped: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    stopped ??= (async () => {
      stopping = true;
      for (const slot of slots) clearTimeout(slot.restartTimer);
      const exits = slots.flatMap((slot) => {
        const worker = slot.worker;
        if (!worker) return [];
        const exited = new Promise<boolean>((resolve) => {
          if (worker.process.exitCode !== null || worker.process.signalCode !== null)
            resolve(worker.process.exitCode === 0);
          else worker.once("exit", (code) => resolve(code === 0));
        });
        // Each worker drains as a single `serve` does on SIGTERM: NOT_SERVING, refuse new calls,
        // let the ones in flight finish within drainTimeoutMs.
        worker.process.kill("SIGTERM");
        const bound = setTimeout(() => {
          log.error({ worker: worker.process.pid }, "worker still running after its drain bound; killing it");
          worker.process.kill("SIGKILL");
        }, limits.drainTimeoutMs + EXIT_MARGIN_MS);
        return [exited.finally(() => clearTimeout(bound))];
      });
      const [clean] = await Promise.all([
        Promise.all(exits).then((results) => results.every(Boolean)),
        operator.drain(),
      ]);
      reloader.stop();
      await policies.close();
      await store.close();
      ledger?.close();
      return clean ? 0 : 1;
    })();
    return stopped;
  };

  for (const slot of slots) fork(slot);
  try {
    await started;
  } catch (error) {
    await stop();
    throw error;
  }
  const listening = router as { host: string; port: number };
  return {
    host: listening.host,
    port: listening.port,
    operatorHost: operator.host,
    operatorPort: operator.port,
    workerPids: () => slots.flatMap((slot) => (slot.worker?.process.pid ? [slot.worker.process.pid] : [])),
    stop,
  };
}

/** The primary's end of its IPC channel to `worker`. */
function workerChannel(worker: Worker): Channel {
  return {
    send(message, failed) {
      if (!worker.isConnected()) failed(new Error("the worker is not connected"));
      // With a callback a closed channel is reported to it, not emitted as an 'error' event.
      else worker.send(message as object, (error: Error | null) => error && failed(error));
    },
    listen(listener) {
      worker.on("message", listener);
      return () => worker.off("message", listener);
    },
  };
}
