import { randomUUID } from "node:crypto";

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
const INVALID_TRACE_ID = "0".repeat(32);

/**
 * The W3C trace id of a call: taken from a valid `traceparent` header so the caller's trace
 * continues, otherwise new. https://www.w3.org/TR/trace-context/#traceparent-header
 */
export function traceIdFrom(traceparent: string | null | undefined): string {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (match?.[1] && match[1] !== INVALID_TRACE_ID) return match[1];
  // randomUUID draws from a batched entropy pool (randomBytes(16) per call showed in profiles);
  // its 122 random bits are plenty for a trace id, and it is never all zeros.
  return randomUUID().replaceAll("-", "");
}
