import { type PicoUsd, usdFromPico } from "../core/money.js";
import {
  CHANGE_KINDS,
  type ChangeKind,
  formatPercent,
  type ReplayedCall,
  type ReplayReport,
  type RoutingOutcome,
} from "./replay.js";

/** Said beside every cost replay prints: it is not what a call cost, nor will cost. */
export const COST_NOTE =
  "estimated: each call's recorded tokens at its chosen target's prices; another model counts and answers in other tokens";

/**
 * One line for a call: its ids, then each change as `before → after` (route, eligible targets,
 * chosen target, data class, estimated cost, refusal); or what it is when nothing changed.
 */
export function formatCall(call: ReplayedCall): string {
  const { before, after } = call;
  const head = `${call.callId}  trace ${call.traceId}  tenant ${call.tenant}`;
  if (call.changes.length === 0)
    return `${head}  unchanged: ${before.refusal ? `refused (${before.refusal})` : `route ${before.route}, target ${before.target}`}`;
  const parts = call.changes.map((kind) => {
    switch (kind) {
      case "route":
        return `route ${before.route || "-"} → ${after.route || "-"}`;
      case "eligible":
        return `eligible [${before.eligible.join(", ")}] → [${after.eligible.join(", ")}]`;
      case "target":
        return `target ${before.target || "-"} → ${after.target || "-"}`;
      case "data-class":
        return `data class ${before.dataClass} → ${after.dataClass}`;
      case "cost":
        return `est. cost ${usd(before.estimatedCostPicoUsd)} → ${usd(after.estimatedCostPicoUsd)}`;
      case "refusal":
        return after.refusal
          ? `now refused (${after.refusal})`
          : `no longer refused (was: ${before.refusal})`;
      default:
        return kind satisfies never;
    }
  });
  if (call.gainedHosted.length > 0)
    parts.push(`newly eligible on a hosted provider: ${call.gainedHosted.join(", ")}`);
  return `${head}  ${parts.join("; ")}`;
}

/**
 * Each change of `call` as text, as a table shows it: a route or target ("" for none), the
 * eligible targets joined by ", ", a data class, an estimated cost in dollars, a refusal's reason
 * ("" when let through).
 */
export function callChanges(call: ReplayedCall): { what: ChangeKind; before: string; after: string }[] {
  const text = (outcome: RoutingOutcome, what: ChangeKind): string => {
    switch (what) {
      case "route":
        return outcome.route;
      case "eligible":
        return outcome.eligible.join(", ");
      case "target":
        return outcome.target;
      case "data-class":
        return outcome.dataClass;
      case "cost":
        return plainUsd(outcome.estimatedCostPicoUsd);
      case "refusal":
        return outcome.refusal;
      default:
        return what satisfies never;
    }
  };
  return call.changes.map((what) => ({
    what,
    before: text(call.before, what),
    after: text(call.after, what),
  }));
}

/** The totals and the rules broken, as lines (each ending in a newline). */
export function formatReport(report: ReplayReport): string {
  const { totals } = report;
  const kinds = CHANGE_KINDS.map((kind) => `${kind} ${totals.byKind[kind]}`).join(", ");
  const before = totals.estimatedCostBeforePicoUsd;
  const after = totals.estimatedCostAfterPicoUsd;
  const lines = [
    `replayed ${totals.replayed} ${totals.replayed === 1 ? "call" : "calls"}: ${totals.changed} changed (${kinds})`,
    `not replayable: ${totals.notReplayable} (recorded without routing inputs, by a server before replay existed)`,
    `estimated cost: ${usd(before)} before, ${usd(after)} after${before > 0 ? ` (${after >= before ? "+" : ""}${formatPercent((after - before) / before)})` : ""} — ${COST_NOTE}`,
  ];
  for (const violation of report.violations)
    lines.push(
      `violated: ${violation.rule}: ${violation.detail}${violation.callIds.length > 0 ? ` (${violation.callIds.length}: ${violation.callIds.join(", ")})` : ""}`,
    );
  return lines.map((line) => `${line}\n`).join("");
}

/** A call as `--json` prints it: costs in US dollars. */
export function callJson(call: ReplayedCall) {
  return {
    callId: call.callId,
    traceId: call.traceId,
    tenant: call.tenant,
    recordedAt: call.recordedAt.toISOString(),
    changes: call.changes,
    before: outcomeJson(call.before),
    after: outcomeJson(call.after),
    gainedHosted: call.gainedHosted,
  };
}

/** The totals and violations as `--json` prints them. */
export function reportJson(report: ReplayReport) {
  const { estimatedCostBeforePicoUsd, estimatedCostAfterPicoUsd, ...counts } = report.totals;
  return {
    totals: {
      ...counts,
      estimatedCostBeforeUsd: usdFromPico(estimatedCostBeforePicoUsd),
      estimatedCostAfterUsd: usdFromPico(estimatedCostAfterPicoUsd),
      costNote: COST_NOTE,
    },
    violations: report.violations,
  };
}

function outcomeJson(outcome: RoutingOutcome) {
  const { estimatedCostPicoUsd, ...rest } = outcome;
  return { ...rest, estimatedCostUsd: usdFromPico(estimatedCostPicoUsd) };
}

function usd(amount: PicoUsd): string {
  return `$${usdFromPico(amount)}`;
}

/** Dollars written out in full (never `5e-7`), to the picodollar: $0.0000005. */
function plainUsd(amount: PicoUsd): string {
  return `$${usdFromPico(amount)
    .toFixed(12)
    .replace(/\.?0+$/, "")}`;
}
