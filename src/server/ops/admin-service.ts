import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import {
  type AdminService,
  BreakerState,
  ReloadOutcome,
  TargetState,
} from "../../../gen/switchyard/v1/admin_pb.js";
import { countersFor } from "../../admit/quota.js";
import type { Environment } from "../../config/env.js";
import type { PolicyStore } from "../../config/policy-store.js";
import { identifierProblem, labelProblem } from "../../config/schema.js";
import { usdFromPico } from "../../core/money.js";
import {
  type BreakerSettings,
  detectActionText,
  detectRulesInForce,
  namedTargets,
  type Policy,
  priceOf,
  type RouteTarget,
} from "../../core/policy.js";
import { didYouMean } from "../../core/suggest.js";
import type { TargetId, TargetRef } from "../../core/types.js";
import { type LatencyPercentiles, latencyPercentiles, type TargetView } from "../../health/target-health.js";
import type { DecisionFilter, RecordedDecision, SpendBucket, SpendQuery } from "../../record/decision-log.js";
import { bucketCount } from "../../record/decision-log.js";
import { loadCandidate, MAX_CANDIDATE_BYTES, replayRecorded } from "../../replay/candidate.js";
import { callChanges } from "../../replay/format.js";
import { parseRule, type ReplayRule } from "../../replay/replay.js";
import type { StateStore } from "../../state/store.js";
import { toDecision } from "../rpc/from-domain.js";
import { type AdminCaller, mayRead, readScope, requireOperator, userScope } from "./admin-scope.js";
import { ADMIN_CALLER } from "./operator-auth.js";

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

type Awaitable<T> = T | Promise<T>;

/**
 * The decisions AdminService reads: this process's DecisionLog, or under `serve --workers N`
 * the primary's view of every worker's.
 */
export interface DecisionQueries {
  byCall(callId: string): Awaitable<RecordedDecision | undefined>;
  byTrace(traceId: string): Awaitable<readonly RecordedDecision[]>;
  list(filter: DecisionFilter): Awaitable<{ decisions: RecordedDecision[]; truncated: boolean }>;
  spend(query: SpendQuery): Awaitable<SpendBucket[]>;
}

/**
 * The target health AdminService shows and drills: this process's TargetHealth, or under
 * `serve --workers N` the primary's, which merges every worker's views and drills them all.
 */
export interface TargetControl {
  views: (
    breakerOf?: (target: TargetId) => Readonly<BreakerSettings> | undefined,
  ) => Awaitable<Map<TargetId, TargetView>>;
  takeOutOfService(target: TargetId, reason: string): Awaitable<void>;
  returnToService(target: TargetId): Awaitable<boolean>;
}

export interface AdminDeps {
  policies: PolicyStore;
  decisions: DecisionQueries;
  reloads: ReloadHistory;
  health: TargetControl;
  /** Drills are operator actions: each is logged (target, reason). */
  logger?: Logger;
  /** The shared counters budgets and limits are kept in. */
  store: StateStore;
  /** The server's environment, which a candidate policy's `${VAR}`s read (ReplayPolicy). */
  env: () => Environment;
}

const OUTCOMES = {
  applied: ReloadOutcome.APPLIED,
  unchanged: ReloadOutcome.UNCHANGED,
  refused: ReloadOutcome.REFUSED,
} as const;

/**
 * The operator's view: policy in force (and its last reload), targets with their state, recent
 * decisions. A tenant calling with its API key may read its own decisions only; everything else
 * is the operator's (admin-scope.ts).
 */
export function createAdminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  /** One target's status, its breaker seen under the policy's settings for it. */
  const statusNow = async (id: string, target: RouteTarget, policy: Policy) =>
    targetStatus(
      id,
      target,
      policy,
      (await deps.health.views((other) => (other === id ? target.breaker : undefined))).get(id),
    );

  return {
    getPolicy(_request, context) {
      requireOperator(callerOf(context), "GetPolicy");
      const policy = deps.policies.current();
      const reload = deps.reloads.lastReload();
      return {
        version: policy.version,
        source: policy.source,
        loadedAt: timestampFromDate(policy.loadedAt),
        routes: policy.routes.map((route) => route.name),
        warnings: [...policy.warnings],
        tenants: [...policy.tenants.keys()],
        dataClasses: [...policy.dataClasses.values()]
          .sort((a, b) => a.rank - b.rank)
          .map((dataClass) => ({
            name: dataClass.name,
            mayLeave: dataClass.mayLeave,
            regions: [...(dataClass.regions ?? [])],
          })),
        detection: detectRulesInForce(policy.detection).map(([kind, rule]) => ({
          kind,
          action: detectActionText(rule),
          redactionForm: rule.action === "redact" ? rule.form : "",
          source: rule.source,
        })),
        routeRules: policy.routes.map((route) => ({
          name: route.name,
          rule: route.rule,
          dataClasses: [...(route.match.dataClasses ?? [])],
        })),
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
    async listTargets(_request, context) {
      requireOperator(callerOf(context), "ListTargets");
      const policy = deps.policies.current();
      const named = namedTargets(policy);
      const views = await deps.health.views((id) => named.get(id)?.breaker);
      return {
        targets: [...named].map(([id, target]) => targetStatus(id, target, policy, views.get(id))),
      };
    },
    async takeTargetOutOfService(request, context) {
      requireOperator(callerOf(context), "TakeTargetOutOfService");
      const policy = deps.policies.current();
      const target = namedTarget(request.target, policy);
      const problem = reasonProblem(request.reason);
      if (problem) throw new ConnectError(`reason: ${problem}`, Code.InvalidArgument);
      await deps.health.takeOutOfService(request.target, request.reason);
      deps.logger?.warn({ target: request.target, reason: request.reason }, "target taken out of service");
      return {
        target: await statusNow(request.target, target, policy),
      };
    },
    async returnTargetToService(request, context) {
      requireOperator(callerOf(context), "ReturnTargetToService");
      const policy = deps.policies.current();
      const target = namedTarget(request.target, policy);
      const wasOutOfService = await deps.health.returnToService(request.target);
      if (wasOutOfService) deps.logger?.warn({ target: request.target }, "target returned to service");
      return {
        target: await statusNow(request.target, target, policy),
        wasOutOfService,
      };
    },
    async getDecision(request, context) {
      const caller = callerOf(context);
      const byCall = request.callId !== "";
      if (byCall === (request.traceId !== ""))
        throw new ConnectError("set exactly one of callId and traceId", Code.InvalidArgument);
      if (byCall) {
        if (!/^[0-9a-f]{16}$/.test(request.callId))
          throw new ConnectError("callId: must be 16 lowercase hex characters", Code.InvalidArgument);
        const found = await deps.decisions.byCall(request.callId);
        // Another tenant's decision is answered as a missing one: its id cannot be probed.
        const recorded = found && mayRead(caller, found.decision.tenant) ? found : undefined;
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
      const recorded = (await deps.decisions.byTrace(request.traceId)).filter((entry) =>
        mayRead(caller, entry.decision.tenant),
      );
      if (recorded.length === 0)
        throw new ConnectError(`traceId: no recent decision for ${request.traceId}`, Code.NotFound);
      return { traceDecisions: recorded.map(toRecorded) };
    },

    async listDecisions(request, context) {
      const filter = decisionFilter(request, DEFAULT_LISTED, MAX_LISTED);
      const scope = userScope(readScope(callerOf(context), request.tenant), request.user);
      const { decisions, truncated } = await deps.decisions.list({ ...filter, ...scope });
      return { decisions: decisions.map(toRecorded), truncated };
    },
    async replayPolicy(request, context) {
      requireOperator(callerOf(context), "ReplayPolicy");
      const bytes = Buffer.byteLength(request.policyYaml, "utf8");
      if (bytes > MAX_CANDIDATE_BYTES)
        throw new ConnectError(
          `policyYaml: at most ${MAX_CANDIDATE_BYTES} bytes (1 MiB), got ${bytes}`,
          Code.InvalidArgument,
        );
      if (request.policyYaml.trim() === "")
        throw new ConnectError("policyYaml: required (the candidate policy's YAML)", Code.InvalidArgument);
      const filter = decisionFilter(request, DEFAULT_REPLAYED, MAX_REPLAYED);
      const loaded = loadCandidate(request.policyYaml, "candidate policy (ReplayPolicy)", deps.env());
      if ("issues" in loaded) return { valid: false, issues: loaded.issues };
      const { policy, warnings } = loaded;
      const rules: ReplayRule[] = [];
      for (const text of request.failOn) {
        const rule = parseRule(text, policy);
        if ("error" in rule) throw new ConnectError(`failOn: ${rule.error}`, Code.InvalidArgument);
        rules.push(rule);
      }
      const { decisions, truncated } = await deps.decisions.list(filter);
      const { report, changed } = await replayRecorded(decisions, policy, rules, context.signal);
      const { totals } = report;
      return {
        valid: true,
        warnings,
        version: policy.version,
        calls: changed.map((call) => ({
          callId: call.callId,
          traceId: call.traceId,
          tenant: call.tenant,
          recordedAt: timestampFromDate(call.recordedAt),
          changes: callChanges(call),
          gainedHosted: call.gainedHosted,
        })),
        totals: {
          replayed: BigInt(totals.replayed),
          changed: BigInt(totals.changed),
          changedByKind: Object.fromEntries(
            Object.entries(totals.byKind).map(([kind, count]) => [kind, BigInt(count)]),
          ),
          notReplayable: BigInt(totals.notReplayable),
          estimatedCostBeforeUsd: usdFromPico(totals.estimatedCostBeforePicoUsd),
          estimatedCostAfterUsd: usdFromPico(totals.estimatedCostAfterPicoUsd),
        },
        violations: report.violations,
        truncated,
      };
    },
    async getSpend(request, context) {
      const problem = request.tenant === "" ? undefined : identifierProblem(request.tenant);
      if (problem) throw new ConnectError(`tenant: ${problem}`, Code.InvalidArgument);
      if (!request.since) throw new ConnectError("since: required", Code.InvalidArgument);
      const since = timestampDate(request.since);
      const until = request.until ? timestampDate(request.until) : new Date();
      if (since >= until) throw new ConnectError("since: must be before until", Code.InvalidArgument);
      const bucketSeconds = request.bucketSeconds === 0 ? 3600 : request.bucketSeconds;
      if (bucketSeconds < MIN_BUCKET_SECONDS)
        throw new ConnectError(
          `bucketSeconds: at least ${MIN_BUCKET_SECONDS}, got ${bucketSeconds}`,
          Code.InvalidArgument,
        );
      const query = { since, until, bucketMs: bucketSeconds * 1000 };
      const count = bucketCount(query);
      if (count > MAX_BUCKETS)
        throw new ConnectError(
          `bucketSeconds: the range takes ${count} buckets of ${bucketSeconds} s, at most ${MAX_BUCKETS}: widen them`,
          Code.InvalidArgument,
        );
      const scope = userScope(readScope(callerOf(context), request.tenant), request.user);
      const buckets = await deps.decisions.spend({ ...scope, ...query });
      return {
        tenant: scope.tenant ?? "",
        user: scope.user ?? "",
        buckets: buckets.map((bucket, index) => ({
          start: timestampFromDate(new Date(since.getTime() + index * query.bucketMs)),
          costUsd: bucket.costUsd,
          calls: BigInt(bucket.calls),
        })),
        costUsd: buckets.reduce((sum, bucket) => sum + bucket.costUsd, 0),
        calls: BigInt(buckets.reduce((sum, bucket) => sum + bucket.calls, 0)),
      };
    },
    async getUsage(request, context) {
      // A tenant's key reads its own usage (naming none means its own); the operator names one.
      const tenantName = readScope(callerOf(context), request.tenant).tenant ?? "";
      const problem = identifierProblem(tenantName);
      if (problem) throw new ConnectError(`tenant: ${problem}`, Code.InvalidArgument);
      const { user } = userScope({ tenant: tenantName }, request.user);
      const lease = deps.policies.acquire();
      try {
        const tenant = lease.policy.tenants.get(tenantName);
        const counters = tenant ? countersFor(tenant, user, Date.now()) : [];
        const limits = await Promise.all(
          counters.map(async (counter) => {
            const used = Math.max(0, await deps.store.get(counter.key));
            return {
              limit: counter.name,
              kind: counter.measure === "usd" ? "budget" : "rate",
              max: counter.limit,
              used,
              remaining: Math.max(0, counter.limit - used),
              resetsInMs: counter.measure === "concurrent" ? 0 : counter.endsInMs,
            };
          }),
        );
        return { tenant: tenantName, user: request.user, limited: limits.length > 0, limits };
      } finally {
        lease.release();
      }
    },
  };
}

function callerOf(context: HandlerContext): AdminCaller {
  const caller = context.values.get(ADMIN_CALLER);
  if (!caller) throw new Error("AdminService served without the identifyAdminCaller interceptor");
  return caller;
}

/** Decisions one ListDecisions answers with, by default and at most. */
const DEFAULT_LISTED = 100;
const MAX_LISTED = 1000;

/** Calls one ReplayPolicy decides again, by default and at most. */
const DEFAULT_REPLAYED = 1000;
const MAX_REPLAYED = 10_000;

/**
 * Why `id` may not be a target id ("provider/model": split at the first `/`, as model names may
 * hold more), or undefined when it may. Never echoes the text.
 */
function targetIdProblem(id: string): string | undefined {
  const slash = id.indexOf("/");
  if (slash < 0) return "must be provider/model";
  const provider = identifierProblem(id.slice(0, slash));
  if (provider) return `must be provider/model: its provider ${provider}`;
  const model = identifierProblem(id.slice(slash + 1));
  return model && `must be provider/model: its model ${model}`;
}

/** The tenant, route, target, time range and limit a request narrows recorded calls by, checked. */
function decisionFilter(
  request: {
    tenant: string;
    route: string;
    target?: string;
    since?: Timestamp;
    until?: Timestamp;
    limit: number;
  },
  defaultLimit: number,
  maxLimit: number,
): DecisionFilter {
  for (const [field, value] of [
    ["tenant", request.tenant],
    ["route", request.route],
  ] as const) {
    const problem = value === "" ? undefined : identifierProblem(value);
    if (problem) throw new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
  }
  const target = request.target ?? "";
  const problem = target === "" ? undefined : targetIdProblem(target);
  if (problem) throw new ConnectError(`target: ${problem}`, Code.InvalidArgument);
  if (request.limit > maxLimit)
    throw new ConnectError(`limit: at most ${maxLimit}, got ${request.limit}`, Code.InvalidArgument);
  const since = request.since && timestampDate(request.since);
  const until = request.until && timestampDate(request.until);
  if (since && until && since >= until)
    throw new ConnectError("since: must be before until", Code.InvalidArgument);
  return {
    ...(request.tenant !== "" && { tenant: request.tenant }),
    ...(request.route !== "" && { route: request.route }),
    ...(target !== "" && { target }),
    ...(since && { since }),
    ...(until && { until }),
    limit: request.limit === 0 ? defaultLimit : request.limit,
  };
}

/** GetSpend's narrowest bucket, in seconds, and the most buckets one range is cut into. */
const MIN_BUCKET_SECONDS = 60;
const MAX_BUCKETS = 1000;

/** The target `id` names among the policy's, or NOT_FOUND listing them. */
function namedTarget(id: string, policy: Policy): RouteTarget {
  const targets = namedTargets(policy);
  const target = targets.get(id);
  if (target) return target;
  if (id === "") throw new ConnectError("target: required (provider/model)", Code.InvalidArgument);
  const known = [...targets.keys()];
  throw new ConnectError(
    // Echoed only when it reads as a name: a caller's free text never reaches an error message.
    `target: no route names ${identifierProblem(id) === undefined ? `"${id}"` : "that target"}${didYouMean(id, known)}; targets: ${known.join(", ")}`,
    Code.NotFound,
  );
}

/** Operator text that goes into decisions: printable, one line, short. */
function reasonProblem(reason: string): string | undefined {
  if (reason.trim() === "") return "required: say why (it is recorded in the decisions it affects)";
  if (reason.length > 200) return `at most 200 characters (this one has ${reason.length})`;
  return labelProblem(reason) && "must be one line of printable text without surrounding whitespace";
}

function targetStatus(id: string, target: TargetRef, policy: Policy, view: TargetView | undefined) {
  const provider = policy.providers.get(target.provider);
  const price = priceOf(policy, target);
  const breaker = view?.breaker;
  const [state, reason] = provider?.disabledReason
    ? [TargetState.DISABLED, provider.disabledReason]
    : view?.outOfService !== undefined
      ? [TargetState.OUT_OF_SERVICE, `out of service: ${view.outOfService}`]
      : view?.cooledUntil !== undefined
        ? [TargetState.COOLING, `cooling down (${view.coolingReason})`]
        : breaker && breaker.state !== "closed"
          ? [TargetState.BREAKER_OPEN, `breaker ${breaker.state.replace("_", "-")} (${breaker.trippedBy})`]
          : [TargetState.AVAILABLE, ""];
  const firstToken = percentilesOf(view?.recentFirstTokensMs);
  const attempt = percentilesOf(view?.recentAttemptsMs);
  return {
    target: id,
    provider: target.provider,
    model: target.model,
    kind: provider?.kind ?? "",
    hosted: provider?.hosted ?? true,
    region: provider?.region ?? "",
    state,
    reason,
    // Picodollars per token are microdollars per million tokens.
    inputUsdPerMtok: usdFromPico((price?.inputPicoUsdPerToken ?? 0) * 1_000_000),
    outputUsdPerMtok: usdFromPico((price?.outputPicoUsdPerToken ?? 0) * 1_000_000),
    breaker: BREAKER_STATES[breaker?.state ?? "closed"],
    ...(breaker && { breakerSince: timestampFromDate(wallClock(breaker.since)) }),
    recentFailureRate: breaker?.failureRate ?? 0,
    recentCalls: breaker?.calls ?? 0,
    ...(view?.cooledUntil !== undefined && { cooledUntil: timestampFromDate(wallClock(view.cooledUntil)) }),
    inFlight: view?.inFlight ?? 0,
    latencyMs: Math.round(view?.latencyMs ?? 0),
    // The p95 of first_token: under `--workers` a merged view has only the samples.
    p95FirstTokenMs: Math.round(firstToken?.p95Ms ?? 0),
    ...(firstToken && { firstToken }),
    ...(attempt && { attempt }),
  };
}

/**
 * Nearest-rank percentiles of `samples`, to a tenth of a millisecond (what the console shows below
 * 10 ms; whole ms, as latency_ms beside them, would show a local model's 2.4 ms as 2.0); undefined
 * before a sample.
 */
function percentilesOf(samples: readonly number[] = []): LatencyPercentiles | undefined {
  const percentiles = latencyPercentiles(samples);
  return (
    percentiles && {
      p50Ms: tenthsOfMs(percentiles.p50Ms),
      p95Ms: tenthsOfMs(percentiles.p95Ms),
      p99Ms: tenthsOfMs(percentiles.p99Ms),
      samples: percentiles.samples,
    }
  );
}

function tenthsOfMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

const BREAKER_STATES = {
  closed: BreakerState.CLOSED,
  open: BreakerState.OPEN,
  half_open: BreakerState.HALF_OPEN,
} as const;

/** A reading of the pipeline clock (performance.now()) as a wall-clock date. */
function wallClock(at: number): Date {
  return new Date(Date.now() - (performance.now() - at));
}

function toRecorded(entry: RecordedDecision) {
  return {
    decision: toDecision(entry.decision),
    recordedAt: timestampFromDate(entry.recordedAt),
    outcome: entry.outcome,
  };
}
