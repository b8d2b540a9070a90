import { picoUsdPerToken } from "../core/money.js";
import type {
  BreakerSettings,
  DataClass,
  ModelPrice,
  Policy,
  ProviderPolicy,
  RouteMatch,
  RoutePolicy,
  StatePolicy,
} from "../core/policy.js";
import type { TargetRef } from "../core/types.js";
import { residencyRefusal } from "../guard/residency.js";
import { DEFAULT_BREAKER } from "../health/breaker.js";
import { type ListedPrice, listedPrice, type PriceList } from "../providers/price-list.js";
import { providerKind } from "../providers/registry.js";
import { compileAuth, isTenantKey, type WrittenKeys } from "./compile-auth.js";
import { compileGovernance } from "./compile-governance.js";
import { compileTenants } from "./compile-tenants.js";
import type { MissingVariable } from "./interpolate.js";
import { formatPath, type PathIssue } from "./read-yaml.js";
import type { ModelDocument } from "./schema.js";
import {
  type BreakerDocument,
  identifierProblem,
  type MatchDocument,
  type ProviderDocument,
  type RouteDocument,
  retrySchema,
} from "./schema.js";
import { type CheckedDocument, type CheckedRoute, hint } from "./validate-policy.js";

type Path = (string | number)[];

/** An issue as operators see it (load-policy formats PathIssues into these). */
export interface PolicyIssue {
  /** e.g. "routes[2].primary.model"; a line and column for a YAML syntax error. Empty for the document as a whole. */
  path: string;
  /** Never contains a value from the file that could be a secret (an api key). */
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
 * An unset variable is an error everywhere but in a provider's credential keys (as its kind
 * declares them), where it leaves that provider out of routing (so the shipped policy works on a
 * laptop with no keys), and in a tenant's keys, where it leaves that key out. `kinds` maps
 * provider names to their declared `kind:`.
 */
export function unsetVariableIssues(
  missing: readonly MissingVariable[],
  kinds: ReadonlyMap<string, string>,
): PathIssue[] {
  return missing
    .filter((gap) => credentialProvider(gap, kinds) === undefined && !isTenantKey(gap))
    .map((gap) => ({ path: gap.path, message: `environment variable ${gap.variable} is not set` }));
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
  /** The document as far as it parsed (validate-policy.ts). */
  document: CheckedDocument;
  missing: MissingVariable[];
  /** Provider name → declared kind (declaredKinds), to tell credentials from other variables. */
  kinds: ReadonlyMap<string, string>;
  /** How each tenant key was written, before interpolation (compile-auth.ts writtenKeys). */
  writtenKeys: WrittenKeys;
  version: string;
  source: string;
  loadedAt: Date;
}

/** What a reference may name. */
interface Names {
  /**
   * Every name declared, in file order, including those whose block was refused (already
   * reported: a reference to one is not an error of its own).
   */
  declared: readonly string[];
  /** False when the section could not be read: no reference into it is checked. */
  complete: boolean;
}

/**
 * Resolves every reference of the document as far as it parsed, and enforces what the schema
 * alone cannot: known providers, models and data classes; runtimes that agree; unique route
 * names; no route after a catch-all; and residency (DESIGN invariant 1): no route that can match
 * a class which may not leave the boundary (or its regions) names a hosted provider (or one
 * elsewhere). A reference to a block that was itself refused is not reported again. Returns a
 * policy only when the document is complete and no issue was found.
 */
export function compilePolicy(input: CompileInput): { policy?: Policy; issues: PathIssue[] } {
  const { document } = input;
  const issues: PathIssue[] = [...unsetVariableIssues(input.missing, input.kinds)];
  const warnings: string[] = [];

  const dataClasses = compileDataClasses(document);
  const classNames: Names = document.dataClasses ?? { declared: [...dataClasses.keys()], complete: true };
  const providers = new Map<string, CompiledProvider>();
  for (const [providerName, provider] of document.providers.valid) {
    const compiled = compileProvider(providerName, provider, input, issues);
    if (compiled.disabledReason)
      warnings.push(`provider "${providerName}" left out: ${compiled.disabledReason}`);
    providers.set(providerName, compiled);
  }

  const defaultClass = document.defaults.fields.data_class;
  const defaultProblem =
    defaultClass === undefined ? undefined : unknownName("data class", defaultClass, classNames);
  if (defaultProblem)
    issues.push({
      path: ["defaults", "data_class"],
      // Said differently when the file never wrote the key: the operator would look for it in vain.
      message: document.defaultsWritten.has("data_class")
        ? defaultProblem
        : `the default data class "${defaultClass}" is not declared (declared: ${declaredList(classNames)}); declare it or set defaults.data_class`,
    });

  const routes: RoutePolicy[] = [];
  const seenNames = new Map<string, number>();
  const breakers = new Map<string, { settings: BreakerSettings; route: string }>();
  let catchAll: { name?: string; index: number } | undefined;
  for (const checked of document.routes) {
    const at = checked.path;
    if (checked.name !== undefined) {
      const earlier = seenNames.get(checked.name);
      if (earlier !== undefined)
        issues.push({
          path: [...at, "name"],
          message: `duplicate route name "${checked.name}" (also routes[${earlier}])`,
        });
      else seenNames.set(checked.name, checked.index);
    }
    if (catchAll)
      issues.push({
        path: at,
        message: `unreachable: ${catchAll.name === undefined ? "the route" : `route "${catchAll.name}"`} at routes[${catchAll.index}] matches every request`,
      });

    checkMatchReferences(checked, classNames, issues);
    const match = compileMatch(checked.match.fields);
    if (checked.match.whole && isCatchAll(match) && !catchAll)
      catchAll = { ...(checked.name !== undefined && { name: checked.name }), index: checked.index };
    const targets = compileTargets(checked, providers, document.providers, issues, warnings);
    // Which classes the route can match is known when its data_class list parsed (or is absent).
    if (!checked.match.invalid.has("data_class"))
      issues.push(...residencyIssues(checked, match, targets, providers, dataClasses));
    if (checked.route) {
      const route = compileRoute(checked.route, match, targets, providers);
      issues.push(...breakerConflicts(route, checked, breakers));
      // A key that could never act is refused rather than silently ignored.
      if (
        route.resumeOnFallback &&
        !route.targets.slice(1).some((target) => providers.get(target.provider)?.continuesAnswers)
      )
        issues.push({
          path: [...checked.path, "resume_on_fallback"],
          message:
            "no fallback of this route can continue a partial answer (kind mock can; openai-compatible needs openai.assistant_prefix: vllm)",
        });
      routes.push(route);
    }
  }

  const governance = compileGovernance(document, dataClasses, classNames.complete, issues);
  const { whole: defaults } = document.defaults;
  const state = compileState(document);
  const { auth, keyCounts } = compileAuth(document, input.writtenKeys, input.missing, issues, warnings);
  const tenants = compileTenants(document, routes, keyCounts, issues);
  if (!document.complete || issues.length > 0 || !defaults || !governance || !state) return { issues };
  return {
    issues,
    policy: {
      version: input.version,
      source: input.source,
      loadedAt: input.loadedAt,
      defaults: {
        dataClass: defaults.data_class,
        task: defaults.task,
        inferTask: defaults.infer_task,
        maxTokens: defaults.max_tokens,
      },
      dataClasses,
      providers,
      routes,
      ...governance,
      state,
      auth,
      tenants,
      warnings,
    },
  };
}

/** `state:` as the store factory takes it; undefined when it did not parse (already reported). */
function compileState(document: CheckedDocument): StatePolicy | undefined {
  const { state } = document;
  if (!state) return undefined;
  if (state.store === "memory") return { store: "memory" };
  // The schema requires `redis` with store: redis; a url left unset by its variable is reported there.
  if (!state.redis) return undefined;
  return {
    store: "redis",
    url: state.redis.url,
    keyPrefix: state.redis.key_prefix,
    commandTimeoutMs: state.redis.command_timeout_ms,
    onUnavailable: state.on_unavailable,
  };
}

/** The declared classes that parsed (or the built-in ones), ranked in file order. */
function compileDataClasses(document: CheckedDocument): Map<string, DataClass> {
  const declared: ReadonlyArray<[string, { may_leave: boolean; regions?: string[] }]> = document.dataClasses
    ? [...document.dataClasses.valid]
    : BUILT_IN_DATA_CLASSES;
  const classes = new Map<string, DataClass>();
  declared.forEach(([className, spec], rank) => {
    const regions = spec.regions ? new Set(spec.regions) : undefined;
    classes.set(className, { name: className, rank, mayLeave: spec.may_leave, ...(regions && { regions }) });
  });
  return classes;
}

/** A provider while the policy compiles: the prices of the models its routes name are added as they are placed. */
type CompiledProvider = ProviderPolicy & { prices: Map<string, ModelPrice> };

function compileProvider(
  providerName: string,
  provider: ProviderDocument,
  input: CompileInput,
  issues: PathIssue[],
): CompiledProvider {
  const at = ["providers", providerName];
  const { kind, hosted, region, runtime, models: modelDocuments, breaker, ...settings } = provider;
  const keyGap = input.missing.find((gap) => credentialProvider(gap, input.kinds) === providerName);
  const regionProblem = keyGap ? undefined : providerKind(kind)?.regionProblem?.(region);
  if (regionProblem) issues.push({ path: [...at, "region"], message: regionProblem });
  const models = modelDocuments
    ? new Map(
        Object.entries(modelDocuments).map(([modelName, model]) => [
          modelName,
          declaredPrice(model, [...at, "models", modelName]),
        ]),
      )
    : undefined;
  const prices = new Map<string, ModelPrice>();
  for (const [modelName, declared] of models ?? []) if (declared) prices.set(modelName, declared);
  return {
    name: providerName,
    kind,
    hosted,
    region,
    settings,
    breaker: breakerSettings(DEFAULT_BREAKER, breaker),
    continuesAnswers: providerKind(kind)?.continuesAnswers(settings) ?? false,
    takesImageUrls: providerKind(kind)?.takesImageUrls ?? false,
    ...(runtime !== undefined && { runtime }),
    ...(keyGap && { disabledReason: `${keyGap.variable} is not set` }),
    ...(models && { models }),
    prices,
  };

  /** The policy's price for a model, when it gives one (any price key written). */
  function declaredPrice(model: ModelDocument, path: Path): ModelPrice | undefined {
    const {
      input_usd_per_mtok: input,
      output_usd_per_mtok: output,
      cached_input_usd_per_mtok: cached,
      cache_write_usd_per_mtok: write,
      context_window: contextWindow,
    } = model;
    if (input === undefined && output === undefined && cached === undefined && write === undefined)
      return undefined;
    return {
      inputPicoUsdPerToken: price(input ?? 0, [...path, "input_usd_per_mtok"]),
      outputPicoUsdPerToken: price(output ?? 0, [...path, "output_usd_per_mtok"]),
      ...(cached !== undefined && {
        cachedInputPicoUsdPerToken: price(cached, [...path, "cached_input_usd_per_mtok"]),
      }),
      ...(write !== undefined && {
        cacheWritePicoUsdPerToken: price(write, [...path, "cache_write_usd_per_mtok"]),
      }),
      ...(contextWindow !== undefined && { contextWindow }),
      source: "policy",
    };
  }

  function price(usdPerMtok: number, path: Path): number {
    const exact = picoUsdPerToken(usdPerMtok);
    if (exact !== undefined) return exact;
    issues.push({ path, message: "must have at most six decimal places (a millionth of a dollar)" });
    return 0;
  }
}

function checkMatchReferences(checked: CheckedRoute, classNames: Names, issues: PathIssue[]): void {
  checked.match.fields.data_class?.forEach((className, index) => {
    const problem = unknownName("data class", className, classNames);
    if (problem) issues.push({ path: [...checked.path, "match", "data_class", index], message: problem });
  });
}

/** The route's match as far as it parsed (only used whole when it all did). */
function compileMatch(match: Partial<MatchDocument>): RouteMatch {
  return {
    ...(match.task && { tasks: new Set(match.task) }),
    ...(match.data_class && { dataClasses: new Set(match.data_class) }),
    ...(match.tenant && { tenants: new Set(match.tenant) }),
    ...(match.labels && {
      labels: new Map(Object.entries(match.labels).map(([label, values]) => [label, new Set(values)])),
    }),
    ...(match.model && { models: new Set(match.model) }),
  };
}

function isCatchAll(match: RouteMatch): boolean {
  return (
    !match.tasks &&
    !match.dataClasses &&
    !match.tenants &&
    !match.models &&
    (!match.labels || match.labels.size === 0)
  );
}

/** "task in [chat, draft] and data_class in [public]"; "any request" for a default route. */
function describeMatch(match: RouteMatch): string {
  const parts: string[] = [];
  const list = (values: ReadonlySet<string>) => `[${[...values].join(", ")}]`;
  if (match.tasks) parts.push(`task in ${list(match.tasks)}`);
  if (match.dataClasses) parts.push(`data_class in ${list(match.dataClasses)}`);
  if (match.tenants) parts.push(`tenant in ${list(match.tenants)}`);
  for (const [label, values] of match.labels ?? []) parts.push(`labels.${label} in ${list(values)}`);
  if (match.models) parts.push(`model in ${list(match.models)}`);
  return parts.length > 0 ? parts.join(" and ") : "any request";
}

interface PlacedTarget extends TargetRef {
  role: string;
  path: Path;
  weight?: number;
}

/** The targets whose provider and model resolve, each checked against its provider. */
function compileTargets(
  checked: CheckedRoute,
  providers: ReadonlyMap<string, CompiledProvider>,
  providerNames: Names,
  issues: PathIssue[],
  warnings: string[],
): PlacedTarget[] {
  const targets: PlacedTarget[] = [];
  for (const { role, path, target, weight } of checked.targets) {
    const { provider: providerName, model, runtime } = target.fields;
    if (providerName === undefined) continue;
    const provider = providers.get(providerName);
    if (!provider) {
      const problem = unknownName("provider", providerName, providerNames);
      if (problem) issues.push({ path: [...path, "provider"], message: problem });
      continue;
    }
    if (runtime !== undefined && runtime !== provider.runtime)
      issues.push({
        path: [...path, "runtime"],
        message:
          provider.runtime === undefined
            ? `"${runtime}" does not match provider "${providerName}", which declares no runtime`
            : `"${runtime}" does not match provider "${providerName}" runtime "${provider.runtime}"`,
      });
    if (model === undefined) continue;
    if (provider.models && !provider.models.has(model)) {
      const suggestion = hint(model, provider.models.keys());
      issues.push({
        path: [...path, "model"],
        message: `unknown model "${model}" for provider "${providerName}" (${suggestion}listed: ${[...provider.models.keys()].join(", ")})`,
      });
    }
    if (!provider.prices.has(model)) {
      const table = providerKind(provider.kind)?.prices;
      const listed = table && listedPrice(table, model);
      if (table && listed) provider.prices.set(model, fromListedPrice(listed, table));
      else
        warnings.push(
          `${formatPath(path)}: no price for "${model}" on provider "${providerName}" in the policy${table ? ` or the built-in ${provider.kind} price table` : ""}; its cost is reported as 0`,
        );
    }
    targets.push({ provider: providerName, model, role, path, ...(weight !== undefined && { weight }) });
  }
  return targets;
}

/**
 * One issue per (route, hosted provider) the route can send refused data to, naming the classes
 * once each, at the provider's first target. Whether a class is refused is the one residency rule
 * (guard/residency.ts); the wording groups classes by the rule that refused them.
 */
function residencyIssues(
  checked: CheckedRoute,
  match: RouteMatch,
  targets: readonly PlacedTarget[],
  providers: ReadonlyMap<string, ProviderPolicy>,
  dataClasses: ReadonlyMap<string, DataClass>,
): PathIssue[] {
  const reachable = [...dataClasses.values()].filter(
    (dataClass) => !match.dataClasses || match.dataClasses.has(dataClass.name),
  );
  const firstTarget = new Map<string, Path>();
  for (const target of targets)
    if (!firstTarget.has(target.provider)) firstTarget.set(target.provider, target.path);
  const issues: PathIssue[] = [];
  for (const [providerName, path] of firstTarget) {
    const provider = providers.get(providerName);
    if (!provider?.hosted) continue;
    const refused = reachable.filter((dataClass) => residencyRefusal(dataClass, provider) !== undefined);
    if (refused.length === 0) continue;
    const clauses: string[] = [];
    const mayNotLeave = refused.filter((dataClass) => !dataClass.mayLeave);
    if (mayNotLeave.length > 0)
      clauses.push(
        `${classList(mayNotLeave)}, which may not leave the boundary, and provider "${providerName}" is hosted`,
      );
    const byRegions = new Map<string, DataClass[]>();
    for (const dataClass of refused.filter((refusedClass) => refusedClass.mayLeave)) {
      const regions = [...(dataClass.regions ?? [])].join(", ");
      byRegions.set(regions, [...(byRegions.get(regions) ?? []), dataClass]);
    }
    const where = provider.region === "" ? "declares no region" : `is in region "${provider.region}"`;
    for (const [regions, group] of byRegions)
      clauses.push(
        `${classList(group)}, which may only go to regions [${regions}], and provider "${providerName}" ${where}`,
      );
    const route = checked.name === undefined ? "this route" : `route "${checked.name}"`;
    issues.push({ path, message: `${route} can match ${clauses.join("; it can also match ")}` });
  }
  return issues;
}

function classList(classes: readonly DataClass[]): string {
  return `data class${classes.length > 1 ? "es" : ""} ${classes.map((dataClass) => dataClass.name).join(", ")}`;
}

function compileRoute(
  route: RouteDocument,
  match: RouteMatch,
  placed: readonly PlacedTarget[],
  providers: ReadonlyMap<string, ProviderPolicy>,
): RoutePolicy {
  const targets = placed.map(({ provider, model, role, weight }) => ({
    provider,
    model,
    role,
    ...(weight !== undefined && { weight }),
    breaker: breakerSettings(providers.get(provider)?.breaker ?? DEFAULT_BREAKER, route.breaker),
  }));
  const degradeTarget = targets.find((target) => target.role === "degrade");
  const retry = route.retry ?? retrySchema.parse({});
  return {
    name: route.name,
    rule: describeMatch(match),
    match,
    targets: targets.filter((target) => target !== degradeTarget),
    budgets: {
      ...(route.budgets?.max_latency_ms !== undefined && { maxLatencyMs: route.budgets.max_latency_ms }),
      ...(route.budgets?.first_token_ms !== undefined && { firstTokenMs: route.budgets.first_token_ms }),
      ...(route.budgets?.max_token_gap_ms !== undefined && {
        maxTokenGapMs: route.budgets.max_token_gap_ms,
      }),
      maxTokens: route.budgets?.max_tokens ?? "unbounded",
      ...(route.budgets?.max_cost_usd !== undefined && { maxCostUsd: route.budgets.max_cost_usd }),
      overMaxCost: route.budgets?.over_max_cost ?? "downgrade",
    },
    retry: {
      maxAttempts: retry.max_attempts,
      backoffMs: retry.backoff_ms,
      maxBackoffMs: Math.max(retry.backoff_ms, retry.max_backoff_ms),
    },
    ...(route.hedge && { hedge: { after: route.hedge.after, afterMs: route.hedge.after_ms } }),
    ...(route.pool && { pool: route.pool.strategy }),
    resumeOnFallback: route.resume_on_fallback ?? false,
    degrade: {
      ...(degradeTarget && { target: degradeTarget }),
      ...(route.degrade?.answer !== undefined && { answer: route.degrade.answer }),
    },
  };
}

/** `base` with the keys `document` sets (a provider's or a route's `breaker:`). */
function breakerSettings(
  base: Readonly<BreakerSettings>,
  document: BreakerDocument | undefined,
): BreakerSettings {
  if (!document) return { ...base };
  return {
    enabled: document.enabled ?? base.enabled,
    consecutiveFailures: document.consecutive_failures ?? base.consecutiveFailures,
    failureRate: document.failure_rate ?? base.failureRate,
    slowCallRate: document.slow_call_rate ?? base.slowCallRate,
    slowCallMs: document.slow_call_ms ?? base.slowCallMs,
    windowMs: document.window_ms ?? base.windowMs,
    minimumCalls: document.minimum_calls ?? base.minimumCalls,
    openMs: document.open_ms ?? base.openMs,
    halfOpenProbes: document.half_open_probes ?? base.halfOpenProbes,
  };
}

/**
 * One target has one breaker: a route that tunes it differently from an earlier route (or from
 * its provider, as an earlier route left it) is refused, naming the route that set it first.
 */
function breakerConflicts(
  route: RoutePolicy,
  checked: CheckedRoute,
  seen: Map<string, { settings: BreakerSettings; route: string }>,
): PathIssue[] {
  const issues: PathIssue[] = [];
  const all = route.degrade.target ? [...route.targets, route.degrade.target] : route.targets;
  for (const target of all) {
    const id = `${target.provider}/${target.model}`;
    const earlier = seen.get(id);
    if (!earlier) seen.set(id, { settings: target.breaker, route: route.name });
    else if (JSON.stringify(earlier.settings) !== JSON.stringify(target.breaker))
      issues.push({
        path: [...checked.path, "breaker"],
        message: `target ${id} already has breaker settings from route "${earlier.route}": one target has one breaker, so every route naming it must tune it alike (or tune it on its provider)`,
      });
  }
  return issues;
}

/** Why `name` is not a known one, with the nearest as a hint; undefined when it is (or cannot be told). */
function unknownName(what: string, name: string, names: Names): string | undefined {
  if (!names.complete || names.declared.includes(name)) return undefined;
  return `unknown ${what} "${name}" (${hint(name, listable(names))}declared: ${declaredList(names)})`;
}

/** The declared names, as a list to show (a name refused for its spelling is not repeated). */
function declaredList(names: Names): string {
  return listable(names).join(", ") || "none";
}

function listable(names: Names): string[] {
  return names.declared.filter((name) => identifierProblem(name) === undefined);
}

/** A price table's entry as a policy price, saying which table and when it was checked. */
function fromListedPrice(listed: ListedPrice, table: PriceList): ModelPrice {
  const pico = (usdPerMtok: number) => picoUsdPerToken(usdPerMtok) ?? Math.round(usdPerMtok * 1e6);
  return {
    inputPicoUsdPerToken: pico(listed.input),
    outputPicoUsdPerToken: pico(listed.output),
    ...(listed.cachedInput !== undefined && { cachedInputPicoUsdPerToken: pico(listed.cachedInput) }),
    ...(listed.cacheWrite !== undefined && { cacheWritePicoUsdPerToken: pico(listed.cacheWrite) }),
    ...(listed.contextWindow !== undefined && { contextWindow: listed.contextWindow }),
    source: `price table checked ${table.checked} (${table.source})`,
  };
}
