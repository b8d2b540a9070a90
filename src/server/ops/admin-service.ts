import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type AdminService, ReloadOutcome, TargetState } from "../../../gen/switchyard/v1/admin_pb.js";
import type { PolicyStore } from "../../config/policy-store.js";
import { usdFromPico } from "../../core/money.js";
import type { DecisionLog, RecordedDecision } from "../../record/decision-log.js";
import { toDecision } from "../rpc/from-domain.js";

/** What the policy reloader remembers of its last attempt (src/config/reload.ts). */
export interface ReloadHistory {
  lastReload():
    | {
        at: Date;
        trigger: string;
        outcome: "applied" | "unchanged" | "refused";
        version?: string;
        issues: ReadonlyArray<{ path: string; message: string }>;
      }
    | undefined;
}

export interface AdminDeps {
  policies: PolicyStore;
  decisions: DecisionLog;
  reloads: ReloadHistory;
}

const OUTCOMES = {
  applied: ReloadOutcome.APPLIED,
  unchanged: ReloadOutcome.UNCHANGED,
  refused: ReloadOutcome.REFUSED,
} as const;

/** The operator's view: policy in force (and its last reload), targets with their state, recent decisions. */
export function createAdminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    getPolicy() {
      const policy = deps.policies.current();
      const reload = deps.reloads.lastReload();
      return {
        version: policy.version,
        source: policy.source,
        loadedAt: timestampFromDate(policy.loadedAt),
        routes: policy.routes.map((route) => route.name),
        warnings: [...policy.warnings],
        ...(reload && {
          lastReload: {
            at: timestampFromDate(reload.at),
            trigger: reload.trigger,
            outcome: OUTCOMES[reload.outcome],
            version: reload.version ?? "",
            issues: reload.issues.map((issue) =>
              issue.path ? `${issue.path}: ${issue.message}` : issue.message,
            ),
          },
        }),
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
            // Picodollars per token are microdollars per million tokens.
            inputUsdPerMtok: usdFromPico((price?.inputPicoUsdPerToken ?? 0) * 1_000_000),
            outputUsdPerMtok: usdFromPico((price?.outputPicoUsdPerToken ?? 0) * 1_000_000),
          });
        }
      return { targets };
    },
    getDecision(request) {
      const byCall = request.callId !== "";
      if (byCall === (request.traceId !== ""))
        throw new ConnectError("set exactly one of callId and traceId", Code.InvalidArgument);
      if (byCall) {
        if (!/^[0-9a-f]{16}$/.test(request.callId))
          throw new ConnectError("callId: must be 16 lowercase hex characters", Code.InvalidArgument);
        const recorded = deps.decisions.byCall(request.callId);
        if (!recorded)
          throw new ConnectError(`callId: no recent decision for ${request.callId}`, Code.NotFound);
        return {
          decision: toDecision(recorded.decision),
          recordedAt: timestampFromDate(recorded.recordedAt),
          traceDecisions: [toRecorded(recorded)],
          outcome: recorded.outcome,
        };
      }
      if (!/^[0-9a-f]{32}$/.test(request.traceId))
        throw new ConnectError("traceId: must be 32 lowercase hex characters", Code.InvalidArgument);
      const recorded = deps.decisions.byTrace(request.traceId);
      if (recorded.length === 0)
        throw new ConnectError(`traceId: no recent decision for ${request.traceId}`, Code.NotFound);
      return { traceDecisions: recorded.map(toRecorded) };
    },
  };
}

function toRecorded(entry: RecordedDecision) {
  return {
    decision: toDecision(entry.decision),
    recordedAt: timestampFromDate(entry.recordedAt),
    outcome: entry.outcome,
  };
}
