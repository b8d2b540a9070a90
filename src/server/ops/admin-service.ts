import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type AdminService, TargetState } from "../../../gen/switchyard/v1/admin_pb.js";
import type { PolicyStore } from "../../config/policy-store.js";
import { usdFromPico } from "../../core/money.js";
import type { DecisionLog } from "../../record/decision-log.js";
import { toDecision } from "../rpc/from-domain.js";

export interface AdminDeps {
  policies: PolicyStore;
  decisions: DecisionLog;
}

/** The operator's view: policy in force, targets with their state, recent decisions. */
export function createAdminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    getPolicy() {
      const policy = deps.policies.current();
      return {
        version: policy.version,
        source: policy.source,
        loadedAt: timestampFromDate(policy.loadedAt),
        routes: policy.routes.map((route) => route.name),
        warnings: [...policy.warnings],
      };
    },
    listTargets() {
      const policy = deps.policies.current();
      const seen = new Set<string>();
      const targets = [];
      for (const route of policy.routes)
        for (const target of route.targets) {
          const id = `${target.provider}/${target.model}`;
          const provider = policy.providers.get(target.provider);
          if (seen.has(id) || !provider) continue;
          seen.add(id);
          const price = provider.models?.get(target.model);
          targets.push({
            target: id,
            provider: target.provider,
            model: target.model,
            kind: provider.kind,
            hosted: provider.hosted,
            region: provider.region,
            state: provider.disabledReason ? TargetState.DISABLED : TargetState.AVAILABLE,
            reason: provider.disabledReason ?? "",
            inputUsdPerMtok: usdFromPico((price?.inputPicoUsdPerToken ?? 0) * 1_000_000),
            outputUsdPerMtok: usdFromPico((price?.outputPicoUsdPerToken ?? 0) * 1_000_000),
          });
        }
      return { targets };
    },
    getDecision(request) {
      if (!/^[0-9a-f]{32}$/.test(request.traceId))
        throw new ConnectError("trace_id: must be 32 lowercase hex characters", Code.InvalidArgument);
      const recorded = deps.decisions.get(request.traceId);
      const latest = recorded.at(-1);
      if (!latest)
        throw new ConnectError(`trace_id: no recent decision for ${request.traceId}`, Code.NotFound);
      return {
        decision: toDecision(latest.decision),
        recordedAt: timestampFromDate(latest.recordedAt),
        traceDecisions: recorded.map((entry) => ({
          decision: toDecision(entry.decision),
          recordedAt: timestampFromDate(entry.recordedAt),
        })),
      };
    },
  };
}
