import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { RouterService, type StreamResponse } from "../../gen/switchyard/v1/router_pb.js";
import { eventually, rejectionOf } from "../helpers/async.js";
import { CLI_MAIN, ensureBuilt, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY, UNSET_KEY_VARIABLE } from "../helpers/policies.js";
import { nextOf } from "../helpers/pushable.js";
import { createTransports, eventCases, type TransportSet, userRequest } from "../helpers/rpc.js";

// Each test spawns the compiled CLI (a whole Node process, every module loaded) one or more times:
// on a busy two-core machine a spawn alone can take seconds.
vi.setConfig({ testTimeout: 60_000 });

interface ServeProcess {
  child: ChildProcess;
  /** The router listener. */
  baseUrl: string;
  /** The operator listener. */
  operatorUrl: string;
  /** The server's own pid (under npm, not the child's). */
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Every JSON log line written so far. */
  logs: () => Array<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

let dir: string;
let policyPath: string;
const running = new Set<ServeProcess>();

beforeAll(async () => {
  // Until test/helpers/build.ts is registered as a vitest globalSetup, build here (a no-op when fresh).
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "switchyard-serve-"));
  policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, FRONT_DOOR_POLICY);
}, 120_000);

afterEach(async () => {
  for (const server of running) {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
    await server.exited;
    if (isAlive(server.pid)) process.kill(server.pid, "SIGKILL");
  }
  running.clear();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SERVE_ARGS = ["--port", "0", "--operator-port", "0", "--log-format", "json"];

/** `switchyard serve` on free ports, resolved once it logs its readiness line ("serving"). */
function serve(): Promise<ServeProcess> {
  return start(PROJECT_NODE, [CLI_MAIN, "serve", "--config", policyPath, ...SERVE_ARGS]);
}

async function start(command: string, args: string[]): Promise<ServeProcess> {
  // One process: these specify the single server (test/cluster/ covers --workers).
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info", SWITCHYARD_WORKERS: "1" };
  delete env[UNSET_KEY_VARIABLE];
  delete env.SWITCHYARD_CONFIG;
  delete env.PORT;
  delete env.npm_lifecycle_event;
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], cwd: PROJECT_ROOT });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  const logs = () =>
    stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const serving = logs().find((line) => line.msg === "serving");
      if (serving) resolve(serving);
    });
    void exited.then((code) =>
      reject(new Error(`serve exited with ${code} before it was ready:\n${stderr}`)),
    );
  });
  const server: ServeProcess = {
    child,
    baseUrl: "",
    operatorUrl: "",
    pid: 0,
    stdout: () => stdout,
    stderr: () => stderr,
    logs,
    exited,
  };
  running.add(server);
  const serving = await ready;
  server.baseUrl = `http://${serving.host}:${serving.port}`;
  server.operatorUrl = `http://${serving.operatorHost}:${serving.operatorPort}`;
  server.pid = Number(serving.pid);
  return server;
}

function isAlive(pid: number): boolean {
  if (pid === 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("switchyard serve", () => {
  let transports: TransportSet | undefined;

  afterEach(() => {
    transports?.close();
    transports = undefined;
  });

  it("serves on the port it announces and exits 0 on SIGTERM", async () => {
    const server = await serve();
    transports = createTransports(server.baseUrl);
    const health = createClient(Health, transports.get("gRPC over h2c (binary)"));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    const router = createClient(RouterService, transports.get("Connect over HTTP/1.1 (JSON)"));
    expect((await router.route(userRequest("hello"))).message?.content).toBe(LOCAL_REPLY);

    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("on SIGTERM lets a stream in flight end with done, refuses new calls, then exits 0", async () => {
    const server = await serve();
    transports = createTransports(server.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));

    // Task slow: ten tokens 100 ms apart. Wait for the first so the call is surely in flight.
    const events: StreamResponse[] = [];
    const iterator = router.stream(userRequest("take your time", { task: "slow" }))[Symbol.asyncIterator]();
    while (!events.some((e) => e.event.case === "delta")) events.push(await nextOf(iterator));
    const rest = (async () => {
      for (let step = await iterator.next(); !step.done; step = await iterator.next())
        events.push(step.value);
    })();

    server.child.kill("SIGTERM");
    // The server is draining (refused with UNAVAILABLE) or already gone (connection refused,
    // also UNAVAILABLE): either way no new call is served. A fresh connection is used, once the
    // signal has been handled (health leaves SERVING): the signal is delivered asynchronously.
    const late = createTransports(server.baseUrl);
    try {
      const health = createClient(Health, late.get("gRPC over h2c (binary)"));
      for (let tries = 0; tries < 100; tries++) {
        const status = await health.check({ service: "" }).then(
          (answer) => answer.status,
          () => Status.NOT_SERVING,
        );
        if (status !== Status.SERVING) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const refused = ConnectError.from(
        await rejectionOf(() =>
          createClient(RouterService, late.get("Connect over HTTP/1.1 (JSON)")).route(
            userRequest("too late"),
          ),
        ),
      );
      expect(refused.code).toBe(Code.Unavailable);
    } finally {
      late.close();
    }

    await rest;
    expect(eventCases(events).at(-1)).toBe("done");
    expect(events.filter((e) => e.event.case === "delta")).toHaveLength(10);
    expect(await server.exited, server.stderr()).toBe(0);
  });

  it("writes only JSON log lines to stderr and nothing to stdout when not on a terminal", async () => {
    const server = await serve();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.stdout()).toBe("");
    const lines = server
      .stderr()
      .split("\n")
      .filter((line) => line !== "");
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(server.logs().map((line) => line.msg)).toEqual(
      expect.arrayContaining(["serving", "shutting down"]),
    );
  });

  it("drains once and exits 0 when SIGINT comes twice (Ctrl-C under npm start) and SIGHUP during the drain", async () => {
    const server = await serve();
    transports = createTransports(server.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    // Ten tokens 100 ms apart: in flight while the signals arrive.
    const inFlight = router.route(userRequest("take your time", { task: "slow" }));
    await eventually(() => server.logs().some((line) => line.msg === "serving"), "serving");
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.child.kill("SIGINT");
    server.child.kill("SIGINT");
    await eventually(() => server.logs().some((line) => line.msg === "shutting down"), "the drain");
    server.child.kill("SIGHUP");
    expect((await inFlight).message?.content).toBe("t0 t1 t2 t3 t4 t5 t6 t7 t8 t9");
    expect(await server.exited).toBe(0);
    expect(server.logs().filter((line) => line.msg === "shutting down")).toHaveLength(1);
  });

  it("logs a SIGHUP that finds the policy file unchanged", async () => {
    const server = await serve();
    server.child.kill("SIGHUP");
    await eventually(
      () => server.logs().some((line) => line.msg === "policy unchanged"),
      "the unchanged line",
    );
    expect(server.logs().find((line) => line.msg === "policy unchanged")).toMatchObject({
      trigger: "SIGHUP",
    });
  });
});

describe("npm start", () => {
  const npmStart = () =>
    start("npm", ["start", "--silent", "--ignore-scripts", "--", "--config", policyPath, ...SERVE_ARGS]);

  it("runs the server as npm's own child, so the SIGTERM npm forwards drains it", async () => {
    const server = await npmStart();
    expect(server.pid).not.toBe(server.child.pid);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.logs().some((line) => line.msg === "stopped")).toBe(true);
    expect(isAlive(server.pid)).toBe(false);
  });

  it("does not leave the server running as an orphan when npm itself dies (SIGHUP, which npm does not forward)", async () => {
    const server = await npmStart();
    server.child.kill("SIGHUP");
    await server.exited;
    await eventually(() => !isAlive(server.pid), "the server to exit after npm");
  });
});
