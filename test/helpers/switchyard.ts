import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Logger as OtelLogger, Tracer } from "@opentelemetry/api";
import { pino } from "pino";
import { type Switchyard, startSwitchyard } from "../../src/app.js";
import type { Environment } from "../../src/config/env.js";
import type { ServerLimits } from "../../src/server/transport/server-limits.js";

export interface TestSwitchyard {
  app: Switchyard;
  /** "http://127.0.0.1:PORT": the router listener. */
  baseUrl: string;
  port: number;
  /** "http://127.0.0.1:PORT": the operator listener (AdminService). */
  operatorUrl: string;
  policyPath: string;
  /** Every log line the service wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Every log line as written (to assert what text never appears). */
  rawLogs: string[];
  stop(): Promise<void>;
}

export interface TestSwitchyardOptions {
  env?: Environment;
  limits?: Partial<ServerLimits>;
  operatorToken?: string;
  /** Where spans go (e.g. an in-memory exporter's provider); the global no-op tracer when not given. */
  tracer?: Tracer;
  /** Where decisions are exported as log records. */
  decisionExport?: OtelLogger;
  /** Keep decisions in this SQLite ledger file (serve --ledger) rather than in memory. */
  ledger?: string;
}

/**
 * Starts Switchyard in process on a free loopback port with `policyYaml` written to a temp file
 * (so reload tests can rewrite it) and a logger that captures every line.
 */
export async function startTestSwitchyard(
  policyYaml: string,
  options: TestSwitchyardOptions = {},
): Promise<TestSwitchyard> {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-test-"));
  const policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, policyYaml);
  const rawLogs: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  const app = await startSwitchyard({
    configPath: policyPath,
    host: "127.0.0.1",
    port: 0,
    operator: { host: "127.0.0.1", port: 0, ...(options.operatorToken && { token: options.operatorToken }) },
    env: () => options.env ?? {},
    logger,
    ...(options.limits && { limits: options.limits }),
    ...(options.tracer && { tracer: options.tracer }),
    ...(options.decisionExport && { decisionExport: options.decisionExport }),
    ...(options.ledger && { ledger: { path: options.ledger, pruneIntervalMs: 0 } }),
  });
  return {
    app,
    baseUrl: `http://127.0.0.1:${app.server.port}`,
    port: app.server.port,
    operatorUrl: `http://127.0.0.1:${app.server.operatorPort}`,
    policyPath,
    logs,
    rawLogs,
    async stop() {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A policy with one self-hosted mock, enough for front-door tests. */
export const MINIMAL_POLICY = `
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1 }
routes:
  - name: default
    primary: { provider: local, model: tiny }
`;
