import { picoUsdPerToken } from "../core/money.js";
import type { ModelPrice, RoutePolicy, TenantPolicy } from "../core/policy.js";
import type { PathIssue } from "./read-yaml.js";
import type { TenantDocument } from "./schema.js";
import type { CheckedDocument } from "./validate-policy.js";

/**
 * `tenants:` compiled: each tenant's budgets and limits (its keys are compile-auth.ts's), with what it downgrades to checked
 * against the routes (an unknown route is an error naming it) and its price for unpriced models
 * in exact picodollars.
 */
export function compileTenants(
  document: CheckedDocument,
  routes: readonly RoutePolicy[],
  keyCounts: ReadonlyMap<string, number>,
  issues: PathIssue[],
): Map<string, TenantPolicy> {
  const tenants = new Map<string, TenantPolicy>();
  for (const [tenantName, tenant] of document.tenants?.valid ?? []) {
    const path = ["tenants", tenantName];
    const onLimit = tenant.on_limit;
    if (onLimit !== "refuse" && !routes.some((route) => route.name === onLimit.downgrade_to))
      issues.push({
        path: [...path, "on_limit", "downgrade_to"],
        message: `unknown route "${onLimit.downgrade_to}" (routes: ${routes.map((route) => route.name).join(", ")})`,
      });
    const unpriced = unpricedPrice(tenant, [...path, "unpriced"], issues);
    tenants.set(tenantName, {
      name: tenantName,
      keys: keyCounts.get(tenantName) ?? 0,
      spend: spendOf(tenant.budgets ?? {}),
      rates: ratesOf(tenant.limits ?? {}),
      perUser: { ...spendOf(tenant.per_user ?? {}), ...ratesOf(tenant.per_user ?? {}) },
      onLimit: onLimit === "refuse" ? { kind: "refuse" } : { kind: "downgrade", route: onLimit.downgrade_to },
      warnAt: tenant.warn_at,
      unpriced,
    });
  }
  return tenants;
}

function spendOf(spend: { usd_per_day?: number | undefined; usd_per_month?: number | undefined }) {
  return {
    ...(spend.usd_per_day !== undefined && { usdPerDay: spend.usd_per_day }),
    ...(spend.usd_per_month !== undefined && { usdPerMonth: spend.usd_per_month }),
  };
}

function ratesOf(rates: {
  requests_per_minute?: number | undefined;
  tokens_per_minute?: number | undefined;
  concurrent?: number | undefined;
}) {
  return {
    ...(rates.requests_per_minute !== undefined && { requestsPerMinute: rates.requests_per_minute }),
    ...(rates.tokens_per_minute !== undefined && { tokensPerMinute: rates.tokens_per_minute }),
    ...(rates.concurrent !== undefined && { concurrent: rates.concurrent }),
  };
}

function unpricedPrice(
  tenant: TenantDocument,
  path: (string | number)[],
  issues: PathIssue[],
): "refuse" | ModelPrice {
  if (tenant.unpriced === "refuse") return "refuse";
  const exact = (usdPerMtok: number, key: string) => {
    const pico = picoUsdPerToken(usdPerMtok);
    if (pico === undefined) issues.push({ path: [...path, key], message: "at most six decimals" });
    return pico ?? 0;
  };
  return {
    inputPicoUsdPerToken: exact(tenant.unpriced.input_usd_per_mtok, "input_usd_per_mtok"),
    outputPicoUsdPerToken: exact(tenant.unpriced.output_usd_per_mtok, "output_usd_per_mtok"),
    source: `${path.join(".")} (the tenant's price for unpriced models)`,
  };
}
