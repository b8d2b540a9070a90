import type { Decision } from "../core/types.js";

export interface RecordedDecision {
  decision: Decision;
  recordedAt: Date;
}

/**
 * Recent decisions by trace id, bounded in traces (`capacity`; the least recently written trace is
 * forgotten first) and in decisions per trace (`perTrace`; an agent loop makes many calls under
 * one caller trace, and the oldest of them goes first).
 */
export interface DecisionLog {
  add(decision: Decision, at?: Date): void;
  /** Every recent decision of the trace, oldest first; empty when none. */
  get(traceId: string): readonly RecordedDecision[];
  /** Traces held. */
  readonly size: number;
}

export function createDecisionLog(capacity = 10_000, perTrace = 32): DecisionLog {
  // A Map iterates in insertion order; re-inserting on write keeps its first key the stalest trace.
  const traces = new Map<string, RecordedDecision[]>();
  return {
    add(decision, at = new Date()) {
      const recorded = traces.get(decision.traceId) ?? [];
      traces.delete(decision.traceId);
      recorded.push({ decision: structuredClone(decision), recordedAt: at });
      if (recorded.length > perTrace) recorded.shift();
      traces.set(decision.traceId, recorded);
      if (traces.size > capacity) {
        const stalest = traces.keys().next();
        if (!stalest.done) traces.delete(stalest.value);
      }
    },
    get: (traceId) => traces.get(traceId) ?? [],
    get size() {
      return traces.size;
    },
  };
}
