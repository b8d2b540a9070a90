import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { installed } from "./installed.js";
import { closedPort } from "./ports.js";

/** A real redis-server on a loopback port (nothing persisted unless asked), that a test may kill and start again. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT` (with the password, when one was set). */
  readonly url: string;
  /** Starts it (again) on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGKILL, as a crash: no shutdown, connections reset. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP: the process stays, its connections stay open, nothing answers (a hung host). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Stops it for good (for afterAll). */
  stop(): Promise<void>;
}

let binary: string | null | undefined;

/**
 * Whether redis-server is installed. Under CI=true a missing one is an error (the Redis suites
 * must run there; .ci/run installs it); elsewhere the suites are skipped, visibly.
 */
export function redisServerAvailable(): boolean {
  if (binary === undefined) binary = installed("redis-server", "redis-server");
  return binary !== null;
}

const running = new Set<ChildProcess>();
// A test process that dies without its afterAll still takes its servers with it.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startRedisServer(
  options: {
    password?: string;
    /**
     * Keep every write in an append-only file in this directory, fsynced per write, so a killed
     * server restarted on it still has its counters (as production Redis should be run).
     */
    persistIn?: string;
  } = {},
): Promise<RedisServer> {
  if (!redisServerAvailable()) throw new Error("redis-server is not installed");
  const port = await closedPort();
  let child: ChildProcess | undefined;
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""];
  if (options.persistIn === undefined) args.push("--appendonly", "no", "--dir", tmpdir());
  else args.push("--appendonly", "yes", "--appendfsync", "always", "--dir", options.persistIn);
  args.push("--logfile", "", "--loglevel", "warning");
  if (options.password !== undefined) args.push("--requirepass", options.password);

  const exited = (process: ChildProcess): Promise<void> =>
    process.exitCode !== null || process.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => process.once("exit", () => resolve()));

  const server: RedisServer = {
    port,
    url: `redis://${options.password === undefined ? "" : `:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}`,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return;
      const started = spawn(binary as string, args, { stdio: ["ignore", "ignore", "pipe"] });
      child = started;
      running.add(started);
      started.once("exit", () => running.delete(started));
      await waitForPong(port, started, options.password);
    },
    async kill() {
      if (!child) return;
      child.kill("SIGKILL");
      await exited(child);
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async stop() {
      if (!child) return;
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      await exited(child);
    },
  };
  await server.start();
  return server;
}

/** Polls until the server answers PING (AUTH first when it has a password), for at most 5 s. */
async function waitForPong(port: number, child: ChildProcess, password?: string): Promise<void> {
  const deadline = Date.now() + 5000;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${stderr}`);
    if (await pings(port, password)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not answer within 5 s: ${stderr}`);
}

function pings(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const finish = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => {
      socket.write(password === undefined ? "PING\r\n" : `AUTH ${password}\r\nPING\r\n`);
    });
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("+PONG")) finish(true);
      else if (reply.includes("-")) finish(false);
    });
  });
}
