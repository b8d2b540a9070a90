import type { Logger as OtelLogger, Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import { preloadEncodings } from "./admit/token-count.js";
import type { Environment } from "./config/env.js";
import { loadPolicyFile, parsePolicy } from "./config/load-policy.js";
import { createPolicyStore, type PolicyStore } from "./config/policy-store.js";
import { type PolicyReloader, watchPolicyFile } from "./config/reload.js";
import { systemClock } from "./core/clock.js";
import { namedTargets } from "./core/policy.js";
import { createSharedHealth, SHARED_HEALTH_REFRESH_MS } from "./health/shared-health.js";
import { createTargetHealth, type TargetHealth } from "./health/target-health.js";
import { createPipeline } from "./pipeline/pipeline.js";
import { type DecisionLedgerOptions, openDecisionLedger } from "./record/decision-ledger.js";
import { createDecisionLog, type DecisionLog, observedDecisionLog } from "./record/decision-log.js";
import { type RunningServer, startServer } from "./server/server.js";
import type { ServerLimits } from "./server/transport/server-limits.js";
import { createStateStore } from "./state/create-state-store.js";
import type { StateStore } from "./state/store.js";
import { exportDecisions } from "./telemetry/decision-records.js";
import { createEscalations } from "./telemetry/escalation.js";
import { createEvalSinks } from "./telemetry/eval-sink.js";
import { createMetrics } from "./telemetry/metrics.js";
import { logStepTimings } from "./telemetry/step-log.js";
import { createTracing } from "./telemetry/tracing.js";

export interface SwitchyardOptions {
  configPath: string;
  host: string;
  port: number;
  /**
   * The operator listener (AdminService); loopback unless `token` is set. None when absent (a
   * `serve --workers N` worker: the primary serves the operator plane).
   */
  operator?: { host: string; port: number; token?: string };
  /**
   * Set in a `serve --workers N` worker: the policy text the primary holds in force (loaded
   * instead of reading `configPath`, so a worker restarted after a refused reload starts on the
   * policy in force), the primary's store (used when the policy keeps state in memory, so
   * budgets and limits count every worker's calls), and no watching of the file (the primary
   * watches it and forwards what it applied).
   */
  worker?: { policyText: string; memoryStore: StateStore };
  env: () => Environment;
  logger: Logger;
  limits?: Partial<ServerLimits>;
  /** Reload on SIGHUP (the CLI wants it; in-process tests do not). */
  reloadOnSighup?: boolean;
  /**
   * Keep decisions in this SQLite ledger (they outlive a restart or a `kill -9`); without it,
   * in the in-memory ring a restart empties.
   */
  ledger?: DecisionLedgerOptions;
  /** Where call, step and attempt spans go; the global tracer (exporting as OTEL_* configure) when not given. */
  tracer?: Tracer;
  /** Where each recorded decision is also exported as an OpenTelemetry log record; none when not given. */
  decisionExport?: OtelLogger;
}

export interface Switchyard {
  server: RunningServer;
  policies: PolicyStore;
  decisions: DecisionLog;
  store: StateStore;
  health: TargetHealth;
  reloader: PolicyReloader;
  /** Drains the server, stops watching the policy and closes provider connections. */
  stop(): Promise<void>;
}

/** Loads the policy (throws PolicyError when invalid) and serves it. */
export async function startSwitchyard(options: SwitchyardOptions): Promise<Switchyard> {
  const policy = options.worker
    ? parsePolicy(options.worker.policyText, { source: options.configPath, env: options.env() })
    : await loadPolicyFile(options.configPath, options.env());
  for (const warning of policy.warnings) options.logger.warn({ version: policy.version }, warning);
  const policies = createPolicyStore(policy);
  preloadEncodings(policy);
  const ledger = options.ledger && openDecisionLedger(options.ledger);
  const decisions = ledger ?? createDecisionLog();
  const store = createStateStore(policy.state, options.logger, options.worker?.memoryStore);
  const health = createTargetHealth(systemClock);
  // Shared only through a store other processes reach: Redis, or the primary's under `serve
  // --workers` (each worker is a replica of the others on the same machine). The store is fixed
  // at start, so this is decided once.
  const shared =
    policy.state.store === "redis" || options.worker !== undefined
      ? createSharedHealth({
          health,
          store,
          clock: systemClock,
          logger: options.logger,
          targets: () =>
            [...namedTargets(policies.current())].map(([id, target]) => [id, target.breaker] as const),
        })
      : undefined;
  if (shared)
    options.logger.info(
      { refreshMs: SHARED_HEALTH_REFRESH_MS },
      "breaker openings and coolings shared with the other processes on the state store",
    );
  const metrics = createMetrics({ health, clusterWorker: options.worker !== undefined });
  const escalations = createEscalations(options.logger);
  const evalSinks = createEvalSinks(options.logger);
  const tracing = createTracing(options.tracer);
  const pipeline = createPipeline({
    policies,
    decisions: observedDecisionLog(decisions, metrics.observeCall),
    store,
    escalations,
    evalSinks,
    health,
    logger: options.logger,
    observers: [
      tracing.steps,
      metrics.steps,
      ...(options.decisionExport ? [exportDecisions(options.decisionExport)] : []),
      ...(options.logger.isLevelEnabled("debug") ? [logStepTimings(options.logger)] : []),
    ],
  });
  const reloader = watchPolicyFile({
    path: options.configPath,
    store: policies,
    env: options.env,
    logger: options.logger,
    onSighup: options.reloadOnSighup ?? false,
    watch: options.worker === undefined,
  });
  let server: RunningServer;
  try {
    server = await startServer(
      {
        pipeline,
        policies,
        decisions,
        health,
        metrics,
        store,
        reloads: reloader,
        logger: options.logger,
        tracing,
        env: options.env,
      },
      {
        host: options.host,
        port: options.port,
        ...(options.operator && { operator: options.operator }),
        ...(options.limits && { limits: options.limits }),
      },
    );
  } catch (error) {
    reloader.stop();
    await shared?.stop();
    await store.close();
    ledger?.close();
    throw error;
  }
  options.logger.info({ version: policy.version, source: policy.source }, "policy in force");
  return {
    server,
    policies,
    decisions,
    store,
    health,
    reloader,
    async stop() {
      reloader.stop();
      await server.drain();
      await policies.close();
      await shared?.stop();
      await store.close();
      await escalations.settled();
      await evalSinks.close();
      // Last: the drained calls have recorded their decisions.
      ledger?.close();
    },
  };
}
