import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import { pino } from "pino";
import { RouteRequestSchema } from "../../gen/switchyard/v1/router_pb.js";
import { DecisionSchema } from "../../gen/switchyard/v1/types_pb.js";
import { startSwitchyard } from "../app.js";
import { processEnvironment } from "../config/env.js";
import { formatIssue, loadPolicyFile, PolicyError } from "../config/load-policy.js";
import { createPolicyStore } from "../config/policy-store.js";
import { createPipeline } from "../core/pipeline.js";
import { createDecisionLog } from "../record/decision-log.js";
import { toDecision } from "../server/rpc/from-domain.js";
import { toLlmRequest } from "../server/rpc/to-domain.js";
import { DEFAULT_LIMITS, type ServerLimits } from "../server/transport/server-limits.js";
import { createLogger } from "../telemetry/logger.js";
import { traceIdFrom } from "../telemetry/trace-context.js";

const USAGE = `usage:
  switchyard serve   [--config FILE] [--port N] [--host H]   serve the policy (defaults: shipped config, 127.0.0.1, 50051;
                     [--limit NAME=VALUE]...                 env SWITCHYARD_CONFIG, PORT); --limit sets a server limit,
                                                             e.g. maxBodyBytes=1048576 (see README, "Limits")
  switchyard check   FILE                                    validate a policy: exit 0 valid, 1 invalid (every error listed)
  switchyard explain [--config FILE] --request JSON          print the decision Route would take; nothing is sent
`;

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
  switch (command) {
    case "serve":
      return serve(rest, env);
    case "check":
      return check(rest, env);
    case "explain":
      return explain(rest, env);
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
      limit: { type: "string", multiple: true },
    },
  });
  const limits = parseLimits(values.limit ?? []);
  if (typeof limits === "string") {
    process.stderr.write(`--limit: ${limits}\n`);
    return 2;
  }
  const configPath = values.config ?? env.SWITCHYARD_CONFIG ?? SHIPPED_CONFIG;
  const portText = values.port ?? env.PORT ?? "50051";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: "${portText}" is not a port number (0-65535)\n`);
    return 2;
  }
  const logger = createLogger({ level: env.LOG_LEVEL ?? "info" });
  let app: Awaited<ReturnType<typeof startSwitchyard>>;
  try {
    app = await startSwitchyard({
      configPath,
      host: values.host ?? "127.0.0.1",
      port,
      env: processEnvironment,
      logger,
      reloadOnSighup: true,
      limits,
    });
  } catch (error) {
    process.stderr.write(`${error instanceof PolicyError ? error.message : String(error)}\n`);
    logger.flush();
    return 1;
  }
  // Machine-readable readiness line on stdout (tests and scripts wait for it); logs go to stderr.
  process.stdout.write(`switchyard listening on ${app.server.host}:${app.server.port}\n`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, "shutting down");
      app.stop().then(
        () => {
          logger.flush();
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          logger.flush();
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

/** `--limit maxBodyBytes=1048576` (repeatable) → ServerLimits; an error text when malformed. */
function parseLimits(specs: string[]): Partial<ServerLimits> | string {
  const limits: Partial<ServerLimits> = {};
  for (const spec of specs) {
    const [name = "", value = ""] = spec.split("=", 2);
    if (!(name in DEFAULT_LIMITS))
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
    process.stdout.write(`${file}: valid (version ${policy.version}, ${policy.routes.length} routes)\n`);
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
    options: { config: { type: "string" }, request: { type: "string" } },
  });
  if (values.request === undefined) {
    process.stderr.write(`explain needs --request JSON\n${USAGE}`);
    return 2;
  }
  const configPath = values.config ?? env.SWITCHYARD_CONFIG ?? SHIPPED_CONFIG;
  try {
    const policy = await loadPolicyFile(configPath, env);
    const policies = createPolicyStore(policy);
    const pipeline = createPipeline({
      policies,
      decisions: createDecisionLog(1),
      logger: pino({ level: "silent" }),
    });
    const request = fromJson(RouteRequestSchema, JSON.parse(values.request));
    const result = pipeline.classify(toLlmRequest(request), { traceId: traceIdFrom(undefined) });
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
