import type { RouteTarget } from "../core/policy.js";
import { type BudgetStep, type StreamEvent, targetId } from "../core/types.js";
import type { AnswerPart } from "./attempt-run.js";

/** What execute yields to the caller while it runs (stream mode only). */
export type ProgressEvent = Extract<
  StreamEvent,
  { type: "delta" } | { type: "attempt" } | { type: "budget" }
>;

/** A budget event; a limit that is unset or unbounded is sent as 0 (no limit). */
export function budgetEvent(
  step: BudgetStep,
  elapsedMs: number,
  limitMs: number | undefined,
  exceeded: boolean,
): ProgressEvent {
  const limit = limitMs !== undefined && Number.isFinite(limitMs) ? limitMs : 0;
  return { type: "budget", step, elapsedMs, limitMs: limit, exceeded };
}

/**
 * A piece of the answer, written by `target`, as the delta the caller receives; a piece written by
 * the route's degrade target says so (`degradeRung`), as the fixed answer's delta does.
 */
export function toDelta(part: AnswerPart, target: RouteTarget): ProgressEvent {
  const by = {
    target: targetId(target),
    ...(target.role === "degrade" && { degradeRung: `target ${targetId(target)}` }),
  };
  if (part.type === "text-delta") return { type: "delta", content: part.delta, toolCalls: [], ...by };
  return {
    type: "delta",
    ...by,
    content: "",
    toolCalls: [
      {
        index: part.index,
        argumentsDelta: part.argumentsDelta,
        ...(part.id !== undefined && { id: part.id }),
        ...(part.name !== undefined && { name: part.name }),
      },
    ],
  };
}
