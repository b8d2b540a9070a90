import { type EntityGroup, type TargetId, type TargetRef, targetId } from "./types.js";

/**
 * The policy in force, compiled from the file: every reference resolved, every list a Set.
 * Immutable once built; a reload builds a new one and swaps it atomically. The steps read it
 * through the call's lease (src/config/policy-store.ts).
 */
export interface Policy {
  /** Content hash of the file. */
  version: string;
  source: string;
  loadedAt: Date;
  defaults: { dataClass: string; task: string; inferTask: boolean; maxTokens: number };
  /** In sensitivity order, least sensitive first. */
  dataClasses: ReadonlyMap<string, DataClass>;
  providers: ReadonlyMap<string, ProviderPolicy>;
  routes: readonly RoutePolicy[];
  logging: LoggingPolicy;
  /** What content detection does with each kind it finds (`detect:`). */
  detection: DetectionPolicy;
  /** Phrases and patterns refused or escalated by name (`content_rules:`), in file order. */
  contentRules: readonly ContentRule[];
  /** Where escalation events go besides the log (`escalation:`). */
  escalation: EscalationPolicy;
  /** Tools the policy knows (`tools:`); any other tool is read-only. */
  tools: ReadonlyMap<string, ToolPolicy>;
  /** Where shared counters live (`state:`); fixed for the life of the process. */
  state: StatePolicy;
  /** How a call's tenant is established (`auth:`, `tenants.<name>.keys`). */
  auth: AuthPolicy;
  /** The tenants the policy declares (`tenants:`), by name. */
  tenants: ReadonlyMap<string, TenantPolicy>;
  /** Non-fatal findings worth telling an operator (providers left out, unpriced models). */
  warnings: readonly string[];
}

export interface DataClass {
  name: string;
  /** Position in the sensitivity order, 0 = least sensitive. */
  rank: number;
  mayLeave: boolean;
  regions?: ReadonlySet<string>;
}

/**
 * A model's price. Integer picodollars per token, which is the same number as microdollars per
 * million tokens: the policy's `*_usd_per_mtok` with at most six decimals, exactly. Money stays
 * in integers until it is shown (see money.ts).
 */
export interface ModelPrice {
  inputPicoUsdPerToken: number;
  outputPicoUsdPerToken: number;
  /** Input tokens read from the provider's prompt cache; the input price when unset. */
  cachedInputPicoUsdPerToken?: number;
  /** Input tokens written to the provider's prompt cache; the input price when unset. */
  cacheWritePicoUsdPerToken?: number;
  contextWindow?: number;
  /** Where the price came from: `policy`, or the built-in price table and when it was checked. */
  source: string;
}

/** One provider as the policy declares it: what every step may know about it. */
export interface ProviderPolicy {
  name: string;
  /** The wire protocol (`kind:`), one of the registry's (src/providers/registry.ts). */
  kind: string;
  /** True when data sent to it leaves our boundary. */
  hosted: boolean;
  region: string;
  /** Serving runtime (vllm, ollama, ...) when declared. */
  runtime?: string;
  /**
   * The models the policy lists for it (routes may name only these), with their prices when the
   * policy gives them; undefined when it lists none (any name accepted).
   */
  models?: ReadonlyMap<string, ModelPrice | undefined>;
  /**
   * What each model its routes name costs: the policy's price, else the built-in price table's
   * (src/providers/<kind>/prices.ts); a model in neither is missing (its cost is reported as 0,
   * with a warning at load).
   */
  prices: ReadonlyMap<string, ModelPrice>;
  /** Whether it continues another model's partial answer (an assistant prefix; its kind and settings say). */
  continuesAnswers: boolean;
  /** Whether its wire takes an image by https URL (all take inline `data:` images). */
  takesImageUrls: boolean;
  /** Its targets' circuit breaker thresholds: built-in, with the provider's `breaker:` over them. */
  breaker: Readonly<BreakerSettings>;
  /** Set when the provider is left out of routing, with why (e.g. its API key is not set). */
  disabledReason?: string;
  /**
   * The kind's own settings (endpoint, credentials, pool, quirks) as its schema parsed them.
   * Opaque outside the provider's folder, which alone knows their shape.
   */
  settings: unknown;
}

export interface RouteMatch {
  tasks?: ReadonlySet<string>;
  dataClasses?: ReadonlySet<string>;
  tenants?: ReadonlySet<string>;
  labels?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Model names a caller may ask for by name (the OpenAI door's `model`). */
  models?: ReadonlySet<string>;
}

export interface RouteTarget extends TargetRef {
  /** "primary", "pool[N]", "fallback[N]" or "degrade". */
  role: string;
  /** A pool member's share of the pool's calls (`weighted`) and tie-break weight. */
  weight?: number;
  /** Its circuit breaker's thresholds: built-in, the provider's `breaker:`, or the route's. */
  breaker: Readonly<BreakerSettings>;
}

/** When a target's circuit breaker opens (src/health/breaker.ts). */
export interface BreakerSettings {
  /** False: the breaker never opens (cooling after a 429 still applies). */
  enabled: boolean;
  /** Failures in a row that open the breaker. */
  consecutiveFailures: number;
  /** Failure rate in (0, 1] over the window that opens it (with at least `minimumCalls` calls). */
  failureRate: number;
  /** Rate in (0, 1] of calls slower than `slowCallMs` over the window that opens it. */
  slowCallRate: number;
  /** A call that took longer than this to its first token (or to its failure) is slow. */
  slowCallMs: number;
  /** How far back the rates look. */
  windowMs: number;
  /** No rate opens the breaker before the window holds this many calls. */
  minimumCalls: number;
  /** How long it stays open before letting probes through. */
  openMs: number;
  /** Probes let through at once while half-open; this many successes close it. */
  halfOpenProbes: number;
}

/** Retries on the same target, for the failures a retry can fix (src/execute/retry.ts). */
export interface RetryPolicy {
  /** Attempts per target, the first included: 1 means no retry. */
  maxAttempts: number;
  /** Backoff before the first retry; doubles each retry, with full jitter. */
  backoffMs: number;
  maxBackoffMs: number;
}

/** How a route picks among its pool's members for each call (src/decide/pool.ts). */
export type PoolStrategy = "weighted" | "least_in_flight" | "lowest_latency" | "cheapest_within_budget";

/** Opt-in: a second target started when the first is slow to its first token. */
export interface HedgePolicy {
  /** `fixed`: after `afterMs`; `p95`: after the target's observed p95 time to first token (afterMs until known). */
  after: "fixed" | "p95";
  afterMs: number;
}

export interface RouteBudgets {
  /** The whole call, every attempt included. */
  maxLatencyMs?: number;
  /** Per attempt: time to the provider's first token (Route and Stream alike). */
  firstTokenMs?: number;
  /** Per attempt: longest silence between two tokens once the answer has started. */
  maxTokenGapMs?: number;
  maxTokens: number | "bounded" | "unbounded";
  /** Most one request may cost at its worst, in US dollars, checked before anything is sent. */
  maxCostUsd?: number;
  /** Over maxCost: skip the targets whose worst case exceeds it, or refuse the request. */
  overMaxCost: "downgrade" | "refuse";
}

export interface RoutePolicy {
  name: string;
  /** Human-readable form of `match`, shown in decisions. */
  rule: string;
  match: RouteMatch;
  targets: readonly RouteTarget[];
  budgets: RouteBudgets;
  retry: RetryPolicy;
  hedge?: HedgePolicy;
  /**
   * Opt-in: a stream cut after tokens reached the caller is continued by the next target that can
   * continue a partial answer (instead of ending with an error).
   */
  resumeOnFallback: boolean;
  /** Set when the route spreads its calls over a pool (its `pool[N]` targets) instead of one primary. */
  pool?: PoolStrategy;
  /**
   * The ladder when no target answered (every one down, open, cooled or out of service): a
   * cheaper target, then the operator's fixed non-AI answer. Empty: the call fails.
   */
  degrade: { target?: RouteTarget; answer?: string };
}

export type PromptLogging = "full" | "redacted" | "hashed" | "none";

/** What of a call's text its log line may carry (src/telemetry/logging-policy.ts enforces it). */
export interface LoggingPolicy {
  storePrompts: PromptLogging;
  storeOutputs: boolean;
  storeToolArgs: "full" | "denylist_secrets" | "none";
  /** HMAC key for `hashed`; set whenever storePrompts is "hashed". */
  hashKey?: string;
  /** Where the log lines of `eval: true` requests go; never the service log. */
  evalSink: { kind: "file"; path: string } | { kind: "stdout" } | { kind: "discard" };
}

/**
 * Caps over time, in US dollars (a month's budget can pass what picodollars hold exactly; the
 * state store counts dollars to the micro-dollar): per UTC day and per calendar month (UTC).
 */
export interface SpendLimits {
  usdPerDay?: number;
  usdPerMonth?: number;
}

export interface RateLimits {
  requestsPerMinute?: number;
  /** Input and output tokens: reserved as estimated, settled to what was used. */
  tokensPerMinute?: number;
  /** Calls in flight at once. */
  concurrent?: number;
}

/** One tenant (`tenants.<name>`): its keys, budgets and limits. */
export interface TenantPolicy {
  name: string;
  /** How many of its keys are usable (a `${VAR}` key whose variable is unset is left out). */
  keys: number;
  spend: SpendLimits;
  rates: RateLimits;
  /** The same, for each user within the tenant (the request's `user`). */
  perUser: SpendLimits & RateLimits;
  /** At a limit: refuse, or serve the call on the named route. */
  onLimit: { kind: "refuse" } | { kind: "downgrade"; route: string };
  /** Share of a spend limit at which a warning event is raised, in (0, 1). */
  warnAt: number;
  /** A target with no price: kept from budgeted calls, or priced at this for them. */
  unpriced: "refuse" | ModelPrice;
}

/** The state store (src/state/): in process memory, or Redis shared by every replica. */
export type StatePolicy =
  | { store: "memory" }
  | {
      store: "redis";
      /** May hold a password: never log it (src/state/redis/redis-store.ts redacts it). */
      url: string;
      keyPrefix: string;
      commandTimeoutMs: number;
      /** While Redis is unreachable: refuse calls that need it, or keep limits per process. */
      onUnavailable: "open" | "closed";
    };

/**
 * How a call's tenant is established (DESIGN invariant 9). `keys`: every call presents a
 * tenant's API key (`authorization: Bearer`), and is that tenant. `identity_header`: a proxy the
 * operator trusts (a mesh) names the tenant in `identityHeader`, stripping any copy a caller
 * sent. `none`: the request's `tenant` is taken as written, so any caller may claim any tenant.
 */
export interface AuthPolicy {
  mode: "keys" | "identity_header" | "none";
  /** The header a trusted proxy names the tenant in (lowercase); set when mode is identity_header. */
  identityHeader?: string;
  /**
   * The SHA-256 digest of every usable key and the tenant it belongs to, each key once across
   * tenants. Also what AdminService takes as a tenant's read-only credential, whatever the mode.
   */
  keys: readonly TenantKey[];
}

export interface TenantKey {
  /** SHA-256 of the key (the key itself is not kept). */
  digest: Uint8Array;
  tenant: string;
}

/** A tenant the policy declares (`tenants.<name>`). */

/** How a redacted value is written in what is sent: a restorable token, a mask, or a keyed hash. */
export type RedactionForm = "placeholder" | "mask" | "hash";

/** What detection does with a finding of one kind or group. */
export type DetectRule =
  | { action: "block"; source: string }
  | { action: "raise"; to: string; source: string }
  | { action: "redact"; form: RedactionForm; source: string }
  | { action: "allow"; source: string };

export interface DetectionPolicy {
  /**
   * By detector kind (`email`) or group (`pii`, `secret`); a kind's own rule wins over its
   * group's. `source` names where a rule came from (`detect.email`, or `built-in` for the secret
   * group's default, block).
   */
  rules: ReadonlyMap<string, DetectRule>;
}

/**
 * Every target the policy's routes name (degrade targets included), once each, by
 * `provider/model`. One target has one breaker, so the first route's entry carries its settings.
 */
export function namedTargets(policy: Policy): Map<TargetId, RouteTarget> {
  const targets = new Map<TargetId, RouteTarget>();
  for (const route of policy.routes)
    for (const target of route.degrade.target ? [...route.targets, route.degrade.target] : route.targets) {
      const id = targetId(target);
      if (!targets.has(id) && policy.providers.has(target.provider)) targets.set(id, target);
    }
  return targets;
}

/** What a group's findings get when the policy has no rule for their kind or group. */
const BUILT_IN_DETECT_RULES: ReadonlyMap<EntityGroup, DetectRule> = new Map<EntityGroup, DetectRule>([
  ["pii", { action: "allow", source: "built-in" }],
  ["secret", { action: "block", source: "built-in" }],
]);

/** The rule for a finding of `kind` in `group`: its own, its group's, or the built-in one. */
export function detectRuleFor(detection: DetectionPolicy, kind: string, group: EntityGroup): DetectRule {
  return (
    detection.rules.get(kind) ??
    detection.rules.get(group) ??
    BUILT_IN_DETECT_RULES.get(group) ?? { action: "allow", source: "built-in" }
  );
}

/**
 * Every rule in force, by kind or group: the policy's in file order, then the built-in rule of
 * each group the policy has no rule for.
 */
export function detectRulesInForce(detection: DetectionPolicy): [string, DetectRule][] {
  return [...detection.rules, ...[...BUILT_IN_DETECT_RULES].filter(([group]) => !detection.rules.has(group))];
}

/** A rule's action as decisions word it: `block`, `raise to <class>`, `redact` or `allow`. */
export function detectActionText(rule: DetectRule): string {
  return rule.action === "raise" ? `raise to ${rule.to}` : rule.action;
}

export interface ContentRule {
  name: string;
  /** Lowercase phrases matched as whole words, whitespace-insensitive. */
  phrases: readonly string[];
  /** Patterns compiled by a linear-time engine (RE2 syntax): an operator's pattern cannot stall a call. */
  patterns: readonly { source: string; test(text: string): boolean }[];
  /** `block` refuses the request; `escalate` lets it through and raises an escalation event. */
  action: "block" | "escalate";
}

export interface EscalationPolicy {
  /** POSTed a JSON event (trace id, rule, kinds; never text) when set. */
  webhookUrl?: string;
  timeoutMs: number;
}

export interface ToolPolicy {
  name: string;
  /** A writing tool is withheld from the model unless the request carries an approval naming it. */
  writes: boolean;
}

/** The OpenAI door's `model` that leaves the choice to the policy, as a gRPC call does. */
export const AUTO_MODEL = "auto";

/**
 * What a caller may name as `model`: `auto`, a route (that route serves the call), or a model some
 * route matches (`match.model`), each once, in policy order.
 */
export function nameableModels(policy: Policy): { routes: string[]; models: string[] } {
  const routes = policy.routes.map((route) => route.name);
  const models = new Set<string>();
  for (const route of policy.routes) for (const model of route.match.models ?? []) models.add(model);
  return { routes, models: [...models].filter((model) => !routes.includes(model)) };
}

/** What `target`'s tokens cost under `policy` (see ProviderPolicy.prices); undefined when unpriced. */
export function priceOf(policy: Policy, target: TargetRef): ModelPrice | undefined {
  return policy.providers.get(target.provider)?.prices.get(target.model);
}
