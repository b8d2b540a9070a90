import type { TargetRef } from "../core/types.js";
import type { ProviderSettings } from "../providers/types.js";

/**
 * The policy in force, compiled from the file: every reference resolved, every list a Set.
 * Immutable once built; a reload builds a new one and swaps it atomically.
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

export interface ModelPrice {
  inputUsdPerMtok: number;
  outputUsdPerMtok: number;
  contextWindow?: number;
}

export interface ProviderPolicy {
  settings: ProviderSettings;
  /** Set when the provider is left out of routing, with why (e.g. its API key is not set). */
  disabledReason?: string;
  /** Undefined when the provider lists no models (any name accepted, priced at 0). */
  models?: ReadonlyMap<string, ModelPrice>;
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
  maxLatencyMs?: number;
  firstTokenMs?: number;
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
