import type { Decision } from "../core/types.js";

export interface RecordedDecision {
  decision: Decision;
  recordedAt: Date;
}

/** Recent decisions by trace id, bounded: the oldest is forgotten when a new one would exceed `capacity`. */
export interface DecisionLog {
  add(decision: Decision, at?: Date): void;
  get(traceId: string): RecordedDecision | undefined;
  readonly size: number;
}

export function createDecisionLog(capacity = 10_000): DecisionLog {
  // A Map iterates in insertion order, so its first key is always the oldest entry.
  const entries = new Map<string, RecordedDecision>();
  return {
    add(decision, at = new Date()) {
      entries.delete(decision.traceId);
      entries.set(decision.traceId, { decision: structuredClone(decision), recordedAt: at });
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
    },
    get: (traceId) => entries.get(traceId),
    get size() {
      return entries.size;
    },
  };
}
