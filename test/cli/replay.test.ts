import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { CLI_MAIN, ensureBuilt, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";
import { decision, writeFirstLayout } from "../helpers/decision-log-spec.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

// Each case spawns the compiled CLI: on a busy two-core machine a spawn alone can take seconds.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The policy the server records under: public chat goes to the hosted `cloud` first, personal
 * data (declared, or an email address found) stays on `onprem`, the rest takes the default route.
 */
const POLICY = `
defaults: { data_class: internal, task: chat }
providers:
  cloud:
    kind: mock
    hosted: true
    region: us
    mock: { latency_ms: 0, token_interval_ms: 0 }
    models: { big: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 } }
  cloud_cheap:
    kind: mock
    hosted: true
    region: us
    mock: { latency_ms: 0, token_interval_ms: 0 }
    models: { small: { input_usd_per_mtok: 0.4, output_usd_per_mtok: 1.6 } }
  onprem:
    kind: mock
    hosted: false
    mock: { latency_ms: 0, token_interval_ms: 0 }
    models: { llama: { input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.1 } }
data_classes:
  public: { may_leave: true }
  internal: { may_leave: false }
  pii: { may_leave: false }
routes:
  - name: assistant
    match: { task: chat, data_class: public }
    primary: { provider: cloud, model: big }
    fallback: [{ provider: onprem, model: llama }]
  - name: private
    match: { data_class: pii }
    primary: { provider: onprem, model: llama }
  - name: default
    primary: { provider: onprem, model: llama }
detect:
  pii: { action: raise, to: pii }
`;

let dir: string;
let ledger: string;
let service: TestSwitchyard;
let router: TransportSet;
/** Call ids by name, as the server answered them. */
const ids: Record<string, string> = {};

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "switchyard-replay-"));
  ledger = join(dir, "decisions.db");
  // A call recorded by a server from before routing records: the server migrates the file.
  writeFirstLayout(ledger, [decision("0".repeat(32), { callId: "00000000000000aa", tenant: "acme" })]);
  service = await startTestSwitchyard(POLICY, { ledger });
  router = createTransports(service.baseUrl);
  const client = createClient(RouterService, router.get("gRPC over h2c (binary)"));
  const calls = {
    chat: { ...userRequest("hello", { task: "chat", dataClass: "public" }), tenant: "acme" },
    declaredPii: { ...userRequest("my file", { task: "chat", dataClass: "pii" }), tenant: "acme" },
    email: {
      ...userRequest("write to jane.doe@example.com", { task: "chat", dataClass: "public" }),
      tenant: "globex",
    },
    internal: { ...userRequest("what is on today"), tenant: "globex" },
  };
  for (const [name, request] of Object.entries(calls))
    ids[name] = (await client.route(request)).decision?.callId ?? "";
}, 120_000);

afterAll(async () => {
  router?.close();
  await service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The recorded policy with each `[from, to]` replaced, written to a file of its own. */
let policies = 0;
function policyFile(...edits: [string, string][]): string {
  let text = POLICY;
  for (const [from, to] of edits) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  policies += 1;
  const path = join(dir, `edited-${policies}.yaml`);
  writeFileSync(path, text);
  return path;
}

const PII_LEAVES: [string, string][] = [
  ["pii: { may_leave: false }", "pii: { may_leave: true }"],
  [
    "match: { data_class: pii }\n    primary: { provider: onprem, model: llama }",
    "match: { data_class: pii }\n    primary: { provider: onprem, model: llama }\n    fallback: [{ provider: cloud_cheap, model: small }]",
  ],
];

/** `switchyard replay ARGS` against the ledger the running server writes. */
function replay(args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("SWITCHYARD_LEDGER" in env)) delete childEnv.SWITCHYARD_LEDGER;
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      PROJECT_NODE,
      [CLI_MAIN, "replay", ...args],
      { env: childEnv, cwd: PROJECT_ROOT, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("switchyard replay", () => {
  it("finds nothing to change under the policy in force, and counts the call recorded before routing records", async () => {
    const result = await replay([
      "--policy",
      service.policyPath,
      "--ledger",
      ledger,
      "--fail-on",
      "hosted:pii",
    ]);
    // Only the policy's own warning (this test policy authenticates no one), as check prints it.
    expect(
      result.stderr.split("\n").filter((line) => line !== "" && !line.includes("warning: auth.mode is none")),
    ).toEqual([]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(
      "replayed 4 calls: 0 changed (route 0, eligible 0, target 0, data-class 0, cost 0, refusal 0)",
    );
    expect(lines[1]).toBe(
      "not replayable: 1 (recorded without routing inputs, by a server before replay existed)",
    );
    expect(lines[2]).toMatch(/^estimated cost: \$[\d.e-]+ before, \$[\d.e-]+ after \(\+0%\) — estimated: /);
    expect(lines.slice(3)).toEqual([""]);
  });

  it("exits 1 naming hosted:pii and the calls when pii may go to a hosted target, beside the live server", async () => {
    const result = await replay([
      "--policy",
      policyFile(...PII_LEAVES),
      "--ledger",
      ledger,
      "--fail-on",
      "hosted:pii",
      "--fail-on",
      "route-change",
    ]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split("\n");
    // Newest first: the email call (raised to pii by detection), then the declared one.
    expect(lines.slice(0, 2)).toEqual(
      [ids.email, ids.declaredPii].map(
        (callId) =>
          expect.stringMatching(
            new RegExp(
              `^${callId}  trace [0-9a-f]{32}  tenant \\w+  eligible \\[onprem/llama\\] → \\[onprem/llama, cloud_cheap/small\\]; newly eligible on a hosted provider: cloud_cheap/small$`,
            ),
          ) as unknown as string,
      ),
    );
    expect(lines[2]).toBe(
      "replayed 4 calls: 2 changed (route 0, eligible 2, target 0, data-class 0, cost 0, refusal 0)",
    );
    expect(lines.at(-1)).toBe(
      `violated: hosted:pii: pii calls become eligible for a hosted target (2: ${ids.email}, ${ids.declaredPii})`,
    );
    // The server went on writing the ledger as replay read it.
    const client = createClient(RouterService, router.get("gRPC over h2c (binary)"));
    expect((await client.route(userRequest("still here"))).decision?.route).toBe("default");
  });

  it("filters by tenant and prints every call with --all, as JSON with --json", async () => {
    const result = await replay([
      "--policy",
      policyFile(...PII_LEAVES),
      "--ledger",
      ledger,
      "--tenant",
      "acme",
      "--all",
      "--json",
      "--fail-on",
      "target-change",
    ]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      calls: Array<{
        callId: string;
        changes: string[];
        before: { target: string };
        after: { eligible: string[] };
      }>;
      totals: Record<string, unknown>;
      violations: unknown[];
    };
    expect(report.calls.map((call) => [call.callId, call.changes])).toEqual([
      [ids.declaredPii, ["eligible"]],
      [ids.chat, []],
    ]);
    expect(report.calls[0]?.after.eligible).toEqual(["onprem/llama", "cloud_cheap/small"]);
    expect(report.totals).toMatchObject({ replayed: 2, changed: 1, notReplayable: 1 });
    expect(report.totals.costNote).toMatch(/^estimated/);
    expect(report.violations).toEqual([]);
  });

  it("reports a reordered route's target and cost change, and exits 1 on target-change (cost-increase:0 holds: it got cheaper)", async () => {
    const reordered = policyFile([
      "primary: { provider: cloud, model: big }\n    fallback: [{ provider: onprem, model: llama }]",
      "primary: { provider: onprem, model: llama }\n    fallback: [{ provider: cloud, model: big }]",
    ]);
    const result = await replay(
      ["--policy", reordered, "--fail-on", "target-change", "--fail-on", "cost-increase:0"],
      { SWITCHYARD_LEDGER: ledger },
    );
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(
        `^${ids.chat}  trace [0-9a-f]{32}  tenant acme  target cloud/big → onprem/llama; est\\. cost \\$[\\d.e-]+ → \\$[\\d.e-]+$`,
      ),
    );
    expect(lines).toContain(`violated: target-change: calls get another chosen target (1: ${ids.chat})`);
    // Cheaper: the cost rule holds.
    expect(result.stdout).not.toContain("violated: cost-increase");
  });

  it("exits 2 listing every error of an invalid policy, as check does", async () => {
    const invalid = policyFile(
      ["primary: { provider: cloud, model: big }", "primary: { provider: clod, model: big }"],
      ["pii: { action: raise, to: pii }", "pii: { action: raise, to: piii }"],
    );
    const result = await replay(["--policy", invalid, "--ledger", ledger]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/invalid \(2 errors\)/);
    expect(result.stderr).toContain("routes[0].primary.provider");
    expect(result.stderr).toContain("detect.pii.to");
  });

  it.each([
    [["--fail-on", "pii-leak"], /--fail-on: unknown rule "pii-leak"/],
    [["--fail-on", "hosted:secret"], /--fail-on: rule "hosted:secret": unknown data class "secret"/],
    [["--since", "yesterday"], /--since: "yesterday" is not a duration/],
    [["--limit", "0"], /--limit: "0" is not a positive whole number/],
  ])("exits 2 on a usage error: %j", async (args, message) => {
    const result = await replay(["--policy", service.policyPath, "--ledger", ledger, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain("usage:");
  });

  it("exits 2 without a policy, without a ledger, or with a ledger that is not there", async () => {
    expect((await replay(["--ledger", ledger])).stderr).toMatch(/replay needs --policy FILE/);
    const noLedger = await replay(["--policy", service.policyPath]);
    expect(noLedger.code).toBe(2);
    expect(noLedger.stderr).toMatch(/replay needs --ledger FILE \(or SWITCHYARD_LEDGER\)/);
    const missing = await replay(["--policy", service.policyPath, "--ledger", join(dir, "nowhere.db")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--ledger: cannot read ".*nowhere\.db"/);
  });
});
