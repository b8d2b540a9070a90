import { mkdir, mkdtemp, open, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadPolicyFile, parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore } from "../../src/config/policy-store.js";
import { type PolicyReloader, watchPolicyFile } from "../../src/config/reload.js";
import type { Policy } from "../../src/core/policy.js";
import { createPipeline } from "../../src/pipeline/pipeline.js";
import { createDecisionLog } from "../../src/record/decision-log.js";
import { collect } from "../helpers/async.js";
import { call, request } from "../helpers/pipeline.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const SLOW_POLICY = `
providers:
  local:
    kind: mock
    hosted: false
    mock: { token_interval_ms: 30 }
routes:
  - name: before
    primary: { provider: local, model: old }
`;

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("policy reload", () => {
  let service: TestSwitchyard | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it("puts a valid new file in force atomically while calls in flight finish under the old one", async () => {
    service = await startTestSwitchyard(SLOW_POLICY);
    const { app } = service;
    const oldVersion = app.policies.current().version;
    const pipeline = createPipeline({
      policies: app.policies,
      decisions: createDecisionLog(),
      store: app.store,
      logger: pino({ level: "silent" }),
    });

    const inFlight = collect(pipeline.stream(request(), call()));
    await writeFile(
      service.policyPath,
      SLOW_POLICY.replace("name: before", "name: after").replace("model: old", "model: new"),
    );
    await until(() => app.policies.current().version !== oldVersion);

    const events = await inFlight;
    const done = events.at(-1);
    expect(done?.type === "done" && [done.decision.route, done.decision.policyVersion]).toEqual([
      "before",
      oldVersion,
    ]);
    const next = await pipeline.route(request(), call());
    expect(next.decision).toMatchObject({
      route: "after",
      target: "local/new",
      policyVersion: app.policies.current().version,
    });
    expect(service.logs.some((line) => line.msg === "policy reloaded")).toBe(true);
  });

  it("refuses an invalid file, logs every issue, and keeps the old policy in force", async () => {
    service = await startTestSwitchyard(MINIMAL_POLICY);
    const { app } = service;
    const version = app.policies.current().version;
    await writeFile(
      service.policyPath,
      `${MINIMAL_POLICY}\n    fallback: [{ provider: nowhere, model: x }]\n`,
    );
    await until(
      () => service?.logs.some((line) => line.msg?.toString().startsWith("policy refused")) ?? false,
    );
    const refused = service.logs.find((line) => line.msg?.toString().startsWith("policy refused"));
    expect(refused?.issues).toEqual([
      { path: "routes[0].fallback[0].provider", message: 'unknown provider "nowhere" (declared: local)' },
    ]);
    expect(app.policies.current().version).toBe(version);

    // An explicit reload (what SIGHUP triggers) of the same bad file changes nothing either.
    expect(await app.reloader.reload("test")).toBe(false);
    expect(app.policies.current().version).toBe(version);

    // Fixing the file brings the new version in.
    await writeFile(service.policyPath, MINIMAL_POLICY.replace("model: tiny", "model: small"));
    await until(() => app.policies.current().version !== version);
  });
});

describe("watchPolicyFile", () => {
  it("picks up a Kubernetes-style ConfigMap update (a swapped ..data symlink)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-configmap-"));
    const watched: { stop(): void }[] = [];
    try {
      for (const [version, model] of [
        ["v1", "tiny"],
        ["v2", "small"],
      ] as const) {
        await mkdir(join(dir, version));
        await writeFile(
          join(dir, version, "policy.yaml"),
          MINIMAL_POLICY.replace("model: tiny", `model: ${model}`),
        );
      }
      await symlink("v1", join(dir, "..data"));
      await symlink("..data/policy.yaml", join(dir, "policy.yaml"));
      const path = join(dir, "policy.yaml");
      const store = createPolicyStore(await loadPolicyFile(path, {}));
      const before = store.current().version;
      watched.push(
        watchPolicyFile({ path, store, env: () => ({}), logger: pino({ level: "silent" }), onSighup: false }),
      );

      // What the kubelet does: a new symlink, renamed over the old one.
      await symlink("v2", join(dir, "..data_tmp"));
      await rename(join(dir, "..data_tmp"), join(dir, "..data"));
      await until(() => store.current().version !== before);
      expect(store.current().routes[0]?.targets[0]?.model).toBe("small");
    } finally {
      for (const watcher of watched) watcher.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const CATCH_ALL_POLICY = `
providers:
  local:
    kind: mock
    hosted: false
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: local, model: tiny }
  - name: default
    primary: { provider: local, model: tiny }
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A log sink: every line the reloader writes, parsed. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

describe("watchPolicyFile stability", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  async function tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  it("never puts in force a file caught half-written, even when the writer pauses longer than a quiet period", async () => {
    const dir = await tempDir("switchyard-halfwrite-");
    const path = join(dir, "policy.yaml");
    await writeFile(path, MINIMAL_POLICY);
    const store = createPolicyStore(await loadPolicyFile(path, {}));
    const applied: string[][] = [];
    const watched = {
      ...store,
      replace(policy: Policy) {
        applied.push(policy.routes.map((route) => route.name));
        store.replace(policy);
      },
    };
    const reloader = watchPolicyFile({
      path,
      store: watched,
      env: () => ({}),
      logger: pino({ level: "silent" }),
      onSighup: false,
      quietMs: 50,
      settleMs: 1000,
    });
    cleanups.push(() => reloader.stop());

    // The first half is a valid policy of its own, without the catch-all route.
    const cut = CATCH_ALL_POLICY.indexOf("  - name: default");
    const [firstHalf, secondHalf] = [CATCH_ALL_POLICY.slice(0, cut), CATCH_ALL_POLICY.slice(cut)];
    expect(parsePolicy(firstHalf, { source: "half", env: {} }).routes.map((route) => route.name)).toEqual([
      "chat",
    ]);

    // A slow in-place write: truncate, write half, pause (longer than the old 100 ms debounce), finish.
    const file = await open(path, "r+");
    await file.truncate(0);
    await file.write(firstHalf, 0);
    await sleep(250);
    await file.write(secondHalf, Buffer.byteLength(firstHalf));
    await file.close();

    await until(() => store.current().routes.length === 2);
    await sleep(300);
    expect(applied).toEqual([["chat", "default"]]);
  });

  it("notices an edit to the file a symlink points at in another directory, and follows the link when it moves", async () => {
    const [linkDir, firstTargetDir, secondTargetDir] = await Promise.all([
      tempDir("switchyard-link-"),
      tempDir("switchyard-target-a-"),
      tempDir("switchyard-target-b-"),
    ]);
    await writeFile(join(firstTargetDir, "policy.yaml"), MINIMAL_POLICY);
    await writeFile(join(secondTargetDir, "policy.yaml"), MINIMAL_POLICY.replace("model: tiny", "model: b1"));
    const path = join(linkDir, "policy.yaml");
    await symlink(join(firstTargetDir, "policy.yaml"), path);
    const store = createPolicyStore(await loadPolicyFile(path, {}));
    const reloader = watchPolicyFile({
      path,
      store,
      env: () => ({}),
      logger: pino({ level: "silent" }),
      onSighup: false,
      quietMs: 20,
      settleMs: 20,
    });
    cleanups.push(() => reloader.stop());
    const model = () => store.current().routes[0]?.targets[0]?.model;

    await writeFile(join(firstTargetDir, "policy.yaml"), MINIMAL_POLICY.replace("model: tiny", "model: a2"));
    await until(() => model() === "a2");

    // The link now points into a third directory: edits there count, edits to the old target do not.
    await symlink(join(secondTargetDir, "policy.yaml"), join(linkDir, "policy.yaml.new"));
    await rename(join(linkDir, "policy.yaml.new"), path);
    await until(() => model() === "b1");
    await writeFile(join(secondTargetDir, "policy.yaml"), MINIMAL_POLICY.replace("model: tiny", "model: b2"));
    await until(() => model() === "b2");
    await writeFile(join(firstTargetDir, "policy.yaml"), MINIMAL_POLICY.replace("model: tiny", "model: a3"));
    await sleep(200);
    expect(model()).toBe("b2");
  });
});

describe("PolicyReloader.lastReload", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(): Promise<{
    path: string;
    reloader: PolicyReloader;
    lines: Array<Record<string, unknown>>;
    version: string;
  }> {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-record-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "policy.yaml");
    await writeFile(path, MINIMAL_POLICY);
    const store = createPolicyStore(await loadPolicyFile(path, {}));
    const { logger, lines } = capturingLogger();
    const reloader = watchPolicyFile({
      path,
      store,
      env: () => ({}),
      logger,
      onSighup: false,
      quietMs: 20,
      settleMs: 20,
    });
    cleanups.push(() => reloader.stop());
    return { path, reloader, lines, version: store.current().version };
  }

  it("is undefined before any reload", async () => {
    const { reloader } = await start();
    expect(reloader.lastReload()).toBeUndefined();
  });

  it("logs and records a reload of an unchanged file, on SIGHUP and on a file change", async () => {
    const { path, reloader, lines, version } = await start();
    const before = Date.now();
    expect(await reloader.reload("SIGHUP")).toBe(false);
    expect(reloader.lastReload()).toEqual({
      at: expect.any(Date),
      trigger: "SIGHUP",
      outcome: "unchanged",
      version,
      issues: [],
    });
    expect(reloader.lastReload()?.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(lines.filter((line) => line.msg === "policy unchanged")).toEqual([
      expect.objectContaining({ level: 30, trigger: "SIGHUP", version }),
    ]);

    await writeFile(path, MINIMAL_POLICY);
    await until(() =>
      lines.some((line) => line.msg === "policy unchanged" && line.trigger === "file change"),
    );
    expect(reloader.lastReload()).toMatchObject({ trigger: "file change", outcome: "unchanged", version });
  });

  it("records an applied reload with its version, and a refused one with every issue", async () => {
    const { path, reloader } = await start();
    await writeFile(path, MINIMAL_POLICY.replace("model: tiny", "model: small"));
    expect(await reloader.reload("test")).toBe(true);
    const applied = reloader.lastReload();
    expect(applied).toMatchObject({ trigger: "test", outcome: "applied", issues: [] });
    expect(applied?.version).toMatch(/^[0-9a-f]{12}$/);

    await writeFile(path, MINIMAL_POLICY.replace("model: tiny", "modle: small"));
    expect(await reloader.reload("test")).toBe(false);
    expect(reloader.lastReload()).toEqual({
      at: expect.any(Date),
      trigger: "test",
      outcome: "refused",
      issues: [
        { path: "routes[0].primary.model", message: "required" },
        { path: "routes[0].primary.modle", message: 'unknown key (did you mean "model"?)' },
      ],
    });
  });
});
