import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { eventually } from "../helpers/async.js";
import { CLI_MAIN, ensureBuilt, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";
import { type RedisServer, redisServerAvailable, startRedisServer } from "../helpers/redis-server.js";
import { writeConfigMapVolume } from "./configmap-volume.js";
import { ofKind, readKustomization, readManifestFile, SECRET_EXAMPLE } from "./manifests.js";

// One whole server process, started from the compiled CLI on a busy two-core machine.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The switchyard container of deploy/kubernetes run as the kubelet would run it, as far as this
 * machine can: its args (only the listen addresses made loopback and free ports, and the mount
 * paths made temporary directories), its environment (Secret values from the example), the
 * ConfigMap's files laid out in a volume as the kubelet lays them out, and a real redis-server
 * standing in for the switchyard-redis Service that REDIS_URL names (the policy keeps its state
 * there). A renamed or removed `serve` flag, a policy the server refuses, a token it rejects, a
 * probe asking for a service the health service does not know, a ConfigMap update the watcher
 * misses, a state store that never reaches Redis: each fails here.
 */
describe.skipIf(!redisServerAvailable())("the switchyard container, as deployed", () => {
  const applied = readKustomization().resources.map(readManifestFile);
  const deployment = ofKind(applied, "Deployment").find((object) => object.metadata?.name === "switchyard");
  const pod = deployment?.spec?.template.spec;
  const container = pod?.containers.find((candidate) => candidate.name === "switchyard");
  const secret = ofKind([readManifestFile(SECRET_EXAMPLE)], "Secret")[0];
  const configMap = ofKind(applied, "ConfigMap").find(
    (object) => object.metadata?.name === pod?.volumes?.find((volume) => volume.configMap)?.configMap?.name,
  );

  let root: string;
  let redis: RedisServer | undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let stderr = "";
  const logs = () =>
    stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  let serving: Record<string, unknown>;
  /** Where each volume mount of the container is on this machine. */
  const mounts = new Map<string, string>();

  beforeAll(async () => {
    await ensureBuilt();
    root = await mkdtemp(join(tmpdir(), "switchyard-pod-"));
    // Every volume starts as an empty directory, as an emptyDir does; the ConfigMap's is filled below.
    for (const mount of container?.volumeMounts ?? []) {
      mounts.set(mount.mountPath, join(root, mount.name));
      await mkdir(join(root, mount.name));
    }
    await writeConfigMapVolume(policyVolume(), configMap?.data ?? {});
    redis = await startRedisServer();

    const args = (container?.args ?? []).map((arg, index, all) => {
      const option = all[index - 1];
      if (option === "--host" || option === "--operator-host") return "127.0.0.1";
      if (option === "--port" || option === "--operator-port") return "0";
      if (option === "--config" || option === "--ledger") return onThisMachine(arg);
      return arg;
    });
    const env: NodeJS.ProcessEnv = {};
    for (const variable of container?.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      // Optional provider keys stay unset: those providers are left out, as with no key in the Secret.
      if (ref && !ref.optional) env[variable.name] = secret?.stringData?.[ref.key];
      else if (variable.value !== undefined) env[variable.name] = variable.value;
    }
    // The Service's cluster name made this machine's redis-server, as the listen addresses are
    // made loopback.
    expect(env.REDIS_URL).toMatch(/^redis:\/\/switchyard-redis:\d+$/);
    env.REDIS_URL = redis.url;
    child = spawn(PROJECT_NODE, [CLI_MAIN, ...args], {
      env,
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    exited = new Promise((resolve) => child?.once("exit", (code) => resolve(code)));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const ready = eventually(() => logs().find((line) => line.msg === "serving"), "the serving line", 30_000);
    serving = await Promise.race([
      ready,
      exited.then((code) => {
        throw new Error(`serve exited with ${code}:\n${stderr}`);
      }),
    ]);
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await redis?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** The host directory standing in for the ConfigMap volume's mount. */
  function policyVolume(): string {
    const name = pod?.volumes?.find((volume) => volume.configMap)?.name;
    const mount = container?.volumeMounts?.find((candidate) => candidate.name === name);
    return mounts.get(mount?.mountPath ?? "") ?? join(root, "missing");
  }

  /** A path inside the container as it is on this machine (under the mount that holds it). */
  function onThisMachine(path: string): string {
    for (const [mountPath, local] of mounts)
      if (path.startsWith(`${mountPath}/`)) return join(local, path.slice(mountPath.length + 1));
    throw new Error(`${path} is on no volume mount: the root filesystem is read-only`);
  }

  it("answers each probe's grpc.health.v1 check with SERVING on the serving port", async () => {
    const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${serving.port}` });
    const health = createClient(Health, transport);
    for (const probe of [container?.startupProbe, container?.livenessProbe, container?.readinessProbe]) {
      expect(probe?.grpc).toBeDefined();
      expect((await health.check({ service: probe?.grpc?.service ?? "" })).status).toBe(Status.SERVING);
    }
  });

  it("serves /metrics on the operator port to a scrape with the operator token only", async () => {
    const url = `http://127.0.0.1:${serving.operatorPort}${deployment?.spec?.template.metadata?.annotations?.["prometheus.io/path"]}`;
    expect((await fetch(url)).status).toBe(401);
    const token = secret?.stringData?.SWITCHYARD_ADMIN_TOKEN;
    const scraped = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("switchyard_");
  });

  it("keeps budgets and limits in the Redis that REDIS_URL names, and reaches it", async () => {
    expect(logs()).toContainEqual(
      expect.objectContaining({ msg: "state shared through Redis", redis: redis?.url }),
    );
    const observer = new Redis(redis?.url ?? "", { lazyConnect: true });
    try {
      await observer.connect();
      // The server's own connection, besides this one (it connects in the background).
      const deadline = Date.now() + 10_000;
      let clients = 0;
      while (clients < 2 && Date.now() < deadline) {
        clients = String(await observer.client("LIST"))
          .trim()
          .split("\n").length;
        if (clients < 2) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(clients, "Switchyard's connection, besides this one").toBeGreaterThanOrEqual(2);
    } finally {
      observer.disconnect();
    }
    expect(logs().some((line) => String(line.msg).startsWith("Redis unreachable"))).toBe(false);
  });

  it("puts each ConfigMap update in force without a restart", async () => {
    const policy = configMap?.data?.["switchyard.yaml"] ?? "";
    for (const [round, latency] of [
      [1, 29000],
      [2, 28000],
    ] as const) {
      const updated = policy.replace("max_latency_ms: 30000", `max_latency_ms: ${latency}`);
      expect(updated).not.toBe(policy);
      await writeConfigMapVolume(policyVolume(), { ...configMap?.data, "switchyard.yaml": updated });
      await eventually(
        () => logs().filter((line) => line.msg === "policy reloaded").length === round,
        `reload ${round}`,
      );
    }
  });

  it("drains on SIGTERM and exits 0 within the termination grace period", async () => {
    const started = Date.now();
    child?.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan((pod?.terminationGracePeriodSeconds ?? 30) * 1000);
    expect(logs().some((line) => line.msg === "shutting down")).toBe(true);
  });
});
