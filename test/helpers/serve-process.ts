import { type ChildProcess, spawn } from "node:child_process";
import { CLI_MAIN, PROJECT_NODE, PROJECT_ROOT } from "./build.js";
import { UNSET_KEY_VARIABLE } from "./policies.js";

/** A `switchyard serve` process started by a test. */
export interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  operatorUrl: string;
  /** Resolves with the signal or exit code once the process has exited. */
  exited: Promise<string>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its readiness line (`serving`): pid, ports, and with --workers the workers' pids. */
  serving: Record<string, unknown>;
}

/**
 * `switchyard serve --config POLICY` on free ports plus `args`, resolved once it logs `serving`
 * (the built CLI, as a user runs it; ensureBuilt first). `env` is added to this process's
 * environment, without the variables that would change what the tests expect. One process
 * (SWITCHYARD_WORKERS=1) unless `args` or `env` ask for workers.
 */
export async function startServeProcess(
  policyPath: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<ServeProcess> {
  const environment: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", SWITCHYARD_WORKERS: "1" };
  delete environment[UNSET_KEY_VARIABLE];
  delete environment.SWITCHYARD_LEDGER;
  delete environment.npm_lifecycle_event;
  for (const name of Object.keys(environment)) if (name.startsWith("OTEL_")) delete environment[name];
  Object.assign(environment, env);
  const serveArgs = [
    "serve",
    "--config",
    policyPath,
    "--port",
    "0",
    "--operator-port",
    "0",
    "--log-format",
    "json",
  ];
  const child = spawn(PROJECT_NODE, [CLI_MAIN, ...serveArgs, ...args], {
    env: environment,
    stdio: ["ignore", "ignore", "pipe"],
    cwd: PROJECT_ROOT,
  });
  let stderr = "";
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? String(code))),
  );
  const serving = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      for (const line of stderr.split("\n"))
        if (line.startsWith("{") && line.includes('"serving"')) resolve(JSON.parse(line));
    });
    void exited.then((how) => reject(new Error(`serve ended (${how}) before it was ready:\n${stderr}`)));
  });
  return {
    child,
    baseUrl: `http://${serving.host}:${serving.port}`,
    operatorUrl: `http://${serving.operatorHost}:${serving.operatorPort}`,
    exited,
    stderr: () => stderr,
    serving,
  };
}
