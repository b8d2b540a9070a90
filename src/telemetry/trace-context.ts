import { randomUUID } from "node:crypto";

/**
 * version-trace id-parent id-flags. Version 00 has exactly these fields; a later version may add
 * more after a dash, which a 00 reader ignores; version ff is invalid.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;
const INVALID_TRACE_ID = "0".repeat(32);
const INVALID_PARENT_ID = "0".repeat(16);

/**
 * The W3C trace id of a call: taken from a valid `traceparent` header so the caller's trace
 * continues, otherwise new. https://www.w3.org/TR/trace-context/#traceparent-header
 */
export function traceIdFrom(traceparent: string | null | undefined): string {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  const [, version, traceId, parentId, rest] = match ?? [];
  const valid =
    version !== undefined &&
    version !== "ff" &&
    (version !== "00" || rest === undefined) &&
    traceId !== INVALID_TRACE_ID &&
    parentId !== INVALID_PARENT_ID;
  if (valid && traceId) return traceId;
  // randomUUID draws from a batched entropy pool (randomBytes(16) per call showed in profiles);
  // its 122 random bits are plenty for a trace id, and it is never all zeros.
  return randomUUID().replaceAll("-", "");
}
