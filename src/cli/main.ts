import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type Logger, pino } from "pino";
import { AdminService, RecordedDecisionSchema } from "../../gen/switchyard/v1/admin_pb.js";
import { RouteRequestSchema } from "../../gen/switchyard/v1/router_pb.js";
import { DecisionSchema } from "../../gen/switchyard/v1/types_pb.js";
import { type Switchyard, startSwitchyard } from "../app.js";
import { type RunningCluster, startCluster } from "../cluster/primary.js";
import { joinPrimary, type PrimaryLink } from "../cluster/worker.js";
import { processEnvironment } from "../config/env.js";
import { formatIssue, loadPolicyFile, PolicyError } from "../config/load-policy.js";
import { createPolicyStore } from "../config/policy-store.js";
import { systemClock } from "../core/clock.js";
import { namedTargets } from "../core/policy.js";
import { didYouMean } from "../core/suggest.js";
import { createTargetHealth } from "../health/target-health.js";
import { createPipeline } from "../pipeline/pipeline.js";
import {
  type DecisionLedgerOptions,
  type DecisionLedgerReader,
  openDecisionLedgerReader,
} from "../record/decision-ledger.js";
import { createDecisionLog } from "../record/decision-log.js";
import { callJson, formatCall, formatReport, reportJson } from "../replay/format.js";
import { parseRule, type ReplayRule, RULE_VOCABULARY, replayAll } from "../replay/replay.js";
import { checkRequestLimits } from "../server/request-limits.js";
import { identifyCall } from "../server/rpc/call-identity.js";
import { toDecision } from "../server/rpc/from-domain.js";
import { toLlmRequest } from "../server/rpc/to-domain.js";
import { findJsonRequestError, formatJsonRequestError } from "../server/transport/json-request-errors.js";
import { DEFAULT_LIMITS, type ServerLimits } from "../server/transport/server-limits.js";
import { createMemoryStore } from "../state/memory/memory-store.js";
import type { StateStore } from "../state/store.js";
import { createLogger } from "../telemetry/logger.js";
import { startOtelExport } from "../telemetry/otel-export.js";
import { createTracing } from "../telemetry/tracing.js";

const USAGE = `usage:
  switchyard serve   [--config FILE] [--port N] [--host H]   serve the policy (defaults: shipped config, 127.0.0.1, 50051;
                     [--operator-port N] [--operator-host H] env SWITCHYARD_CONFIG, PORT). AdminService is on the
                     [--limit NAME=VALUE]...                 operator listener (default 127.0.0.1:50052, env OPERATOR_PORT;
                     [--log-format json|pretty]              another host needs SWITCHYARD_ADMIN_TOKEN). --limit sets a server
                     [--ledger FILE]                         limit, e.g. maxBodyBytes=1048576 (README, "Limits"). Logs go to
                     [--ledger-max-age D]                    stderr: readable on a terminal, JSON lines otherwise (LOG_LEVEL).
                     [--ledger-max-rows N]                   --ledger keeps decisions in a SQLite file that outlives restarts
                     [--workers N]                           (env SWITCHYARD_LEDGER; default: memory only), pruned past
                                                             --ledger-max-age (e.g. 7d, 12h, 30m; default 7d) and
                                                             --ledger-max-rows (default 1000000). Traces and decision
                                                             records go over OTLP when the standard OTEL_* variables
                                                             say where (OTEL_EXPORTER_OTLP_ENDPOINT …; README).
                                                             --workers: processes sharing the port (env SWITCHYARD_WORKERS;
                                                             default: the CPUs this process may use; 1: no primary)
  switchyard check   FILE                                    validate a policy: exit 0 valid, 1 invalid (every error listed)
  switchyard explain [--config FILE] --request JSON [--without PROVIDER/MODEL]...
                                                             print the decision Route would take; nothing is sent
                                                             (--without: as if that target were out of service)
  switchyard decisions [--operator URL] [--tenant T [--user U]] [--route R] [--target PROVIDER/MODEL]
                       [--since 24h] [--limit N] [--json]
                                                             list recorded decisions, newest first, from a running
                                                             server's AdminService (default http://127.0.0.1:50052;
                                                             env SWITCHYARD_ADMIN_TOKEN is sent when set); --target:
                                                             the calls that tried it, failovers included
  switchyard replay  --policy FILE [--ledger FILE] [--since 24h] [--tenant T] [--route R] [--limit N]
                     [--fail-on RULE]... [--all] [--json]
                                                             decide the ledger's recorded calls again under the policy
                                                             in FILE (nothing is sent); print each call that would
                                                             change (route, eligible targets, chosen target, data class,
                                                             estimated cost; --all: every call), then totals. --ledger
                                                             (env SWITCHYARD_LEDGER) is only read: a server may be
                                                             writing it. Exit 0; 1 when a --fail-on RULE is violated
                                                             (rule and calls printed); 2 on a usage error or an invalid
                                                             policy (every error listed). RULE is one of:
${RULE_VOCABULARY.map((rule) => `                       ${rule}`).join("\n")}
  switchyard help                                            this text (also: <command> --help)
`;

/** pino's levels, most severe first. */
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** The offline default policy shipped with the package. */
const SHIPPED_CONFIG = fileURLToPath(new URL("../../../config/switchyard.yaml", import.meta.url));

async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    // parseArgs throws on unknown or malformed options: a usage error, not a crash.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${error.message}\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const env = processEnvironment();
  if (command !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case "serve":
      return serve(rest, env);
    case "check":
      return check(rest, env);
    case "explain":
      return explain(rest, env);
    case "decisions":
      return decisions(rest, env);
    case "replay":
      return replay(rest, env);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

async function serve(args: string[], env: ReturnType<typeof processEnvironment>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "operator-port": { type: "string" },
      "operator-host": { type: "string" },
      limit: { type: "string", multiple: true },
      "log-format": { type: "string" },
      ledger: { type: "string" },
      "ledger-max-age": { type: "string" },
      "ledger-max-rows": { type: "string" },
      workers: { type: "string" },
    },
  });
  const workers = workerCount(values.workers ?? env.SWITCHYARD_WORKERS);
  if (typeof workers === "string") {
    process.stderr.write(`${workers}\n`);
    return 2;
  }
  const ledger = ledgerOptions(
    values.ledger ?? env.SWITCHYARD_LEDGER,
    values["ledger-max-age"],
    values["ledger-max-rows"],
  );
  if (typeof ledger === "string") {
    process.stderr.write(`${ledger}\n`);
    return 2;
  }
  const limits = parseLimits(values.limit ?? []);
  if (typeof limits === "string") {
    process.stderr.write(`--limit: ${limits}\n`);
    return 2;
  }
  const configPath = values.config ?? env.SWITCHYARD_CONFIG ?? SHIPPED_CONFIG;
  const port = portNumber("--port", values.port ?? env.PORT ?? "50051");
  const operatorPort = portNumber("--operator-port", values["operator-port"] ?? env.OPERATOR_PORT ?? "50052");
  if (typeof port === "string" || typeof operatorPort === "string") {
    process.stderr.write(`${typeof port === "string" ? port : operatorPort}\n`);
    return 2;
  }
  const format = values["log-format"];
  if (format !== undefined && format !== "json" && format !== "pretty") {
    process.stderr.write(`--log-format: "${format}" is not json or pretty\n`);
    return 2;
  }
  const level = env.LOG_LEVEL ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(`LOG_LEVEL: "${level}" is not one of ${LOG_LEVELS.join(", ")}\n`);
    return 2;
  }
  const baseLogger = createLogger({ level, ...(format && { format }) });
  const operator = {
    host: values["operator-host"] ?? "127.0.0.1",
    port: operatorPort,
    ...(env.SWITCHYARD_ADMIN_TOKEN && { token: env.SWITCHYARD_ADMIN_TOKEN }),
  };
  const host = values.host ?? "127.0.0.1";
  if (cluster.isWorker) {
    // A `serve --workers N` worker: its lines say which process served.
    const logger = baseLogger.child({ pid: process.pid, worker: Number(env.SWITCHYARD_WORKER_INDEX ?? 0) });
    return serveWorker(logger, env, (store) =>
      startSwitchyard({
        configPath,
        host,
        port,
        env: processEnvironment,
        logger,
        limits,
        worker: store,
        // Every worker writes the file; the primary prunes it.
        ...(ledger && {
          ledger: {
            ...ledger,
            sharedWriters: true,
            pruneIntervalMs: 0,
            pruneEvery: Number.POSITIVE_INFINITY,
          },
        }),
      }),
    );
  }
  if (workers > 1) {
    const logger = baseLogger;
    let running: RunningCluster;
    try {
      running = await startCluster({
        workers,
        configPath,
        env: processEnvironment,
        logger,
        operator,
        limits,
        ...(ledger && { ledger }),
      });
    } catch (error) {
      notServing(logger, error);
      logger.flush();
      return 1;
    }
    // The readiness line, once every worker is listening (and the operator listener, served here).
    logger.child({}, { level: "info" }).info(
      {
        pid: process.pid,
        workers: running.workerPids(),
        host: running.host,
        port: running.port,
        operatorHost: running.operatorHost,
        operatorPort: running.operatorPort,
      },
      "serving",
    );
    return untilStopped(logger, env, () => running.stop());
  }
  const logger = baseLogger;
  const otel = startOtelExport(env, logger);
  let app: Awaited<ReturnType<typeof startSwitchyard>>;
  try {
    app = await startSwitchyard({
      configPath,
      host,
      port,
      operator,
      env: processEnvironment,
      logger,
      reloadOnSighup: true,
      limits,
      ...(ledger && { ledger }),
      ...(otel.decisions && { decisionExport: otel.decisions }),
    });
  } catch (error) {
    notServing(logger, error);
    await otel.shutdown();
    logger.flush();
    return 1;
  }
  // The readiness line (scripts and tests wait for it): both listeners are up. Logged whatever
  // LOG_LEVEL says, like nothing else: a process that never says it is ready cannot be waited on.
  logger.child({}, { level: "info" }).info(
    {
      pid: process.pid,
      host: app.server.host,
      port: app.server.port,
      operatorHost: app.server.operatorHost,
      operatorPort: app.server.operatorPort,
    },
    "serving",
  );
  // The exporters flush last: the drained calls' spans and decisions are in their buffers.
  return untilStopped(logger, env, () =>
    app
      .stop()
      .finally(() => otel.shutdown())
      .then(() => 0),
  );
}

/** Says why serve could not start, as a log line like everything else serve writes, never a stack. */
function notServing(logger: Logger, error: unknown): void {
  const fatal = logger.child({}, { level: "info" });
  if (error instanceof PolicyError)
    fatal.fatal(
      { source: error.source, issues: error.issues.map(formatIssue) },
      "invalid policy; not serving",
    );
  else fatal.fatal({ reason: error instanceof Error ? error.message : String(error) }, "cannot serve");
}

/**
 * Serves until SIGTERM or SIGINT (or, under `npm start`, npm's exit), then runs `stop` (the
 * drain); resolves with the exit code: 0 once drained, 1 when stopping failed or `stop` says 1.
 */
function untilStopped(
  logger: Logger,
  env: ReturnType<typeof processEnvironment>,
  stopServing: () => Promise<number | undefined>,
): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      // The reloader lets go of SIGHUP as the app stops; one arriving during the drain must not end it.
      process.on("SIGHUP", () => {});
      logger.info({ signal }, "shutting down");
      stopServing().then(
        (code) => {
          logger.flush();
          resolve(code ?? 0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          logger.flush();
          resolve(1);
        },
      );
    };
    // `on`, not `once`: Ctrl-C under npm start delivers SIGINT twice (the terminal's, to the whole
    // process group, and npm's forwarded copy); a second signal must not kill a draining server.
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    if (env.npm_lifecycle_event !== undefined && !cluster.isWorker) followParent(() => stop("npm exited"));
  });
}

/**
 * A `serve --workers N` worker: starts from what the primary holds (the policy in force, drills,
 * its memory store), serves the router port the workers share, answers the primary's requests,
 * and drains on SIGTERM or SIGINT as a single `serve` does. SIGHUP is the primary's (it watches
 * the policy and forwards what it applied): a hangup reaching the whole process group is ignored.
 * Exits the process when done (its IPC channel would otherwise keep it alive).
 */
async function serveWorker(
  logger: Logger,
  env: ReturnType<typeof processEnvironment>,
  start: (worker: { policyText: string; memoryStore: StateStore }) => Promise<Switchyard>,
): Promise<number> {
  process.on("SIGHUP", () => {});
  const otel = startOtelExport(env, logger);
  let app: Switchyard;
  let link: PrimaryLink | undefined;
  try {
    const joined = await joinPrimary();
    link = joined;
    app = await start({ policyText: joined.start.policyText, memoryStore: joined.store });
    await joined.serving(app);
  } catch (error) {
    notServing(logger, error);
    await link?.failed(error instanceof Error ? error.message : String(error));
    await otel.shutdown();
    return exitWorker(logger, 1);
  }
  const code = await untilStopped(logger, env, () =>
    app
      .stop()
      .finally(() => otel.shutdown())
      .then(() => 0),
  );
  return exitWorker(logger, code);
}

/** Ends a worker process once its log lines are written. */
function exitWorker(logger: Logger, code: number): Promise<number> {
  return new Promise<number>(() => {
    const exit = () => process.exit(code);
    setTimeout(exit, 1_000).unref();
    logger.flush(exit);
  });
}

/**
 * Under `npm start` npm is the parent, and it forwards SIGTERM and SIGINT but no other signal:
 * a SIGHUP (or SIGKILL) ends npm alone. Rather than serve on as an orphan nobody can stop through
 * npm, drain and exit when the parent goes away.
 */
function followParent(onGone: () => void): void {
  const parent = process.ppid;
  const check = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(check);
    onGone();
  }, 500);
  check.unref();
}

/** The --request JSON as a RouteRequest; an error naming the field as the server would name it. */
function requestFromJson(text: string) {
  const json: unknown = JSON.parse(text);
  try {
    return fromJson(RouteRequestSchema, json as JsonValue);
  } catch (error) {
    const found = findJsonRequestError(RouteRequestSchema, json);
    throw found ? new Error(formatJsonRequestError(found)) : error;
  }
}

/** Most workers `--workers` accepts. */
const MAX_WORKERS = 256;

/**
 * `--workers` (or SWITCHYARD_WORKERS): the processes serving; by default as many as the CPUs
 * this process may use (os.availableParallelism: affinity, and cgroup CPU quota where libuv
 * reads it). Or the usage error to print.
 */
function workerCount(text: string | undefined): number | string {
  if (text === undefined || text === "") return availableParallelism();
  const count = Number(text);
  if (/^\d+$/.test(text) && count >= 1 && count <= MAX_WORKERS) return count;
  return `--workers: "${text}" is not a number of processes (1-${MAX_WORKERS})`;
}

/** A port number from an option or variable, or the usage error to print. */
function portNumber(option: string, text: string): number | string {
  const port = Number(text);
  if (/^\d+$/.test(text) && port <= 65535) return port;
  return `${option}: "${text}" is not a port number (0-65535)`;
}

const DURATION_UNITS_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** `7d`, `12h`, `30m`, `90s` in milliseconds; undefined for anything else (or zero). */
function durationMs(text: string): number | undefined {
  const match = /^(\d+)([dhms])$/.exec(text);
  const unit = match && DURATION_UNITS_MS[match[2] ?? ""];
  if (!match || !unit || Number(match[1]) === 0) return undefined;
  return Number(match[1]) * unit;
}

/** The ledger's file and retention, undefined when none is asked for, or the usage error to print. */
function ledgerOptions(
  path: string | undefined,
  maxAge: string | undefined,
  maxRows: string | undefined,
): DecisionLedgerOptions | undefined | string {
  if (path === undefined || path === "") {
    if (maxAge !== undefined || maxRows !== undefined)
      return "--ledger-max-age and --ledger-max-rows need --ledger FILE (or SWITCHYARD_LEDGER)";
    return undefined;
  }
  const options: DecisionLedgerOptions = { path };
  if (maxAge !== undefined) {
    const ms = durationMs(maxAge);
    if (ms === undefined)
      return `--ledger-max-age: "${maxAge}" is not a duration such as 7d, 12h, 30m or 90s`;
    options.maxAgeMs = ms;
  }
  if (maxRows !== undefined) {
    if (!/^\d+$/.test(maxRows) || Number(maxRows) === 0)
      return `--ledger-max-rows: "${maxRows}" is not a positive whole number`;
    options.maxRows = Number(maxRows);
  }
  return options;
}

/**
 * `switchyard decisions`: ListDecisions of a running server's AdminService over Connect, one line
 * a call (or the JSON of each recorded decision with --json). Exit 1 when the server refuses.
 */
async function decisions(args: string[], env: ReturnType<typeof processEnvironment>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      operator: { type: "string" },
      tenant: { type: "string" },
      user: { type: "string" },
      route: { type: "string" },
      target: { type: "string" },
      since: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const since = values.since === undefined ? undefined : durationMs(values.since);
  if (values.since !== undefined && since === undefined) {
    process.stderr.write(`--since: "${values.since}" is not a duration such as 24h, 30m or 7d\n${USAGE}`);
    return 2;
  }
  if (values.limit !== undefined && !/^\d+$/.test(values.limit)) {
    process.stderr.write(`--limit: "${values.limit}" is not a whole number\n${USAGE}`);
    return 2;
  }
  const admin = createClient(
    AdminService,
    createConnectTransport({ baseUrl: values.operator ?? "http://127.0.0.1:50052", httpVersion: "1.1" }),
  );
  try {
    const listed = await admin.listDecisions(
      {
        tenant: values.tenant ?? "",
        user: values.user ?? "",
        route: values.route ?? "",
        target: values.target ?? "",
        ...(since !== undefined && { since: timestampFromDate(new Date(Date.now() - since)) }),
        limit: Number(values.limit ?? 0),
      },
      env.SWITCHYARD_ADMIN_TOKEN
        ? { headers: { authorization: `Bearer ${env.SWITCHYARD_ADMIN_TOKEN}` } }
        : {},
    );
    for (const recorded of listed.decisions) {
      if (values.json) {
        process.stdout.write(`${JSON.stringify(toJson(RecordedDecisionSchema, recorded))}\n`);
        continue;
      }
      const decision = recorded.decision;
      const at = recorded.recordedAt ? timestampDate(recorded.recordedAt).toISOString() : "";
      process.stdout.write(
        `${at}  ${decision?.callId ?? ""}  tenant=${decision?.tenant ?? ""}${decision?.user ? `  user=${decision.user}` : ""}  route=${decision?.route ?? ""}  target=${decision?.target || "-"}  $${decision?.costUsd ?? 0}  ${recorded.outcome}\n`,
      );
    }
    if (listed.truncated)
      process.stderr.write(`(more: list again with a narrower --since, or a larger --limit up to 1000)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${ConnectError.from(error).message}\n`);
    return 1;
  }
}

/**
 * `switchyard replay`: the routing decision of every recorded call matching the filters, taken
 * again under the policy in --policy (src/replay/replay.ts), read from the ledger file without
 * writing to it. Prints the calls that change and the totals (or one JSON document with --json).
 */
async function replay(args: string[], env: ReturnType<typeof processEnvironment>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      policy: { type: "string" },
      ledger: { type: "string" },
      since: { type: "string" },
      tenant: { type: "string" },
      route: { type: "string" },
      limit: { type: "string" },
      "fail-on": { type: "string", multiple: true },
      all: { type: "boolean" },
      json: { type: "boolean" },
    },
  });
  const usage = (message: string) => {
    process.stderr.write(`${message}\n${USAGE}`);
    return 2;
  };
  if (values.policy === undefined) return usage("replay needs --policy FILE");
  const ledgerPath = values.ledger ?? env.SWITCHYARD_LEDGER;
  if (!ledgerPath) return usage("replay needs --ledger FILE (or SWITCHYARD_LEDGER)");
  const since = values.since === undefined ? undefined : durationMs(values.since);
  if (values.since !== undefined && since === undefined)
    return usage(`--since: "${values.since}" is not a duration such as 24h, 30m or 7d`);
  if (values.limit !== undefined && !/^[1-9]\d*$/.test(values.limit))
    return usage(`--limit: "${values.limit}" is not a positive whole number`);

  let policy: Awaited<ReturnType<typeof loadPolicyFile>>;
  try {
    policy = await loadPolicyFile(values.policy, env);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    process.stderr.write(
      `${values.policy}: invalid (${error.issues.length} ${error.issues.length === 1 ? "error" : "errors"})\n`,
    );
    for (const issue of error.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    return 2;
  }
  // A provider left out here (its key unset) is ineligible in the replay, as on a server without it.
  for (const warning of policy.warnings) process.stderr.write(`${values.policy}: warning: ${warning}\n`);
  const rules: ReplayRule[] = [];
  for (const text of values["fail-on"] ?? []) {
    const rule = parseRule(text, policy);
    if ("error" in rule) return usage(`--fail-on: ${rule.error}`);
    rules.push(rule);
  }

  let ledger: DecisionLedgerReader;
  try {
    ledger = openDecisionLedgerReader(ledgerPath);
  } catch (error) {
    process.stderr.write(
      `--ledger: cannot read "${ledgerPath}": ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 2;
  }
  try {
    const printed: ReturnType<typeof callJson>[] = [];
    const report = replayAll(
      ledger.entries({
        ...(values.tenant !== undefined && { tenant: values.tenant }),
        ...(values.route !== undefined && { route: values.route }),
        ...(since !== undefined && { since: new Date(Date.now() - since) }),
        ...(values.limit !== undefined && { limit: Number(values.limit) }),
      }),
      policy,
      rules,
      (call) => {
        if (call.changes.length === 0 && !values.all) return;
        if (values.json) printed.push(callJson(call));
        else process.stdout.write(`${formatCall(call)}\n`);
      },
    );
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ policy: { source: values.policy, version: policy.version }, calls: printed, ...reportJson(report) })}\n`,
      );
    else process.stdout.write(formatReport(report));
    return report.violations.length > 0 ? 1 : 0;
  } finally {
    ledger.close();
  }
}

/** `--limit maxBodyBytes=1048576` (repeatable) → ServerLimits; an error text when malformed. */
function parseLimits(specs: string[]): Partial<ServerLimits> | string {
  const limits: Partial<ServerLimits> = {};
  for (const spec of specs) {
    const [name = "", value = ""] = spec.split("=", 2);
    if (!Object.hasOwn(DEFAULT_LIMITS, name))
      return `unknown limit "${name}" (known: ${Object.keys(DEFAULT_LIMITS).join(", ")})`;
    if (!/^\d+$/.test(value)) return `${name} must be a whole number, got "${value}"`;
    limits[name as keyof ServerLimits] = Number(value);
  }
  return limits;
}

async function check(args: string[], env: ReturnType<typeof processEnvironment>): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true });
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    process.stderr.write(`check takes exactly one FILE\n${USAGE}`);
    return 2;
  }
  try {
    const policy = await loadPolicyFile(file, env);
    const routes = policy.routes.length;
    process.stdout.write(
      `${file}: valid (version ${policy.version}, ${routes} ${routes === 1 ? "route" : "routes"})\n`,
    );
    for (const warning of policy.warnings) process.stdout.write(`  warning: ${warning}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    process.stderr.write(
      `${file}: invalid (${error.issues.length} ${error.issues.length === 1 ? "error" : "errors"})\n`,
    );
    for (const issue of error.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    return 1;
  }
}

async function explain(args: string[], env: ReturnType<typeof processEnvironment>): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      request: { type: "string" },
      without: { type: "string", multiple: true },
    },
  });
  if (values.request === undefined) {
    process.stderr.write(`explain needs --request JSON\n${USAGE}`);
    return 2;
  }
  const configPath = values.config ?? env.SWITCHYARD_CONFIG ?? SHIPPED_CONFIG;
  try {
    const policy = await loadPolicyFile(configPath, env);
    const policies = createPolicyStore(policy);
    // An outage drill on paper: the named targets are out of service for this explanation.
    const health = createTargetHealth(systemClock);
    const named = new Set(namedTargets(policy).keys());
    for (const target of values.without ?? []) {
      if (!named.has(target)) {
        process.stderr.write(
          `--without: no route names target "${target}"${didYouMean(target, named)}; targets: ${[...named].join(", ")}\n`,
        );
        return 2;
      }
      health.takeOutOfService(target, "switchyard explain --without");
    }
    const pipeline = createPipeline({
      policies,
      decisions: createDecisionLog(1),
      store: createMemoryStore(),
      health,
      logger: pino({ level: "silent" }),
    });
    const request = toLlmRequest(requestFromJson(values.request));
    checkRequestLimits(request);
    const result = await pipeline.classify(request, {
      ...identifyCall(createTracing(), "switchyard explain", () => undefined, {}),
      signal: new AbortController().signal,
      // The operator explains a request as written: its tenant is taken at its word.
      caller: { kind: "in-process" },
    });
    const decision = toJson(DecisionSchema, create(DecisionSchema, toDecision(result.decision)), {
      alwaysEmitImplicit: true,
    });
    process.stdout.write(`${JSON.stringify(decision, null, 2)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
