import { execFile } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { rejectionOf } from "../../helpers/async.js";
import { CLI_MAIN, PROJECT_NODE } from "../../helpers/build.js";
import { createTransports, type TransportSet, userRequest } from "../../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

// The CLI cases spawn the compiled CLI: on a busy two-core machine a spawn alone can take seconds.
vi.setConfig({ testTimeout: 60_000 });

/** ListDecisions over AdminService, and `switchyard decisions` reading it from a running server. */
let service: TestSwitchyard;
let router: TransportSet;
let operator: TransportSet;
beforeAll(async () => {
  service = await startTestSwitchyard(`
providers:
  local: { kind: mock, hosted: false, mock: { latency_ms: 0, token_interval_ms: 0 } }
routes:
  - name: code
    match: { task: code }
    primary: { provider: local, model: coder }
  - name: default
    primary: { provider: local, model: tiny }
`);
  router = createTransports(service.baseUrl);
  operator = createTransports(service.operatorUrl);
  const client = createClient(RouterService, router.get("gRPC over h2c (binary)"));
  for (const [tenant, task, user] of [
    ["acme", "chat", "ana"],
    ["globex", "chat", "ana"],
    ["acme", "code", ""],
  ])
    await client.route({ ...userRequest("hi", { task }), tenant, user });
});
afterAll(async () => {
  router.close();
  operator.close();
  await service.stop();
});

const admin = () => createClient(AdminService, operator.get("gRPC over h2c (binary)"));

describe("ListDecisions", () => {
  it("lists recorded decisions newest first, by tenant and route", async () => {
    const all = await admin().listDecisions({});
    expect(all.decisions.map((recorded) => [recorded.decision?.tenant, recorded.decision?.route])).toEqual([
      ["acme", "code"],
      ["globex", "default"],
      ["acme", "default"],
    ]);
    const acme = await admin().listDecisions({ tenant: "acme", route: "default" });
    expect(acme.decisions).toHaveLength(1);
    expect((await admin().listDecisions({ limit: 2 })).truncated).toBe(true);
  });

  it("lists one user's calls within a tenant, and needs the tenant to name a user", async () => {
    const ana = await admin().listDecisions({ tenant: "acme", user: "ana" });
    expect(ana.decisions.map((recorded) => [recorded.decision?.tenant, recorded.decision?.user])).toEqual([
      ["acme", "ana"],
    ]);
    expect(String(await rejectionOf(() => admin().listDecisions({ user: "ana" })))).toContain(
      "[invalid_argument] user: needs tenant",
    );
  });

  it("lists the calls that tried a target", async () => {
    const byTarget = async (target: string) =>
      (await admin().listDecisions({ target })).decisions.map((recorded) => recorded.decision?.tenant);
    expect(await byTarget("local/tiny")).toEqual(["globex", "acme"]);
    expect(await byTarget("local/coder")).toEqual(["acme"]);
    expect(await byTarget("local/nothing")).toEqual([]);
  });

  it("names a bad filter", async () => {
    expect(String(await rejectionOf(() => admin().listDecisions({ limit: 5000 })))).toContain(
      "limit: at most 1000",
    );
    expect(String(await rejectionOf(() => admin().listDecisions({ tenant: "acme\u202e" })))).toContain(
      "tenant:",
    );
    for (const target of ["local", "/tiny", "local/", "local/ti ny", "local/tiny\u202e"])
      expect(String(await rejectionOf(() => admin().listDecisions({ target })))).toMatch(
        /invalid_argument\] target: must be provider\/model/,
      );
  });
});

describe("switchyard decisions", () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(PROJECT_NODE, [CLI_MAIN, "decisions", ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it("prints one line a call from the running server, filtered as asked", async () => {
    const listed = await cli(["--operator", service.operatorUrl, "--tenant", "acme", "--since", "1h"]);
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\d{4}-\d{2}-\d{2}T\S+Z {2}[0-9a-f]{16} {2}tenant=acme {2}route=code {2}target=local\/coder .* ok$/,
    );
    const json = await cli(["--operator", service.operatorUrl, "--route", "default", "--json"]);
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).decision.route),
    ).toEqual(["default", "default"]);
    const coder = await cli(["--operator", service.operatorUrl, "--target", "local/coder"]);
    expect(coder.stdout.trim().split("\n")).toEqual([expect.stringContaining("target=local/coder")]);
    const ana = await cli(["--operator", service.operatorUrl, "--tenant", "acme", "--user", "ana"]);
    expect(ana.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(/ {2}tenant=acme {2}user=ana {2}route=default {2}/),
    ]);
  });

  it("refuses a malformed --since with exit 2, and says why a server refused with exit 1", async () => {
    expect((await cli(["--since", "yesterday"])).code).toBe(2);
    const refused = await cli(["--operator", service.operatorUrl, "--limit", "5000"]);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain("limit: at most 1000");
  });
});
