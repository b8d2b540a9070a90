import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPolicyFile } from "../../src/config/load-policy.js";
import { DEFAULT_LIMITS } from "../../src/server/transport/server-limits.js";
import {
  type ManifestFile,
  manifestFileNames,
  ofKind,
  readKustomization,
  readManifestFile,
  SECRET_EXAMPLE,
  selects,
} from "./manifests.js";

/** `--name value` or `--name=value` of an argument list (the last one wins, as parseArgs takes it). */
function flag(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, index) => {
    if (arg === `--${name}`) value = args[index + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  });
  return value;
}

/** Each `--limit NAME=VALUE` of an argument list. */
function limitsOf(args: readonly string[]): Record<string, number> {
  const limits: Record<string, number> = {};
  args.forEach((arg, index) => {
    const spec = arg === "--limit" ? args[index + 1] : arg.startsWith("--limit=") ? arg.slice(8) : undefined;
    const [name, value] = spec?.split("=", 2) ?? [];
    if (name !== undefined && value !== undefined) limits[name] = Number(value);
  });
  return limits;
}

let applied: ManifestFile[];
let secretExample: ManifestFile;

beforeAll(() => {
  applied = readKustomization().resources.map(readManifestFile);
  secretExample = readManifestFile(SECRET_EXAMPLE);
});

function theDeployment(name = "switchyard") {
  const deployment = ofKind(applied, "Deployment").find((object) => object.metadata?.name === name);
  if (!deployment) throw new Error(`no Deployment ${name}`);
  return deployment;
}

function theContainer() {
  const container = theDeployment().spec?.template.spec?.containers.find((c) => c.name === "switchyard");
  if (!container) throw new Error("no switchyard container");
  return container;
}

/** The ConfigMap's policy text, `switchyard.yaml`. */
function configMapPolicy(): string {
  const configMap = ofKind(applied, "ConfigMap").find(
    (object) => object.metadata?.name === "switchyard-policy",
  );
  const text = configMap?.data?.["switchyard.yaml"];
  if (text === undefined) throw new Error("no switchyard.yaml in ConfigMap switchyard-policy");
  return text;
}

/** The pod's environment without what comes from the Secret (its optional provider keys: those providers are left out). */
function podEnvironment(): Record<string, string> {
  return Object.fromEntries(
    (theContainer().env ?? []).flatMap((variable) =>
      variable.value === undefined ? [] : [[variable.name, variable.value]],
    ),
  );
}

/** A policy text loaded as `switchyard check` loads a file, with `env` as the environment. */
async function loadConfigMapPolicy(text: string, env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-deploy-policy-"));
  try {
    const path = join(dir, "switchyard.yaml");
    await writeFile(path, text);
    return await loadPolicyFile(path, env);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("deploy/kubernetes", () => {
  it("lists every manifest in kustomization.yaml, except the example Secret", () => {
    const { resources, namespace } = readKustomization();
    expect([...resources].sort()).toEqual(manifestFileNames().filter((name) => name !== SECRET_EXAMPLE));
    expect(ofKind(applied, "Namespace").map((object) => object.metadata?.name)).toEqual([namespace]);
  });

  it("validates every object against the Kubernetes API schemas", () => {
    const objects = [...applied, secretExample].flatMap((entry) =>
      entry.objects.map((object) => ({
        where: `${entry.file}: ${object.kind} ${object.metadata?.name}`,
        object,
      })),
    );
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const { where, object } of objects) {
      expect(() => object.validate(), where).not.toThrow();
      expect(object.metadata?.name, where).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it("catches a schema violation (the validation above is not a no-op)", () => {
    const broken = structuredClone(theDeployment().toJSON()) as { spec: Record<string, unknown> };
    broken.spec.replicas = "two";
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas must be integer/);
  });

  it("has one name per kind", () => {
    const seen = new Set<string>();
    for (const object of applied.flatMap((entry) => entry.objects)) {
      const key = `${object.kind}/${object.metadata?.name}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
    }
  });

  it("runs at least two replicas, non-root, read-only, with resources", () => {
    const deployment = theDeployment();
    const pod = deployment.spec?.template.spec;
    const container = theContainer();
    expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(2);
    expect(selects(deployment.spec?.selector.matchLabels, deployment.spec?.template.metadata?.labels)).toBe(
      true,
    );
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(pod?.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(container.resources?.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources?.limits?.memory).toBeDefined();
  });

  it("listens beyond loopback on the ports the Service and probes use", () => {
    const args = theContainer().args ?? [];
    expect(args[0]).toBe("serve");
    expect(flag(args, "host")).toBe("0.0.0.0");
    expect(flag(args, "operator-host")).toBe("0.0.0.0");
    const ports = new Map(theContainer().ports?.map((port) => [port.name, port.containerPort]));
    expect(ports.get("grpc")).toBe(Number(flag(args, "port")));
    expect(ports.get("operator")).toBe(Number(flag(args, "operator-port")));
  });

  it("binds the operator listener with SWITCHYARD_ADMIN_TOKEN from a Secret the example declares", () => {
    const token = theContainer().env?.find((variable) => variable.name === "SWITCHYARD_ADMIN_TOKEN");
    expect(token?.valueFrom?.secretKeyRef?.optional).not.toBe(true);
    const secret = ofKind([secretExample], "Secret")[0];
    expect(secret?.metadata?.name).toBe(token?.valueFrom?.secretKeyRef?.name);
    const placeholder = secret?.stringData?.SWITCHYARD_ADMIN_TOKEN ?? "";
    expect(placeholder).toMatch(/^REPLACE_ME/);
    // The server refuses a shorter token: the example must start even before it is edited.
    expect(placeholder.length).toBeGreaterThanOrEqual(16);
  });

  it("references only Secrets, keys, ConfigMaps and volumes that exist", () => {
    const pod = theDeployment().spec?.template.spec;
    const container = theContainer();
    const secrets = new Map(
      ofKind([secretExample], "Secret").map((secret) => [
        secret.metadata?.name,
        new Set(Object.keys({ ...secret.data, ...secret.stringData })),
      ]),
    );
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (!ref) continue;
      expect(secrets.has(ref.name), `${variable.name}: Secret ${ref.name}`).toBe(true);
      expect(secrets.get(ref.name)?.has(ref.key), `${variable.name}: key ${ref.key}`).toBe(true);
    }
    const configMaps = new Set(ofKind(applied, "ConfigMap").map((object) => object.metadata?.name));
    for (const volume of pod?.volumes ?? [])
      if (volume.configMap) expect(configMaps.has(volume.configMap.name), volume.name).toBe(true);
    const volumes = new Set(pod?.volumes?.map((volume) => volume.name));
    for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name), mount.name).toBe(true);
  });

  it("reads the policy from the ConfigMap mounted as a directory, so a ConfigMap update reaches the file", () => {
    const pod = theDeployment().spec?.template.spec;
    const container = theContainer();
    const config = flag(container.args ?? [], "config") ?? "";
    const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === posix.dirname(config));
    // A subPath mount is never updated by the kubelet: hot reload would silently stop working.
    expect(mount?.subPath).toBeUndefined();
    const volume = pod?.volumes?.find((candidate) => candidate.name === mount?.name);
    const configMap = ofKind(applied, "ConfigMap").find(
      (object) => object.metadata?.name === volume?.configMap?.name,
    );
    expect(Object.keys(configMap?.data ?? {})).toContain(posix.basename(config));
  });

  it("writes the decision ledger to a writable emptyDir, the root filesystem being read-only", () => {
    const pod = theDeployment().spec?.template.spec;
    const container = theContainer();
    const ledger = flag(container.args ?? [], "ledger") ?? "";
    const mount = container.volumeMounts?.find((candidate) => candidate.mountPath === posix.dirname(ledger));
    expect(mount?.readOnly).not.toBe(true);
    expect(pod?.volumes?.find((volume) => volume.name === mount?.name)?.emptyDir).toBeDefined();
  });

  it("holds a policy that `switchyard check` accepts, counting budgets in the Redis REDIS_URL names", async () => {
    const policy = await loadConfigMapPolicy(configMapPolicy(), podEnvironment());
    expect(policy.routes.length).toBeGreaterThan(0);
    expect(policy.state).toMatchObject({
      store: "redis",
      url: podEnvironment().REDIS_URL,
      onUnavailable: "closed",
    });
  });

  it("holds a commented example tenant that, uncommented, is valid too: keys from the environment, budgets, limits", async () => {
    const text = configMapPolicy();
    const lines = text.split("\n");
    const start = lines.findIndex((line) => /^# tenants:/.test(line.trim()));
    expect(start, "a commented `tenants:` block").toBeGreaterThan(0);
    // The block is the comment lines from `# tenants:` to the first line that is not a comment.
    let end = start;
    while (end < lines.length && lines[end]?.trim().startsWith("#")) end += 1;
    const uncommented = [
      ...lines.slice(0, start),
      ...lines.slice(start, end).map((line) => line.replace(/^(\s*)# ?/, "$1")),
      ...lines.slice(end),
    ].join("\n");
    const key = "placeholder-acme-key-0123456789";
    const policy = await loadConfigMapPolicy(uncommented, { ...podEnvironment(), ACME_KEY: key });
    const acme = policy.tenants.get("acme");
    expect(acme?.keys).toBe(1);
    expect(acme?.spend.usdPerDay).toBeGreaterThan(0);
    expect(acme?.rates.requestsPerMinute).toBeGreaterThan(0);
    expect(acme?.perUser.usdPerDay).toBeGreaterThan(0);
    expect(policy.auth.mode).toBe("keys");
    // The key is a variable, never written in the file.
    expect(uncommented).not.toContain(key);
  });

  it("probes grpc.health.v1 on the serving port", () => {
    const container = theContainer();
    const port = Number(flag(container.args ?? [], "port"));
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe?.grpc?.port).toBe(port);
    }
    expect(container.readinessProbe?.grpc?.service).toBe("switchyard.v1.RouterService");
  });

  it("gives a stopping pod time for the preStop pause, the whole drain and its flush before SIGKILL", () => {
    const container = theContainer();
    const drainMs = limitsOf(container.args ?? []).drainTimeoutMs ?? DEFAULT_LIMITS.drainTimeoutMs;
    const command = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(command[0]).toBe("sleep");
    const preStopMs = Number(command[1]) * 1000;
    // The listener gives finished calls up to 1 s to flush once the drain bound is reached.
    const flushMs = 1000;
    const graceMs = (theDeployment().spec?.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
    expect(graceMs).toBeGreaterThanOrEqual(preStopMs + drainMs + flushMs + 2000);
  });

  it("exposes the gRPC port as h2c and the operator port through a Service selecting only Switchyard's pods", () => {
    const service = ofKind(applied, "Service").find((object) => object.metadata?.name === "switchyard");
    const labels = theDeployment().spec?.template.metadata?.labels;
    expect(selects(service?.spec?.selector, labels)).toBe(true);
    for (const other of ofKind(applied, "Deployment").filter((object) => object !== theDeployment()))
      expect(selects(service?.spec?.selector, other.spec?.template.metadata?.labels)).toBe(false);
    const containerPorts = new Map(theContainer().ports?.map((port) => [port.name, port.containerPort]));
    const byName = new Map(service?.spec?.ports?.map((port) => [port.name, port]));
    for (const port of service?.spec?.ports ?? [])
      expect(containerPorts.has(String(port.targetPort)), `targetPort ${port.targetPort}`).toBe(true);
    expect(byName.get("grpc")?.appProtocol).toBe("kubernetes.io/h2c");
    expect(containerPorts.get(String(byName.get("grpc")?.targetPort))).toBe(
      Number(flag(theContainer().args ?? [], "port")),
    );
    expect(containerPorts.get(String(byName.get("operator")?.targetPort))).toBe(
      Number(flag(theContainer().args ?? [], "operator-port")),
    );
  });

  it("asks Prometheus to scrape /metrics on the operator port", () => {
    const annotations = theDeployment().spec?.template.metadata?.annotations;
    expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/path": "/metrics" });
    expect(Number(annotations?.["prometheus.io/port"])).toBe(
      Number(flag(theContainer().args ?? [], "operator-port")),
    );
  });

  it("keeps a replica up through voluntary disruptions and autoscales the Deployment on CPU", () => {
    const labels = theDeployment().spec?.template.metadata?.labels;
    const pdb = ofKind(applied, "PodDisruptionBudget")[0];
    expect(selects(pdb?.spec?.selector?.matchLabels, labels)).toBe(true);
    expect(pdb?.spec?.maxUnavailable).toBe(1);
    const hpa = ofKind(applied, "HorizontalPodAutoscaler")[0];
    expect(hpa?.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "switchyard",
    });
    expect(hpa?.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa?.spec?.maxReplicas).toBeGreaterThanOrEqual(hpa?.spec?.minReplicas ?? 0);
    expect(hpa?.spec?.metrics?.[0]?.resource?.name).toBe("cpu");
    // Utilization is a share of the request: without one the HPA cannot compute it.
    expect(theContainer().resources?.requests?.cpu).toBeDefined();
  });

  it("points REDIS_URL at the Redis Service, which only Switchyard's pods may reach", () => {
    const url = new URL(theContainer().env?.find((variable) => variable.name === "REDIS_URL")?.value ?? "");
    const service = ofKind(applied, "Service").find((object) => object.metadata?.name === url.hostname);
    expect(service?.spec?.ports?.map((port) => port.port)).toContain(Number(url.port));
    const redis = theDeployment(url.hostname);
    expect(selects(service?.spec?.selector, redis.spec?.template.metadata?.labels)).toBe(true);
    const policy = ofKind(applied, "NetworkPolicy").find((object) => object.metadata?.name === url.hostname);
    expect(selects(policy?.spec?.podSelector?.matchLabels, redis.spec?.template.metadata?.labels)).toBe(true);
    const allowed = policy?.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels;
    expect(selects(allowed, theDeployment().spec?.template.metadata?.labels)).toBe(true);
    expect(redis.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true);
  });

  it("keeps no key or token in the applied manifests", () => {
    for (const entry of applied) expect(ofKind([entry], "Secret"), entry.file).toEqual([]);
  });
});
