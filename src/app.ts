import type { Logger } from "pino";
import type { Environment } from "./config/env.js";
import { loadPolicyFile } from "./config/load-policy.js";
import { createPolicyStore, type PolicyStore } from "./config/policy-store.js";
import { type PolicyReloader, watchPolicyFile } from "./config/reload.js";
import { createPipeline } from "./core/pipeline.js";
import { createDecisionLog, type DecisionLog } from "./record/decision-log.js";
import { type RunningServer, startServer } from "./server/server.js";
import type { ServerLimits } from "./server/transport/server-limits.js";

export interface SwitchyardOptions {
  configPath: string;
  host: string;
  port: number;
  env: () => Environment;
  logger: Logger;
  limits?: Partial<ServerLimits>;
  /** Reload on SIGHUP (the CLI wants it; in-process tests do not). */
  reloadOnSighup?: boolean;
}

export interface Switchyard {
  server: RunningServer;
  policies: PolicyStore;
  decisions: DecisionLog;
  reloader: PolicyReloader;
  /** Drains the server, stops watching the policy and closes provider connections. */
  stop(): Promise<void>;
}

/** Loads the policy (throws PolicyError when invalid) and serves it. */
export async function startSwitchyard(options: SwitchyardOptions): Promise<Switchyard> {
  const policy = await loadPolicyFile(options.configPath, options.env());
  for (const warning of policy.warnings) options.logger.warn({ version: policy.version }, warning);
  const policies = createPolicyStore(policy);
  const decisions = createDecisionLog();
  const pipeline = createPipeline({ policies, decisions, logger: options.logger });
  const server = await startServer(
    { pipeline, policies, decisions, logger: options.logger },
    { host: options.host, port: options.port, ...(options.limits && { limits: options.limits }) },
  );
  const reloader = watchPolicyFile({
    path: options.configPath,
    store: policies,
    env: options.env,
    logger: options.logger,
    onSighup: options.reloadOnSighup ?? false,
  });
  options.logger.info({ version: policy.version, source: policy.source }, "policy in force");
  return {
    server,
    policies,
    decisions,
    reloader,
    async stop() {
      reloader.stop();
      await server.drain();
      await policies.close();
    },
  };
}
