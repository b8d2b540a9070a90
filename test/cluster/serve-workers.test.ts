import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService, ReloadOutcome } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { ensureBuilt } from "../helpers/build.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process.js";

// Whole `serve --workers 2` process trees on a busy two-core machine.
vi.setConfig({ testTimeout: 60_000 });

const policy = (version: string) => `
# ${version}
providers:
  local:
    kind: mock
    hosted: false
    mock: { reply: "from local" }
  backup:
    kind: mock
    hosted: false
    mock: { reply: "from backup" }
routes:
  - name: chat
    primary: { provider: local, model: tiny }
    fallback:
      - { provider: backup, model: tiny }
`;

let dir: string;
let policyPath: string;
let served: ServeProcess;
let operator: TransportSet;
const managers: Http2SessionManager[] = [];
let routers: ReturnType<typeof createClient<typeof RouterService>>[];

/** The pid of the process that logged each call's decision line. */
function servedBy(): Map<string, number> {
  const pids = new Map<string, number>();
  for (const line of served.stderr().split("\n")) {
    if (!line.includes('"msg":"decision"')) continue;
    const entry = JSON.parse(line) as { callId: string; pid: number };
    pids.set(entry.callId, entry.pid);
  }
  return pids;
}

function workerPids(): number[] {
  return served.serving.workers as number[];
}

/**
 * A call on each of several connections (the primary hands connections to workers in turn), each
 * by user `ana` of tenant `acme`.
 */
async function callEach(): Promise<{ callId: string; content: string; policyVersion: string }[]> {
  return Promise.all(
    routers.map(async (router) => {
      const response = await router.route({ ...userRequest("hello"), tenant: "acme", user: "ana" });
      return {
        callId: response.decision?.callId ?? "",
        content: response.message?.content ?? "",
        policyVersion: response.decision?.policyVersion ?? "",
      };
    }),
  );
}

function connect(): void {
  for (const manager of managers.splice(0)) manager.abort();
  routers = Array.from({ length: 4 }, () => {
    const manager = new Http2SessionManager(served.baseUrl);
    managers.push(manager);
    return createClient(
      RouterService,
      createGrpcTransport({ baseUrl: served.baseUrl, sessionManager: manager }),
    );
  });
}

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "switchyard-workers-"));
  policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, policy("v1"));
  served = await startServeProcess(policyPath, ["--workers", "2"], { LOG_LEVEL: "info" });
  operator = createTransports(served.operatorUrl);
  connect();
}, 120_000);

afterAll(async () => {
  for (const manager of managers) manager.abort();
  operator?.close();
  if (served && served.child.exitCode === null && served.child.signalCode === null)
    served.child.kill("SIGKILL");
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("switchyard serve --workers 2", () => {
  const admin = () => createClient(AdminService, operator.get("Connect over HTTP/1.1 (JSON)"));

  it("says it is serving once both workers listen, on the port they share", () => {
    expect(workerPids()).toHaveLength(2);
    expect(workerPids()).not.toContain(served.child.pid);
    expect(served.serving.port).toBeGreaterThan(0);
    expect(served.serving.operatorPort).toBeGreaterThan(0);
  });

  it("answers calls in both workers, and GetDecision, GetSpend and ListTargets see each call whichever worker served it", async () => {
    const calls = [...(await callEach()), ...(await callEach())];
    expect(calls.every((call) => call.content === "from local")).toBe(true);
    await vi.waitFor(() => expect(calls.every((call) => servedBy().has(call.callId))).toBe(true));
    const pids = servedBy();
    expect(new Set(calls.map((call) => pids.get(call.callId)))).toEqual(new Set(workerPids()));
    for (const call of calls)
      expect((await admin().getDecision({ callId: call.callId })).decision?.callId).toBe(call.callId);
    const listed = await admin().listDecisions({ limit: 100 });
    expect(listed.decisions.map((entry) => entry.decision?.callId)).toEqual(
      expect.arrayContaining(calls.map((call) => call.callId)),
    );
    // GetSpend adds up every worker's calls.
    const since = timestampFromDate(new Date(Date.now() - 3_600_000));
    const spend = await admin().getSpend({ since });
    expect(spend.calls).toBe(BigInt(listed.decisions.length));
    // And one user's, on every worker.
    const ana = await admin().getSpend({ tenant: "acme", user: "ana", since });
    expect(ana.calls).toBe(BigInt(listed.decisions.filter((entry) => entry.decision?.user === "ana").length));
    expect(ana.calls).toBeGreaterThanOrEqual(BigInt(calls.length));
    const byUser = await admin().listDecisions({ tenant: "acme", user: "ana", limit: 100 });
    expect(byUser.decisions.map((entry) => entry.decision?.callId)).toEqual(
      expect.arrayContaining(calls.map((call) => call.callId)),
    );
    // ListTargets takes latency percentiles over every worker's answers together.
    const { targets } = await admin().listTargets({});
    const local = targets.find((target) => target.target === "local/tiny");
    expect(local?.firstToken?.samples).toBe(calls.length);
    expect(local?.attempt?.samples).toBe(calls.length);
  });

  it("replays a candidate policy over every worker's calls (ReplayPolicy)", async () => {
    const calls = [...(await callEach()), ...(await callEach())];
    await vi.waitFor(() => expect(calls.every((call) => servedBy().has(call.callId))).toBe(true));
    expect(new Set(calls.map((call) => servedBy().get(call.callId)))).toEqual(new Set(workerPids()));
    const listed = await admin().listDecisions({ limit: 1000 });
    const swapped = policy("candidate").replace(
      "primary: { provider: local, model: tiny }\n    fallback:\n      - { provider: backup, model: tiny }",
      "primary: { provider: backup, model: tiny }\n    fallback:\n      - { provider: local, model: tiny }",
    );
    expect(swapped).toContain("primary: { provider: backup");
    const replayed = await admin().replayPolicy({ policyYaml: swapped, failOn: ["target-change"] });
    expect(replayed.valid).toBe(true);
    expect(replayed.totals?.replayed).toBe(BigInt(listed.decisions.length));
    expect(replayed.calls.map((call) => call.callId)).toEqual(
      expect.arrayContaining(calls.map((call) => call.callId)),
    );
    expect(replayed.violations[0]?.callIds).toEqual(expect.arrayContaining(calls.map((call) => call.callId)));
  });

  it("serves /metrics from the operator port with every worker's calls summed", async () => {
    const before = await callsCounted();
    const calls = await callEach();
    const text = await (await fetch(`${served.operatorUrl}/metrics`)).text();
    expect(await callsCounted()).toBe(before + calls.length);
    expect(text).toMatch(/^switchyard_workers 2$/m);

    async function callsCounted(): Promise<number> {
      const metrics = await (await fetch(`${served.operatorUrl}/metrics`)).text();
      return [...metrics.matchAll(/^switchyard_calls_total\{[^}]*\} (\d+)$/gm)].reduce(
        (sum, match) => sum + Number(match[1]),
        0,
      );
    }
  });

  it("takes a target out of service in every worker, and returns it to all of them", async () => {
    await admin().takeTargetOutOfService({ target: "local/tiny", reason: "drill" });
    const drilled = [...(await callEach()), ...(await callEach())];
    expect(drilled.map((call) => call.content)).toEqual(drilled.map(() => "from backup"));
    await vi.waitFor(() => expect(drilled.every((call) => servedBy().has(call.callId))).toBe(true));
    expect(new Set(drilled.map((call) => servedBy().get(call.callId)))).toEqual(new Set(workerPids()));
    const listed = await admin().listTargets({});
    expect(listed.targets.find((target) => target.target === "local/tiny")?.reason).toBe(
      "out of service: drill",
    );

    expect((await admin().returnTargetToService({ target: "local/tiny" })).wasOutOfService).toBe(true);
    const returned = await callEach();
    expect(returned.map((call) => call.content)).toEqual(returned.map(() => "from local"));
  });

  it("reloads in every worker on SIGHUP, and refuses an invalid policy the same way everywhere", async () => {
    const before = (await admin().getPolicy({})).version;
    await writeFile(policyPath, policy("v2"));
    served.child.kill("SIGHUP");
    await vi.waitFor(async () => expect((await admin().getPolicy({})).version).not.toBe(before), {
      timeout: 10_000,
    });
    const applied = await admin().getPolicy({});
    expect(applied.lastReload?.outcome).toBe(ReloadOutcome.APPLIED);
    await vi.waitFor(async () => {
      const calls = [...(await callEach()), ...(await callEach())];
      expect(new Set(calls.map((call) => call.policyVersion))).toEqual(new Set([applied.version]));
      expect(new Set(calls.map((call) => servedBy().get(call.callId)))).toEqual(new Set(workerPids()));
    });

    await writeFile(
      policyPath,
      `${policy("v3")}  - name: broken\n    primary: { provider: nowhere, model: x }\n`,
    );
    served.child.kill("SIGHUP");
    await vi.waitFor(
      async () => expect((await admin().getPolicy({})).lastReload?.outcome).toBe(ReloadOutcome.REFUSED),
      { timeout: 10_000 },
    );
    expect((await admin().getPolicy({})).version).toBe(applied.version);
    const calls = [...(await callEach()), ...(await callEach())];
    expect(new Set(calls.map((call) => call.policyVersion))).toEqual(new Set([applied.version]));
  });

  it("replaces a worker that was killed, which starts on the policy in force", async () => {
    const [victim] = workerPids();
    process.kill(victim as number, "SIGKILL");
    await vi.waitFor(
      () => {
        const replaced = served
          .stderr()
          .split("\n")
          .filter((line) => line.includes('"msg":"worker listening"'));
        expect(replaced.length).toBeGreaterThanOrEqual(3);
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(served.stderr()).toContain('"msg":"worker exited unasked; replacing it"');
    connect();
    const metrics = await (await fetch(`${served.operatorUrl}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_worker_restarts_total 1$/m);
    const calls = [...(await callEach()), ...(await callEach())];
    await vi.waitFor(() => expect(calls.every((call) => servedBy().has(call.callId))).toBe(true));
    const pids = new Set(calls.map((call) => servedBy().get(call.callId)));
    expect(pids.size).toBe(2);
    expect(pids.has(victim)).toBe(false);
    // The replacement started from the primary's text (the file on disk is the refused one).
    expect(new Set(calls.map((call) => call.policyVersion)).size).toBe(1);
  });

  it("drains every worker on SIGTERM and exits 0", async () => {
    // Settled as they end (some are refused by the drain): none is left rejected unhandled.
    const slow = Promise.allSettled(routers.map((router) => router.route(userRequest("hello"))));
    served.child.kill("SIGTERM");
    expect(await served.exited).toBe("0");
    await slow;
    for (const line of served
      .stderr()
      .split("\n")
      .filter((entry) => entry.includes('"msg":"stopped"')))
      expect(line).toContain('"listener"');
    expect(served.stderr().match(/"listener":"router","msg":"stopped"/g)).toHaveLength(2);
  });
});

describe("switchyard serve --workers 2 --ledger", () => {
  it("writes every worker's decisions to the one ledger file, where GetDecision finds them", async () => {
    await writeFile(policyPath, policy("v1"));
    const ledgerServed = await startServeProcess(
      policyPath,
      ["--workers", "2", "--ledger", join(dir, "d.db")],
      {
        LOG_LEVEL: "info",
      },
    );
    served = ledgerServed;
    const ledgerOperator = createTransports(ledgerServed.operatorUrl);
    try {
      connect();
      const calls = [...(await callEach()), ...(await callEach()), ...(await callEach())];
      await vi.waitFor(() => expect(calls.every((call) => servedBy().has(call.callId))).toBe(true));
      expect(new Set(calls.map((call) => servedBy().get(call.callId)))).toEqual(new Set(workerPids()));
      const admin = createClient(AdminService, ledgerOperator.get("Connect over HTTP/1.1 (JSON)"));
      for (const call of calls)
        expect((await admin.getDecision({ callId: call.callId })).decision?.callId).toBe(call.callId);
      const spend = await admin.getSpend({ since: timestampFromDate(new Date(Date.now() - 3_600_000)) });
      expect(spend.calls).toBe(BigInt(calls.length));
      ledgerServed.child.kill("SIGTERM");
      expect(await ledgerServed.exited).toBe("0");
    } finally {
      ledgerOperator.close();
    }
  });

  it("refuses a --workers that is not a number of processes as a usage error", async () => {
    await expect(startServeProcess(policyPath, ["--workers", "0"])).rejects.toThrow(/--workers: "0" is not/);
  });
});
