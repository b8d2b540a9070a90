import { randomBytes } from "node:crypto";
import { createContextKey } from "@connectrpc/connect";
import { traceIdFrom } from "../../telemetry/trace-context.js";

/** Who the call is in the traces and the decision log: the caller's trace, and this call's own id. */
export interface CallIdentity {
  traceId: string;
  callId: string;
}

/** Set by the RPC door's interceptor for every RouterService call, read by its handlers. */
export const CALL_IDENTITY = createContextKey<CallIdentity | undefined>(undefined, {
  description: "switchyard call identity",
});

/**
 * The trace id continues a valid `traceparent`; the call id is always new (16 hex, the size of a
 * W3C span id), so a caller reusing someone else's trace cannot touch that call's records.
 */
export function identifyCall(traceparent: string | null): CallIdentity {
  return { traceId: traceIdFrom(traceparent), callId: newCallId() };
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
