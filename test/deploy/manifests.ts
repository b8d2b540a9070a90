import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { PROJECT_ROOT } from "../helpers/build.js";

/** deploy/kubernetes: what `kubectl apply -k` reads. */
export const MANIFEST_DIR = join(PROJECT_ROOT, "deploy", "kubernetes");
/** The example Secret: documented, not applied (it would overwrite the real one). */
export const SECRET_EXAMPLE = "secret.example.yaml";

/** The kinds these manifests use, each with the kubernetes-models class that validates it. */
const MODELS = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
} as const;

export type Manifest = InstanceType<(typeof MODELS)[keyof typeof MODELS]>;

export interface ManifestFile {
  file: string;
  objects: Manifest[];
}

/** Every YAML document of a file as its typed model (not yet validated); throws on YAML errors. */
export function readManifestFile(file: string): ManifestFile {
  const documents = parseAllDocuments(readFileSync(join(MANIFEST_DIR, file), "utf8"));
  if (!Array.isArray(documents)) throw new Error(`${file}: not a YAML stream`);
  const objects: Manifest[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
    const data = document.toJS() as { apiVersion?: unknown; kind?: unknown } | null;
    if (data === null) continue;
    objects.push(toModel(`${file}`, data));
  }
  return { file, objects };
}

export function toModel(where: string, data: { apiVersion?: unknown; kind?: unknown }): Manifest {
  const key = `${String(data.apiVersion)}/${String(data.kind)}`;
  if (!Object.hasOwn(MODELS, key)) throw new Error(`${where}: no schema for ${key}`);
  const Model = MODELS[key as keyof typeof MODELS];
  // The data is whatever the YAML said; validate() is what checks it against the schema.
  return new Model(data as never);
}

/** The kustomization's `resources` and namespace, as written. */
export function readKustomization(): { namespace?: string; resources: string[] } {
  const documents = parseAllDocuments(readFileSync(join(MANIFEST_DIR, "kustomization.yaml"), "utf8"));
  const first = Array.isArray(documents) ? documents[0] : undefined;
  return (first?.toJS() ?? { resources: [] }) as { namespace?: string; resources: string[] };
}

/** The YAML files in deploy/kubernetes other than the kustomization itself. */
export function manifestFileNames(): string[] {
  return readdirSync(MANIFEST_DIR)
    .filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml")
    .sort();
}

/** Every object of the given kind across the files. */
export function ofKind<K extends Manifest["kind"]>(
  files: ManifestFile[],
  kind: K,
): Array<Extract<Manifest, { kind: K }>> {
  return files.flatMap((entry) =>
    entry.objects.filter((object): object is Extract<Manifest, { kind: K }> => object.kind === kind),
  );
}

/** True when every key of `selector` is a label of `labels` with the same value. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}
