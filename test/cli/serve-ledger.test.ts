import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { CLI_MAIN, ensureBuilt, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY } from "../helpers/policies.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process.js";

// Two whole server processes per test, on a busy two-core machine.
vi.setConfig({ testTimeout: 90_000 });

let dir: string;
let policyPath: string;
const running: ServeProcess[] = [];
const transports: TransportSet[] = [];

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "switchyard-ledger-crash-"));
  policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, FRONT_DOOR_POLICY);
}, 120_000);

afterEach(async () => {
  for (const set of transports.splice(0)) set.close();
  for (const served of running.splice(0)) {
    if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill("SIGKILL");
    await served.exited;
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `switchyard serve --ledger FILE` on free ports, once it logs `serving`. */
async function serve(ledger: string): Promise<ServeProcess> {
  const served = await startServeProcess(policyPath, ["--ledger", ledger]);
  running.push(served);
  return served;
}

describe("switchyard serve --ledger", () => {
  it("still holds, after a kill -9 and a restart, the decision of every call acknowledged before the kill", async () => {
    const ledger = join(dir, "decisions.db");
    const first = await serve(ledger);
    const firstDoor = createTransports(first.baseUrl);
    transports.push(firstDoor);
    const router = createClient(RouterService, firstDoor.get("gRPC over h2c (binary)"));

    // Calls keep going from several callers at once; the kill lands with some of them in flight.
    const acknowledged: string[] = [];
    let killed = false;
    const caller = async () => {
      while (!killed) {
        try {
          const response = await router.route(userRequest("hello"));
          expect(response.message?.content).toBe(LOCAL_REPLY);
          // Only a response that arrived before the kill was sent counts as acknowledged.
          if (!killed) acknowledged.push(response.decision?.callId ?? "");
        } catch {
          if (!killed) throw new Error("a call failed before the kill");
        }
      }
    };
    const callers = Array.from({ length: 4 }, caller);
    await vi.waitFor(() => expect(acknowledged.length).toBeGreaterThanOrEqual(60), {
      timeout: 60_000,
      interval: 5,
    });
    killed = true;
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    await Promise.all(callers);

    const second = await serve(ledger);
    const operator = createTransports(second.operatorUrl);
    transports.push(operator);
    const admin = createClient(AdminService, operator.get("Connect over HTTP/1.1 (JSON)"));
    expect(acknowledged.every((callId) => /^[0-9a-f]+$/.test(callId))).toBe(true);
    const found = await Promise.all(
      acknowledged.map(async (callId) => (await admin.getDecision({ callId })).decision?.callId),
    );
    expect(found).toEqual(acknowledged);
  });

  it.each([
    [["--ledger", "x.db", "--ledger-max-age", "7x"], /--ledger-max-age: "7x" is not a duration/],
    [["--ledger", "x.db", "--ledger-max-rows", "0"], /--ledger-max-rows: "0" is not a positive whole number/],
    [["--ledger-max-rows", "5"], /need --ledger FILE/],
  ])("refuses %j as a usage error", async (args, message) => {
    const result = await run(["serve", "--config", policyPath, "--port", "0", ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it("will not serve when the ledger cannot be opened", async () => {
    const result = await run([
      "serve",
      "--config",
      policyPath,
      "--port",
      "0",
      "--operator-port",
      "0",
      "--log-format",
      "json",
      "--ledger",
      join(dir, "no such directory", "decisions.db"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot serve");
  });
});

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SWITCHYARD_LEDGER;
  return new Promise((resolve) => {
    execFile(
      PROJECT_NODE,
      [CLI_MAIN, ...args],
      { env, cwd: PROJECT_ROOT, timeout: 30_000 },
      (error, _, stderr) => resolve({ code: typeof error?.code === "number" ? error.code : 0, stderr }),
    );
  });
}
