import { describe, expect, it } from "vitest";
import { formatIssue, PolicyError, parsePolicy } from "../../src/config/load-policy.js";

const policy = (tenants: string) => `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: chat
    primary: { provider: local, model: m }
${tenants}
`;

const issuesOf = (tenants: string): string[] => {
  try {
    parsePolicy(policy(tenants), { source: "tenants.yaml", env: {} });
  } catch (error) {
    if (error instanceof PolicyError) return error.issues.map(formatIssue);
    throw error;
  }
  return [];
};

describe("tenants:", () => {
  it("compiles a tenant's budgets, limits, per-user limits and what happens at a limit", () => {
    const compiled = parsePolicy(
      policy(`tenants:
  acme:
    budgets: { usd_per_day: 5, usd_per_month: 100 }
    limits: { requests_per_minute: 600, tokens_per_minute: 200000, concurrent: 32 }
    per_user: { usd_per_day: 0.5, requests_per_minute: 60 }
    on_limit: { downgrade_to: chat }
    unpriced: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 }`),
      { source: "tenants.yaml", env: {} },
    );
    expect(compiled.tenants.get("acme")).toMatchObject({
      spend: { usdPerDay: 5, usdPerMonth: 100 },
      rates: { requestsPerMinute: 600, tokensPerMinute: 200000, concurrent: 32 },
      perUser: { usdPerDay: 0.5, requestsPerMinute: 60 },
      onLimit: { kind: "downgrade", route: "chat" },
      warnAt: 0.8,
      unpriced: { inputPicoUsdPerToken: 1_000_000, outputPicoUsdPerToken: 2_000_000 },
    });
  });

  it.each([
    [
      "on_limit: { downgrade_to: nowhere }",
      'tenants.acme.on_limit.downgrade_to: unknown route "nowhere" (routes: chat)',
    ],
    ["budgets: { usd_per_day: -1 }", "tenants.acme.budgets.usd_per_day:"],
    ["limits: { requests_per_minute: 1.5 }", "tenants.acme.limits.requests_per_minute:"],
    ["limits: { rpm: 5 }", "tenants.acme.limits"],
    ["on_limit: downgrade", 'tenants.acme.on_limit: must be "refuse" or { downgrade_to: <route name> }'],
    ["warn_at: 1", "tenants.acme.warn_at:"],
    [
      "unpriced: free",
      'tenants.acme.unpriced: must be "refuse" or { input_usd_per_mtok, output_usd_per_mtok }',
    ],
  ])("refuses %s, naming the path", (block, message) => {
    const issues = issuesOf(`tenants:\n  acme: { ${block} }`);
    expect(
      issues.some((issue) => issue.trim().startsWith(message)),
      issues.join("\n"),
    ).toBe(true);
  });
});
