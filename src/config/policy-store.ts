import type { Policy, ProviderPolicy } from "../core/policy.js";
import { createAdapter as createAdapterForKind } from "../providers/registry.js";
import type { ProviderAdapter } from "../providers/types.js";

/** A policy together with the adapters (connection pools) built for it. */
export interface PolicyLease {
  /** The policy this call started under: it decides, and its adapters serve. */
  readonly policy: Policy;
  /** The policy in force now, which may have replaced `policy` while the call was in flight. */
  latest(): Policy;
  /** The adapter for an enabled provider; undefined for one left out of routing. */
  adapter(provider: string): ProviderAdapter | undefined;
  /** Must be called exactly once when the request that acquired the lease is finished. */
  release(): void;
}

export interface PolicyStore {
  current(): Policy;
  /** Pins the policy in force for the duration of one request. */
  acquire(): PolicyLease;
  /**
   * Puts `policy` in force atomically: requests acquired afterwards see it; requests holding the
   * old one finish under it, and its adapters are closed when the last of them releases.
   */
  replace(policy: Policy): void;
  /** Closes every adapter; for shutdown after calls have drained. */
  close(): Promise<void>;
}

interface Generation {
  policy: Policy;
  adapters: Map<string, ProviderAdapter>;
  leases: number;
  retired: boolean;
}

export function createPolicyStore(
  initial: Policy,
  createAdapter: (provider: ProviderPolicy) => ProviderAdapter = createAdapterForKind,
): PolicyStore {
  const build = (policy: Policy): Generation => ({ policy, adapters: new Map(), leases: 0, retired: false });
  // Adapters (and their connection pools) are built on first use, so a provider no route reaches
  // costs nothing and a dry run (explain) builds none.
  const adapterOf = (generation: Generation, name: string): ProviderAdapter | undefined => {
    const existing = generation.adapters.get(name);
    if (existing) return existing;
    const provider = generation.policy.providers.get(name);
    if (!provider || provider.disabledReason) return undefined;
    const adapter = createAdapter(provider);
    generation.adapters.set(name, adapter);
    return adapter;
  };
  const closeAdapters = (generation: Generation) =>
    Promise.allSettled([...generation.adapters.values()].map((adapter) => adapter.close()));

  let active = build(initial);

  return {
    current: () => active.policy,
    acquire() {
      const generation = active;
      generation.leases += 1;
      let released = false;
      return {
        policy: generation.policy,
        latest: () => active.policy,
        adapter: (provider) => adapterOf(generation, provider),
        release() {
          if (released) return;
          released = true;
          generation.leases -= 1;
          if (generation.retired && generation.leases === 0) void closeAdapters(generation);
        },
      };
    },
    replace(policy) {
      const previous = active;
      active = build(policy);
      previous.retired = true;
      if (previous.leases === 0) void closeAdapters(previous);
    },
    async close() {
      active.retired = true;
      await closeAdapters(active);
    },
  };
}
