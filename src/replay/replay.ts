import { chooseTask, effectiveDataClass, judgeFindings } from "../classify/classify.js";
import type { Classification, IdentifiedRequest, RoutingPlan } from "../core/call.js";
import { InvalidRequestError, NoRouteError } from "../core/errors.js";
import type { PicoUsd } from "../core/money.js";
import type { Policy } from "../core/policy.js";
import type { Decision, TargetId } from "../core/types.js";
import { decide } from "../decide/decide.js";
import { blockedFindings } from "../guard/request-guard.js";
import { identify } from "../identify/identify.js";
import type { RecordedDecision } from "../record/decision-log.js";
import { chosenTarget, estimatedCost, labelDigest, type RoutingRecord } from "../record/routing-record.js";

/** What a policy made (or makes) of one call, as replay compares it. */
export interface RoutingOutcome {
  /** The route chosen; "" when none matched (or the request is invalid under the policy). */
  route: string;
  /** Why the call is not let through: no route, an invalid request, a blocking rule, no eligible target; "" when it is. */
  refusal: string;
  /** Targets the request may be sent to, in the route's order (the degrade target last). */
  eligible: TargetId[];
  /** The target tried first (see `chosenTarget`); "" when none. */
  target: TargetId | "";
  dataClass: string;
  /** The recorded tokens at the chosen target's prices (`estimatedCost`); 0 when refused. */
  estimatedCostPicoUsd: PicoUsd;
}

/** What may change about a call, in the order a change line lists them. */
export const CHANGE_KINDS = ["route", "eligible", "target", "data-class", "cost", "refusal"] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ReplayedCall {
  callId: string;
  traceId: string;
  tenant: string;
  recordedAt: Date;
  /** As recorded: the decision taken under the policy then in force. */
  before: RoutingOutcome;
  /** As the new policy decides it. */
  after: RoutingOutcome;
  /** What differs; empty when nothing does. */
  changes: ChangeKind[];
  /** Targets on hosted providers eligible now that were not eligible on a hosted provider then. */
  gainedHosted: TargetId[];
}

/**
 * Runs the routing decision again for a recorded call under `policy`, with nothing sent
 * anywhere: the same identify (the policy's vocabulary), classification (task; the data class
 * from the declared one and the kinds found, judged by the policy's `detect:` rules), `decide`
 * and guard blocking rules as a live call. Returns undefined when the call was recorded without
 * its routing record (a ledger written before replay existed): it cannot be decided again.
 *
 * Content rules need the text, which is never recorded: a rule the call tripped then (named in
 * its escalations) is looked up by name in `policy` and applies as that policy says (block or
 * escalate); a rule the call did not trip then is taken not to trip now.
 */
export function replayCall(recorded: RecordedDecision, policy: Policy): ReplayedCall | undefined {
  const { decision, routing } = recorded;
  if (!routing) return undefined;
  const before = outcomeOf(
    decision.route,
    decision.refusal,
    decision,
    decision.dataClass,
    routing.baseline.estimatedCostPicoUsd,
  );
  const after = decideAgain(decision, routing, policy);
  const changes = CHANGE_KINDS.filter((kind) => differs(kind, before, after));
  const hostedThen = new Set(routing.baseline.hostedEligible);
  const gainedHosted =
    after.refusal === ""
      ? after.eligible.filter(
          (target) => !hostedThen.has(target) && policy.providers.get(providerOf(target))?.hosted,
        )
      : [];
  return {
    callId: decision.callId,
    traceId: decision.traceId,
    tenant: decision.tenant,
    recordedAt: recorded.recordedAt,
    before,
    after,
    changes,
    gainedHosted,
  };
}

function decideAgain(decision: Decision, routing: RoutingRecord, policy: Policy): RoutingOutcome {
  const findings = judgeFindings(decision.findings, policy);
  const classification: Classification = {
    ...chooseTask(routing.taskDeclared ? decision.task : "", policy, () => routing.inferredTask),
    ...effectiveDataClass(decision.declaredDataClass, findings, policy),
    declaredDataClass: decision.declaredDataClass,
    entities: [],
    findings,
  };
  const refused = (route: string, refusal: string): RoutingOutcome => ({
    route,
    refusal,
    eligible: [],
    target: "",
    dataClass: classification.dataClass,
    estimatedCostPicoUsd: 0,
  });

  let plan: RoutingPlan;
  try {
    plan = decide(identify(requestOf(decision, routing, policy), policy), classification, policy, decision);
  } catch (error) {
    if (error instanceof InvalidRequestError || error instanceof NoRouteError)
      return refused("", error.message);
    throw error;
  }

  const route = plan.route.name;
  // The guard's order: a blocking content rule, then a blocked kind.
  const tripped = new Set(
    decision.escalations
      .filter((rule) => rule.startsWith("content_rules."))
      .map((rule) => rule.slice("content_rules.".length)),
  );
  const blockingRule = policy.contentRules.find((rule) => rule.action === "block" && tripped.has(rule.name));
  if (blockingRule) return refused(route, `refused by content rule "${blockingRule.name}"`);
  const blocked = blockedFindings(findings, policy);
  if (blocked.length > 0)
    return refused(
      route,
      `refused: the request carries ${blocked.map((finding) => finding.kind).join(", ")}, which ${[...new Set(blocked.map((finding) => finding.rule))].join(" and ")} blocks`,
    );
  return outcomeOf(
    route,
    "",
    plan.decision,
    classification.dataClass,
    estimatedCost(policy, chosenTarget(plan.decision.candidates), routing),
  );
}

/**
 * The request as replay knows it: no text (one placeholder message, an image by URL when the
 * call had one), the declared data class and task, the tenant and user, the model asked for, and those of
 * the call's labels `policy` matches on, recovered from their digests.
 */
function requestOf(decision: Decision, routing: RoutingRecord, policy: Policy): IdentifiedRequest {
  return {
    messages: [
      {
        role: "user",
        content: "(replayed: no text is recorded)",
        ...(routing.imagesByUrl && { images: [{ url: "https://replay.invalid/image" }] }),
      },
    ],
    task: routing.taskDeclared ? decision.task : "",
    dataClass: decision.declaredDataClass,
    tenant: decision.tenant,
    user: decision.user,
    labels: labelsFor(routing.labels, policy),
    params: { stop: [] },
    tools: [],
    approvedTools: [],
    eval: false,
    ...(routing.model !== "" && { model: routing.model }),
  };
}

/** The recorded labels (digests) whose key and value some route of `policy` names, in clear. */
function labelsFor(recorded: readonly [string, string][], policy: Policy): Record<string, string> {
  const digests = new Map(recorded);
  const labels: Record<string, string> = {};
  for (const route of policy.routes)
    for (const [label, values] of route.match.labels ?? []) {
      const digest = digests.get(labelDigest(label));
      if (digest === undefined) continue;
      for (const value of values) if (labelDigest(value) === digest) labels[label] = value;
    }
  return labels;
}

function outcomeOf(
  route: string,
  refusal: string,
  decision: Pick<Decision, "candidates">,
  dataClass: string,
  estimatedCostPicoUsd: PicoUsd,
): RoutingOutcome {
  const target = chosenTarget(decision.candidates) ?? "";
  const eligible = decision.candidates.filter((candidate) => candidate.eligible).map(({ target }) => target);
  if (refusal === "" && target === "")
    return { route, refusal: "no eligible target", eligible, target, dataClass, estimatedCostPicoUsd: 0 };
  return {
    route,
    refusal,
    eligible: refusal === "" ? eligible : [],
    target: refusal === "" ? target : "",
    dataClass,
    estimatedCostPicoUsd: refusal === "" ? estimatedCostPicoUsd : 0,
  };
}

function differs(kind: ChangeKind, before: RoutingOutcome, after: RoutingOutcome): boolean {
  switch (kind) {
    case "route":
      return before.route !== after.route;
    case "eligible":
      return [...before.eligible].sort().join("\n") !== [...after.eligible].sort().join("\n");
    case "target":
      return before.target !== after.target;
    case "data-class":
      return before.dataClass !== after.dataClass;
    case "cost":
      return before.estimatedCostPicoUsd !== after.estimatedCostPicoUsd;
    case "refusal":
      return (before.refusal === "") !== (after.refusal === "");
    default:
      return kind satisfies never;
  }
}

function providerOf(target: TargetId): string {
  return target.slice(0, target.indexOf("/"));
}

export interface ReplayTotals {
  /** Calls decided again. */
  replayed: number;
  /** Of those, calls with at least one change. */
  changed: number;
  /** Calls with each kind of change (a call can count under several). */
  byKind: Record<ChangeKind, number>;
  /** Calls recorded without a routing record (before replay existed): not decided again. */
  notReplayable: number;
  /** The replayed calls' estimated costs added up, as recorded and as decided again. */
  estimatedCostBeforePicoUsd: PicoUsd;
  estimatedCostAfterPicoUsd: PicoUsd;
}

export interface ReplayReport {
  totals: ReplayTotals;
  /** Each rule that a change broke, with the calls that broke it (none for a rule on the totals). */
  violations: Violation[];
}

export interface Violation {
  /** The rule as the operator wrote it (`hosted:pii`). */
  rule: string;
  callIds: string[];
  /** What broke it, in a few words. */
  detail: string;
}

/**
 * Replays every call of `records` under `policy` (see replayCall), handing each replayed call
 * to `onCall` as it goes (nothing is held but the totals and the ids of calls breaking a rule),
 * and checks `rules` against the calls and the totals.
 */
export function replayAll(
  records: Iterable<RecordedDecision>,
  policy: Policy,
  rules: readonly ReplayRule[],
  onCall: (call: ReplayedCall) => void = () => {},
): ReplayReport {
  const replay = createReplay(policy, rules);
  for (const recorded of records) {
    const call = replay.add(recorded);
    if (call) onCall(call);
  }
  return replay.report();
}

/**
 * replayAll one call at a time, for a caller that must yield between calls (a server replaying
 * thousands of them without holding its event loop): `add` each recorded call, then `report`.
 */
export interface Replay {
  /** Decides `recorded` again and counts it; undefined when it is not replayable. */
  add(recorded: RecordedDecision): ReplayedCall | undefined;
  /** The totals so far, and the rules broken by the calls added so far. */
  report(): ReplayReport;
}

export function createReplay(policy: Policy, rules: readonly ReplayRule[]): Replay {
  const totals: ReplayTotals = {
    replayed: 0,
    changed: 0,
    byKind: Object.fromEntries(CHANGE_KINDS.map((kind) => [kind, 0])) as Record<ChangeKind, number>,
    notReplayable: 0,
    estimatedCostBeforePicoUsd: 0,
    estimatedCostAfterPicoUsd: 0,
  };
  const breaking = new Map<ReplayRule, string[]>(rules.map((rule) => [rule, []]));
  return {
    add(recorded) {
      const call = replayCall(recorded, policy);
      if (!call) {
        totals.notReplayable += 1;
        return undefined;
      }
      totals.replayed += 1;
      if (call.changes.length > 0) totals.changed += 1;
      for (const kind of call.changes) totals.byKind[kind] += 1;
      totals.estimatedCostBeforePicoUsd += call.before.estimatedCostPicoUsd;
      totals.estimatedCostAfterPicoUsd += call.after.estimatedCostPicoUsd;
      for (const [rule, callIds] of breaking) if (brokenBy(rule, call)) callIds.push(call.callId);
      return call;
    },
    report() {
      const violations: Violation[] = [];
      for (const [rule, callIds] of breaking) {
        if (rule.kind === "cost-increase") {
          const { estimatedCostBeforePicoUsd: before, estimatedCostAfterPicoUsd: after } = totals;
          // In integers: after > before × (1 + percent / 100), with before = 0 breaking on any cost.
          if (after * 100 > before * (100 + rule.percent))
            violations.push({
              rule: rule.name,
              callIds: [],
              detail: `${ruleDetail(rule)} (${before === 0 ? "from nothing" : `by ${formatPercent((after - before) / before)}`})`,
            });
        } else if (callIds.length > 0)
          violations.push({ rule: rule.name, callIds: [...callIds], detail: ruleDetail(rule) });
      }
      return { totals: { ...totals, byKind: { ...totals.byKind } }, violations };
    },
  };
}

/** A change an operator forbids (`--fail-on`); see RULE_VOCABULARY. */
export type ReplayRule =
  | { name: string; kind: "hosted"; dataClass: string }
  | { name: string; kind: "route-change" }
  | { name: string; kind: "target-change" }
  | { name: string; kind: "refused" }
  | { name: string; kind: "cost-increase"; percent: number };

/** The rules `--fail-on` takes, one a line, as USAGE lists them (the README says more). */
export const RULE_VOCABULARY = [
  "hosted:CLASS       a call of data class CLASS (recorded or recomputed) gains an eligible hosted target",
  "route-change       a call gets another route",
  "target-change      a call gets another chosen target (its first eligible one)",
  "refused            a call let through before now gets no route or target, or is refused",
  "cost-increase:PCT  the total estimated cost rises by more than PCT percent",
] as const;

/** What breaking a per-call rule means, said of the calls that broke it. */
function ruleDetail(rule: ReplayRule): string {
  switch (rule.kind) {
    case "hosted":
      return `${rule.dataClass} calls become eligible for a hosted target`;
    case "route-change":
      return "calls get another route";
    case "target-change":
      return "calls get another chosen target";
    case "refused":
      return "calls let through before are refused, or get no route or no eligible target";
    case "cost-increase":
      return `the total estimated cost rises by more than ${rule.percent}%`;
    default:
      return rule satisfies never;
  }
}

/**
 * A `--fail-on` rule, checked against `policy` (a data class must be one it declares); the
 * error to print when it is not one of RULE_VOCABULARY.
 */
export function parseRule(text: string, policy: Policy): ReplayRule | { error: string } {
  const [word = "", argument] = splitOnce(text, ":");
  switch (word) {
    case "route-change":
    case "target-change":
    case "refused":
      if (argument !== undefined) return { error: `rule "${text}": ${word} takes no argument` };
      return { name: text, kind: word };
    case "hosted":
      if (!argument) return { error: `rule "${text}": say which data class, e.g. hosted:pii` };
      if (!policy.dataClasses.has(argument))
        return {
          error: `rule "${text}": unknown data class "${argument}" (the policy declares: ${[...policy.dataClasses.keys()].join(", ")})`,
        };
      return { name: text, kind: "hosted", dataClass: argument };
    case "cost-increase": {
      if (argument === undefined || !/^\d+(?:\.\d+)?$/.test(argument))
        return { error: `rule "${text}": say by how many percent, e.g. cost-increase:10` };
      return { name: text, kind: "cost-increase", percent: Number(argument) };
    }
    default:
      return {
        error: `unknown rule "${text}" (rules: hosted:CLASS, route-change, target-change, refused, cost-increase:PCT)`,
      };
  }
}

function brokenBy(rule: ReplayRule, call: ReplayedCall): boolean {
  switch (rule.kind) {
    case "hosted":
      // Of that class as recorded or as decided again: a call that was pii and is now classified
      // lower (a detect rule weakened) leaving the boundary is exactly what the rule guards.
      return (
        (call.before.dataClass === rule.dataClass || call.after.dataClass === rule.dataClass) &&
        call.gainedHosted.length > 0
      );
    case "route-change":
      return call.changes.includes("route");
    case "target-change":
      return call.changes.includes("target");
    case "refused":
      return call.before.refusal === "" && call.after.refusal !== "";
    case "cost-increase":
      return false;
    default:
      return rule satisfies never;
  }
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at === -1 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/** A ratio as a percentage with at most one decimal: 0.125 → "12.5%". */
export function formatPercent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}
