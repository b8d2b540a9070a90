import type { IncomingHttpHeaders } from "node:http";

/** The longest delay a Node timer honours: above 2^31-1 ms, setTimeout fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const MS_PER_UNIT: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/**
 * Lowers a caller's deadline above `maxMs` to `maxMs` before connect reads it. Legal values
 * reach ~11,000 years (`99999999H`); handed to setTimeout, anything above 2^31-1 ms fires at
 * once, so unbounded they would turn a generous deadline into an instant DEADLINE_EXCEEDED.
 * Malformed values are left for connect to refuse with INVALID_ARGUMENT. `maxMs` must not
 * exceed MAX_TIMER_MS (startServer checks).
 * grpc-timeout: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md;
 * connect-timeout-ms: https://connectrpc.com/docs/protocol/#unary-request
 */
export function clampDeadlineHeaders(
  headers: IncomingHttpHeaders,
  maxMs: number,
  options: { defaultIfAbsent?: boolean } = {},
): void {
  if (
    options.defaultIfAbsent &&
    headers["grpc-timeout"] === undefined &&
    headers["connect-timeout-ms"] === undefined
  ) {
    // A call without a deadline would otherwise have none at all (connect applies its maximum
    // only to a deadline that was sent): a caller that never reads its answer would pin the call.
    // gRPC and gRPC-Web read grpc-timeout; the Connect protocol reads connect-timeout-ms.
    if (headers["content-type"]?.startsWith("application/grpc"))
      headers["grpc-timeout"] = grpcTimeout8Digits(maxMs);
    else headers["connect-timeout-ms"] = String(Math.floor(maxMs));
    return;
  }
  const grpcTimeout = headers["grpc-timeout"];
  if (typeof grpcTimeout === "string") {
    const match = GRPC_TIMEOUT.exec(grpcTimeout);
    if (match?.[1] && match[2] && Number(match[1]) * (MS_PER_UNIT[match[2]] ?? 0) > maxMs)
      headers["grpc-timeout"] = grpcTimeout8Digits(maxMs);
  }
  const connectTimeout = headers["connect-timeout-ms"];
  if (
    typeof connectTimeout === "string" &&
    /^\d{1,10}$/.test(connectTimeout) &&
    Number(connectTimeout) > maxMs
  )
    headers["connect-timeout-ms"] = String(Math.floor(maxMs));
}

/** grpc-timeout allows 8 digits: milliseconds up to ~27 hours, whole seconds beyond. */
function grpcTimeout8Digits(ms: number): string {
  const whole = Math.floor(ms);
  return whole <= 99_999_999 ? `${whole}m` : `${Math.floor(whole / 1000)}S`;
}
