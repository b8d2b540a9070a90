import { randomBytes } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import type { Attributes, Span } from "@opentelemetry/api";
import type { Tracing } from "../../telemetry/tracing.js";

/** Who the call is in the traces and the decision log: the caller's trace, and this call's own id. */
export interface CallIdentity {
  traceId: string;
  callId: string;
  /** The call's span; the door that opened it ends it. */
  span: Span;
}

/** Set by the RPC door's interceptor for every RouterService call, read by its handlers. */
export const CALL_IDENTITY = createContextKey<CallIdentity | undefined>(undefined, {
  description: "switchyard call identity",
});

/**
 * Opens the call's span: its trace continues a valid `traceparent` (and `tracestate`) or is new.
 * The call id is always new (16 hex, the size of a W3C span id), so a caller reusing someone
 * else's trace cannot touch that call's records.
 */
export function identifyCall(
  tracing: Tracing,
  name: string,
  header: (name: string) => string | undefined,
  attributes: Attributes,
): CallIdentity {
  const callId = newCallId();
  const { span, traceId } = tracing.startCall(name, header, { ...attributes, "switchyard.call_id": callId });
  return { traceId, callId, span };
}

// Drawn in batches: randomBytes per call showed in profiles.
let pool = Buffer.alloc(0);
let offset = 0;
function newCallId(): string {
  if (offset + 8 > pool.length) {
    pool = randomBytes(8 * 256);
    offset = 0;
  }
  const id = pool.toString("hex", offset, offset + 8);
  offset += 8;
  return id;
}
