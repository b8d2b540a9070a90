import { picoUsdPerToken } from "../core/money.js";
import type {
  DataClass,
  ModelPrice,
  Policy,
  ProviderPolicy,
  RouteMatch,
  RoutePolicy,
  RouteTarget,
} from "../core/policy.js";
import { residencyRefusal } from "../guard/residency.js";
import { providerKind } from "../providers/registry.js";
import type { MissingVariable } from "./interpolate.js";
import type { PolicyDocument, ProviderDocument, RouteDocument } from "./schema.js";

export interface PolicyIssue {
  /** e.g. "routes[2].primary.model". Empty for the document as a whole. */
  path: string;
  message: string;
}

/** The vocabulary a policy gets when it declares no `data_classes`, least sensitive first. */
const BUILT_IN_DATA_CLASSES: ReadonlyArray<[string, { may_leave: boolean }]> = [
  ["public", { may_leave: true }],
  ["customer_ok", { may_leave: true }],
  ["internal", { may_leave: false }],
  ["pii", { may_leave: false }],
  ["regulated", { may_leave: false }],
  ["secret", { may_leave: false }],
];

/**
 * `routes[2].primary.model`. A key that is not a plain name is quoted with its invisible and
 * non-ASCII characters escaped, so `providers["cloud "]` cannot pass for `providers.cloud`.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${quoteKey(String(key))}]`;
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9._:/@+-]*$/;

/** A JSON-style quoted key, printable ASCII only; a long one is cut (it is only a pointer). */
function quoteKey(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 60)}...` : key;
  return JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * An unset variable is an error everywhere but in a provider's credential keys (as its kind
 * declares them), where it leaves that provider out of routing (so the shipped policy works on a
 * laptop with no keys). `kinds` maps provider names to their declared `kind:`.
 */
export function unsetVariableIssues(
  missing: MissingVariable[],
  kinds: ReadonlyMap<string, string>,
): PolicyIssue[] {
  return missing
    .filter((gap) => credentialProvider(gap, kinds) === undefined)
    .map((gap) => ({
      path: formatPath(gap.path),
      message: `environment variable ${gap.variable} is not set`,
    }));
}

/** The provider whose credential this unset variable is, if it is one. */
function credentialProvider(gap: MissingVariable, kinds: ReadonlyMap<string, string>): string | undefined {
  const [section, provider, key] = gap.path;
  if (gap.path.length !== 3 || section !== "providers") return undefined;
  const kind = kinds.get(String(provider));
  const definition = kind === undefined ? undefined : providerKind(kind);
  return definition?.credentialKeys.includes(String(key)) ? String(provider) : undefined;
}

/** Provider name → declared kind, from a raw (not yet validated) document. */
export function declaredKinds(raw: unknown): Map<string, string> {
  const kinds = new Map<string, string>();
  const providers = (raw as { providers?: unknown } | null)?.providers;
  if (typeof providers !== "object" || providers === null) return kinds;
  for (const [providerName, block] of Object.entries(providers)) {
    const kind = (block as { kind?: unknown } | null)?.kind;
    if (typeof kind === "string") kinds.set(providerName, kind);
  }
  return kinds;
}

export interface CompileInput {
  document: PolicyDocument;
  missing: MissingVariable[];
  version: string;
  source: string;
  loadedAt: Date;
}

/**
 * Resolves every reference of a schema-valid document and enforces what the schema alone
 * cannot: known providers, models and data classes; unique route names; no route after a
 * catch-all; and residency (DESIGN invariant 1): no route that can match a class which may not
 * leave the boundary names a hosted provider.
 */
export function compilePolicy(input: CompileInput): { policy?: Policy; issues: PolicyIssue[] } {
  const { document } = input;
  const issues: PolicyIssue[] = [];
  const warnings: string[] = [];

  const kinds = declaredKinds(document);
  issues.push(...unsetVariableIssues(input.missing, kinds));

  const dataClasses = compileDataClasses(document);
  const providers = new Map<string, ProviderPolicy>();
  for (const [providerName, provider] of Object.entries(document.providers)) {
    const compiled = compileProvider(providerName, provider, input.missing, kinds, issues);
    if (compiled.disabledReason)
      warnings.push(`provider "${providerName}" left out: ${compiled.disabledReason}`);
    providers.set(providerName, compiled);
  }

  for (const [key, value] of [["defaults.data_class", document.defaults.data_class]] as const) {
    if (!dataClasses.has(value)) issues.push({ path: key, message: unknownDataClass(value, dataClasses) });
  }

  const routes: RoutePolicy[] = [];
  const seenNames = new Map<string, number>();
  let catchAll: { name: string; index: number } | undefined;
  document.routes.forEach((route, index) => {
    const at = `routes[${index}]`;
    const earlier = seenNames.get(route.name);
    if (earlier !== undefined)
      issues.push({
        path: `${at}.name`,
        message: `duplicate route name "${route.name}" (also routes[${earlier}])`,
      });
    seenNames.set(route.name, index);
    if (catchAll)
      issues.push({
        path: at,
        message: `unreachable: route "${catchAll.name}" at routes[${catchAll.index}] matches every request`,
      });

    const match = compileMatch(route, at, dataClasses, issues);
    if (isCatchAll(match) && !catchAll) catchAll = { name: route.name, index };
    const targets = compileTargets(route, at, providers, issues, warnings);
    checkResidency(route, at, match, targets, providers, dataClasses, issues);
    routes.push({
      name: route.name,
      rule: describeMatch(match),
      match,
      targets,
      budgets: {
        ...(route.budgets?.max_latency_ms !== undefined && { maxLatencyMs: route.budgets.max_latency_ms }),
        ...(route.budgets?.first_token_ms !== undefined && { firstTokenMs: route.budgets.first_token_ms }),
        ...(route.budgets?.max_token_gap_ms !== undefined && {
          maxTokenGapMs: route.budgets.max_token_gap_ms,
        }),
        maxTokens: route.budgets?.max_tokens ?? "unbounded",
      },
      ...(route.degrade && { degradeAnswer: route.degrade.answer }),
    });
  });

  if (issues.length > 0) return { issues };
  return {
    issues,
    policy: {
      version: input.version,
      source: input.source,
      loadedAt: input.loadedAt,
      defaults: {
        dataClass: document.defaults.data_class,
        task: document.defaults.task,
        maxTokens: document.defaults.max_tokens,
      },
      dataClasses,
      providers,
      routes,
      logging: {
        storePrompts: document.logging.store_prompts,
        storeOutputs: document.logging.store_outputs,
        storeToolArgs: document.logging.store_tool_args,
      },
      warnings,
    },
  };
}

function compileDataClasses(document: PolicyDocument): Map<string, DataClass> {
  const declared: ReadonlyArray<[string, { may_leave: boolean; regions?: string[] }]> = document.data_classes
    ? Object.entries(document.data_classes)
    : BUILT_IN_DATA_CLASSES;
  const classes = new Map<string, DataClass>();
  declared.forEach(([className, spec], rank) => {
    const regions = spec.regions ? new Set(spec.regions) : undefined;
    classes.set(className, { name: className, rank, mayLeave: spec.may_leave, ...(regions && { regions }) });
  });
  return classes;
}

function compileProvider(
  providerName: string,
  provider: ProviderDocument,
  missing: MissingVariable[],
  kinds: ReadonlyMap<string, string>,
  issues: PolicyIssue[],
): ProviderPolicy {
  const at = `providers.${providerName}`;
  const { kind, hosted, region, runtime, models: modelDocuments, ...settings } = provider;
  const keyGap = missing.find((gap) => credentialProvider(gap, kinds) === providerName);
  const models = modelDocuments
    ? new Map<string, ModelPrice>(
        Object.entries(modelDocuments).map(([modelName, model]) => [
          modelName,
          {
            inputPicoUsdPerToken: price(
              model.input_usd_per_mtok,
              `${at}.models.${modelName}.input_usd_per_mtok`,
            ),
            outputPicoUsdPerToken: price(
              model.output_usd_per_mtok,
              `${at}.models.${modelName}.output_usd_per_mtok`,
            ),
            ...(model.context_window !== undefined && { contextWindow: model.context_window }),
          },
        ]),
      )
    : undefined;
  return {
    name: providerName,
    kind,
    hosted,
    region,
    settings,
    ...(runtime !== undefined && { runtime }),
    ...(keyGap && { disabledReason: `${keyGap.variable} is not set` }),
    ...(models && { models }),
  };

  function price(usdPerMtok: number, path: string): number {
    const exact = picoUsdPerToken(usdPerMtok);
    if (exact !== undefined) return exact;
    issues.push({ path, message: "must have at most six decimal places (a millionth of a dollar)" });
    return 0;
  }
}

function compileMatch(
  route: RouteDocument,
  at: string,
  dataClasses: ReadonlyMap<string, DataClass>,
  issues: PolicyIssue[],
): RouteMatch {
  const match = route.match;
  if (!match) return {};
  match.data_class?.forEach((className, index) => {
    if (!dataClasses.has(className))
      issues.push({
        path: `${at}.match.data_class[${index}]`,
        message: unknownDataClass(className, dataClasses),
      });
  });
  return {
    ...(match.task && { tasks: new Set(match.task) }),
    ...(match.data_class && { dataClasses: new Set(match.data_class) }),
    ...(match.tenant && { tenants: new Set(match.tenant) }),
    ...(match.labels && {
      labels: new Map(Object.entries(match.labels).map(([label, values]) => [label, new Set(values)])),
    }),
  };
}

function isCatchAll(match: RouteMatch): boolean {
  return !match.tasks && !match.dataClasses && !match.tenants && (!match.labels || match.labels.size === 0);
}

/** "task in [chat, draft] and data_class in [public]"; "any request" for a default route. */
function describeMatch(match: RouteMatch): string {
  const parts: string[] = [];
  const list = (values: ReadonlySet<string>) => `[${[...values].join(", ")}]`;
  if (match.tasks) parts.push(`task in ${list(match.tasks)}`);
  if (match.dataClasses) parts.push(`data_class in ${list(match.dataClasses)}`);
  if (match.tenants) parts.push(`tenant in ${list(match.tenants)}`);
  for (const [label, values] of match.labels ?? []) parts.push(`labels.${label} in ${list(values)}`);
  return parts.length > 0 ? parts.join(" and ") : "any request";
}

function compileTargets(
  route: RouteDocument,
  at: string,
  providers: ReadonlyMap<string, ProviderPolicy>,
  issues: PolicyIssue[],
  warnings: string[],
): RouteTarget[] {
  const targets: RouteTarget[] = [];
  const entries: Array<[string, string, RouteDocument["primary"]]> = [
    ["primary", `${at}.primary`, route.primary],
    ...route.fallback.map(
      (target, index) =>
        [`fallback[${index}]`, `${at}.fallback[${index}]`, target] as [string, string, typeof target],
    ),
  ];
  for (const [role, path, target] of entries) {
    const provider = providers.get(target.provider);
    if (!provider) {
      issues.push({
        path: `${path}.provider`,
        message: `unknown provider "${target.provider}" (declared: ${[...providers.keys()].join(", ") || "none"})`,
      });
      continue;
    }
    if (provider.models && !provider.models.has(target.model))
      issues.push({
        path: `${path}.model`,
        message: `unknown model "${target.model}" for provider "${target.provider}" (listed: ${[...provider.models.keys()].join(", ")})`,
      });
    if (!provider.models)
      warnings.push(
        `${path}: provider "${target.provider}" lists no models; cost of "${target.model}" is reported as 0`,
      );
    const declaredRuntime = provider.runtime;
    if (target.runtime !== undefined && target.runtime !== declaredRuntime)
      issues.push({
        path: `${path}.runtime`,
        message:
          declaredRuntime === undefined
            ? `"${target.runtime}" does not match provider "${target.provider}", which declares no runtime`
            : `"${target.runtime}" does not match provider "${target.provider}" runtime "${declaredRuntime}"`,
      });
    targets.push({ provider: target.provider, model: target.model, role });
  }
  return targets;
}

function checkResidency(
  route: RouteDocument,
  at: string,
  match: RouteMatch,
  targets: readonly RouteTarget[],
  providers: ReadonlyMap<string, ProviderPolicy>,
  dataClasses: ReadonlyMap<string, DataClass>,
  issues: PolicyIssue[],
): void {
  const reachable = [...dataClasses.values()].filter(
    (dataClass) => !match.dataClasses || match.dataClasses.has(dataClass.name),
  );
  for (const target of targets) {
    const provider = providers.get(target.provider);
    if (!provider?.hosted) continue;
    const refused = reachable
      .map((dataClass) => residencyRefusal(dataClass, provider))
      .filter((reason): reason is string => reason !== undefined);
    if (refused.length > 0)
      issues.push({
        path: `${at}.${target.role}`,
        message: `route "${route.name}" can match data a hosted provider may not receive: ${refused.join("; ")}`,
      });
  }
}

function unknownDataClass(className: string, dataClasses: ReadonlyMap<string, DataClass>): string {
  return `unknown data class "${className}" (declared: ${[...dataClasses.keys()].join(", ")})`;
}
