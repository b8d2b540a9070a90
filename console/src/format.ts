import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { BreakerState, ReloadOutcome, TargetState } from "../../gen/switchyard/v1/admin_pb.js";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";

/** Display names of the proto enums (kept here rather than derived, so the words are chosen). */
export const ATTEMPT_OUTCOME: Record<AttemptOutcome, string> = {
  [AttemptOutcome.UNSPECIFIED]: "unknown",
  [AttemptOutcome.SUCCEEDED]: "succeeded",
  [AttemptOutcome.FAILED]: "failed",
  [AttemptOutcome.REFUSED]: "refused",
  [AttemptOutcome.CANCELLED]: "cancelled",
  [AttemptOutcome.SKIPPED]: "skipped",
};

export const ERROR_CLASS: Record<ErrorClass, string> = {
  [ErrorClass.UNSPECIFIED]: "",
  [ErrorClass.CONNECT]: "connect",
  [ErrorClass.TIMEOUT]: "timeout",
  [ErrorClass.RATE_LIMITED]: "rate limited",
  [ErrorClass.SERVER]: "server error",
  [ErrorClass.OVERLOADED]: "overloaded",
  [ErrorClass.INVALID_REQUEST]: "invalid request",
  [ErrorClass.AUTH]: "auth",
  [ErrorClass.CONTEXT_LENGTH]: "context length",
  [ErrorClass.CONTENT_REFUSED]: "content refused",
  [ErrorClass.POLICY]: "policy",
  [ErrorClass.PROTOCOL]: "protocol",
  [ErrorClass.CANCELLED]: "cancelled",
};

export const TARGET_STATE: Record<TargetState, string> = {
  [TargetState.UNSPECIFIED]: "unknown",
  [TargetState.AVAILABLE]: "available",
  [TargetState.DISABLED]: "disabled",
  [TargetState.BREAKER_OPEN]: "breaker open",
  [TargetState.COOLING]: "cooling",
  [TargetState.OUT_OF_SERVICE]: "out of service",
};

export const BREAKER_STATE: Record<BreakerState, string> = {
  [BreakerState.UNSPECIFIED]: "—",
  [BreakerState.CLOSED]: "closed",
  [BreakerState.OPEN]: "open",
  [BreakerState.HALF_OPEN]: "half open",
};

export const RELOAD_OUTCOME: Record<ReloadOutcome, string> = {
  [ReloadOutcome.UNSPECIFIED]: "unknown",
  [ReloadOutcome.APPLIED]: "applied",
  [ReloadOutcome.UNCHANGED]: "unchanged",
  [ReloadOutcome.REFUSED]: "refused",
};

export function when(timestamp: Timestamp | undefined): string {
  if (!timestamp) return "—";
  const date = timestampDate(timestamp);
  return `${date.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${date.toLocaleTimeString(undefined, { hour12: false })}`;
}

export function isoOf(timestamp: Timestamp | undefined): string | undefined {
  return timestamp ? timestampDate(timestamp).toISOString() : undefined;
}

export function ms(value: number): string {
  if (value === 0) return "0 ms";
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function usd(value: number): string {
  if (value === 0) return "$0";
  return value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(4)}`;
}

export function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}
