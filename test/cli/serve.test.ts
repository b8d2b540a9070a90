import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { RouterService, type StreamResponse } from "../../gen/switchyard/v1/router_pb.js";
import { CLI_MAIN, ensureBuilt, PROJECT_NODE } from "../helpers/build.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY, UNSET_KEY_VARIABLE } from "../helpers/policies.js";
import { nextOf } from "../helpers/pushable.js";
import { createTransports, eventCases, rejectionOf, type TransportSet, userRequest } from "../helpers/rpc.js";

const READY = /^switchyard listening on (\S+):(\d+)$/m;

interface ServeProcess {
  child: ChildProcess;
  baseUrl: string;
  stderr: () => string;
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
  }
  running.clear();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `switchyard serve --port 0`, resolved once it prints its readiness line. */
async function serve(): Promise<ServeProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info" };
  delete env[UNSET_KEY_VARIABLE];
  delete env.SWITCHYARD_CONFIG;
  delete env.PORT;
  const child = spawn(PROJECT_NODE, [CLI_MAIN, "serve", "--config", policyPath, "--port", "0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const server: ServeProcess = { child, baseUrl: "", stderr: () => stderr, exited };
  running.add(server);
  const address = await new Promise<{ host: string; port: string }>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const match = READY.exec(stdout);
      if (match?.[1] && match[2]) resolve({ host: match[1], port: match[2] });
    });
    void exited.then((code) =>
      reject(new Error(`serve exited with ${code} before it was ready:\n${stderr}`)),
    );
  });
  server.baseUrl = `http://${address.host}:${address.port}`;
  return server;
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
});
