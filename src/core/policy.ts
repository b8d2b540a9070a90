import type { TargetRef } from "./types.js";

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
  defaults: { dataClass: string; task: string; maxTokens: number };
  /** In sensitivity order, least sensitive first. */
  dataClasses: ReadonlyMap<string, DataClass>;
  providers: ReadonlyMap<string, ProviderPolicy>;
  routes: readonly RoutePolicy[];
  logging: LoggingPolicy;
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
  contextWindow?: number;
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
  /** Undefined when the provider lists no models (any name accepted, priced at 0). */
  models?: ReadonlyMap<string, ModelPrice>;
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
}

export interface RouteTarget extends TargetRef {
  /** "primary" or "fallback[N]". */
  role: string;
}

export interface RouteBudgets {
  /** The whole call, every attempt included. */
  maxLatencyMs?: number;
  /** Per attempt: time to the provider's first token (Route and Stream alike). */
  firstTokenMs?: number;
  /** Per attempt: longest silence between two tokens once the answer has started. */
  maxTokenGapMs?: number;
  maxTokens: number | "bounded" | "unbounded";
}

export interface RoutePolicy {
  name: string;
  /** Human-readable form of `match`, shown in decisions. */
  rule: string;
  match: RouteMatch;
  targets: readonly RouteTarget[];
  budgets: RouteBudgets;
  degradeAnswer?: string;
}

export interface LoggingPolicy {
  storePrompts: "full" | "redacted" | "hashed" | "none";
  storeOutputs: boolean;
  storeToolArgs: "full" | "denylist_secrets" | "none";
}
