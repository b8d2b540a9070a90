import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore, type PolicyLease } from "../../src/config/policy-store.js";
import type { RouteTarget } from "../../src/core/policy.js";
import { guardAttempt } from "../../src/guard/guard.js";
import { DEFAULT_BREAKER } from "../../src/health/breaker.js";
import type { ProviderAdapter } from "../../src/providers/types.js";
import { createScriptedAdapter } from "../helpers/scripted-adapter.js";

const KEY = "SWITCHYARD_GUARD_TEST_UNSET_KEY";

/** The same policy, with `cloud` hosted or not; `withCloud: false` drops it. */
function policy(options: { cloudHosted: boolean; withCloud?: boolean }) {
  const withCloud = options.withCloud ?? true;
  return parsePolicy(
    `
providers:
  local: { kind: mock, hosted: false }
${withCloud ? `  cloud: { kind: mock, hosted: ${options.cloudHosted} }` : ""}
  keyless: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1", api_key: "\${${KEY}}", hosted: false }
routes:
${withCloud ? "  - name: open\n    match: { data_class: public }\n    primary: { provider: cloud, model: m }" : ""}
  - name: rest
    primary: { provider: local, model: m }
`,
    { source: "guard.test.yaml", env: {} },
  );
}

/** A policy store whose adapters are scripted, remembering which providers got one built. */
function storeOf(initial: ReturnType<typeof policy>) {
  const built: string[] = [];
  const adapters = new Map<string, ProviderAdapter>();
  const store = createPolicyStore(initial, (provider) => {
    built.push(provider.name);
    const adapter = createScriptedAdapter();
    adapters.set(provider.name, adapter);
    return adapter;
  });
  return { store, built, adapters };
}

const target = (provider: string): RouteTarget => ({
  provider,
  model: "m",
  role: "primary",
  breaker: DEFAULT_BREAKER,
});

describe("guardAttempt", () => {
  it("allows a target both policies allow, with the adapter of the call's own policy", () => {
    const { store, adapters } = storeOf(policy({ cloudHosted: true }));
    const lease = store.acquire();
    const verdict = guardAttempt(target("local"), "internal", lease);
    expect(verdict.allowed).toBe(true);
    expect(verdict.allowed && verdict.adapter).toBe(adapters.get("local"));
    expect(guardAttempt(target("cloud"), "public", lease).allowed).toBe(true);
  });

  it("refuses what the call's own policy forbids, even when the policy now in force would allow it", () => {
    const { store, built } = storeOf(policy({ cloudHosted: true }));
    const lease = store.acquire();
    store.replace(policy({ cloudHosted: false }));
    expect(guardAttempt(target("cloud"), "pii", lease)).toEqual({
      allowed: false,
      reason: "data class pii may not leave the boundary; provider cloud is hosted",
    });
    // Nothing was built for it, let alone handed the request.
    expect(built).toEqual([]);
  });

  it("refuses what the policy now in force forbids (a replace() made the provider hosted), and says it is that policy", () => {
    const { store, built } = storeOf(policy({ cloudHosted: false }));
    const lease = store.acquire();
    expect(guardAttempt(target("cloud"), "pii", lease).allowed).toBe(true);

    const reloaded = policy({ cloudHosted: true });
    store.replace(reloaded);
    expect(lease.policy.providers.get("cloud")?.hosted).toBe(false);
    expect(guardAttempt(target("cloud"), "pii", lease)).toEqual({
      allowed: false,
      reason: `data class pii may not leave the boundary; provider cloud is hosted (policy ${reloaded.version}, now in force)`,
    });
    // Data that may leave still goes, to the adapter the call's policy built.
    expect(guardAttempt(target("cloud"), "public", lease).allowed).toBe(true);
    expect(built).toEqual(["cloud"]);
  });

  it("refuses a provider the policy now in force dropped", () => {
    const { store } = storeOf(policy({ cloudHosted: false }));
    const lease = store.acquire();
    const reloaded = policy({ cloudHosted: false, withCloud: false });
    store.replace(reloaded);
    expect(guardAttempt(target("cloud"), "public", lease)).toEqual({
      allowed: false,
      reason: `provider cloud is not declared (policy ${reloaded.version}, now in force)`,
    });
  });

  it("refuses a provider left out of routing, saying why", () => {
    const { store, built } = storeOf(policy({ cloudHosted: false }));
    expect(guardAttempt(target("keyless"), "public", store.acquire())).toEqual({
      allowed: false,
      reason: `provider keyless is left out of routing: ${KEY} is not set`,
    });
    expect(built).toEqual([]);
  });

  it("refuses a target whose lease has no adapter for it", () => {
    const current = policy({ cloudHosted: false });
    const lease: PolicyLease = {
      policy: current,
      latest: () => current,
      adapter: () => undefined,
      release() {},
    };
    expect(guardAttempt(target("local"), "internal", lease)).toEqual({
      allowed: false,
      reason: "provider local is left out of routing",
    });
  });
});
