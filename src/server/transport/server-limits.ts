import { MAX_TIMER_MS } from "./deadlines.js";

/**
 * Everything a client controls is bounded by one of these (this port takes service-mesh
 * traffic). Per-field bounds on request messages are in request-limits.ts.
 */
export interface ServerLimits {
  /**
   * Largest request message in bytes, also after decompression (zlib stops inflating there),
   * and largest declared gRPC frame length (refused before the body arrives). RESOURCE_EXHAUSTED.
   */
  maxBodyBytes: number;
  /**
   * Deadlines above this are lowered to it (the call still runs, bounded by our maximum).
   * At most 2^31-1 ms, the longest a Node timer honours.
   */
  maxDeadlineMs: number;
  /** How long in-flight calls may take to finish once a drain starts. */
  drainTimeoutMs: number;
  /** A connection not identified as HTTP/1.x or HTTP/2 within this of arriving is closed. */
  sniffTimeoutMs: number;
  /**
   * Largest request header block in bytes: the request line and headers for HTTP/1.1 (431 and
   * close), the RFC 7541 header list size for HTTP/2 (stream reset, RESOURCE_EXHAUSTED).
   */
  maxHeaderBytes: number;
  /** Most header fields in one request (HTTP/2 pseudo-headers count). */
  maxHeaderPairs: number;
  /** HTTP/1.1: the whole header block must arrive within this (slowloris); 408 and close. */
  headersTimeoutMs: number;
  /**
   * The whole request, body included, must arrive within this: HTTP/1.1 gets 408 and close, an
   * HTTP/2 stream is reset (CANCEL). Responses may take longer. Not below headersTimeoutMs.
   * Bidirectional streams (server reflection) count as still sending until the client half-closes.
   */
  requestTimeoutMs: number;
  /** A connection with no call in flight for this long is closed (HTTP/1.1 keep-alive, HTTP/2 GOAWAY). */
  idleTimeoutMs: number;
  /** HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Connect JSON requests nesting arrays and objects deeper than this are INVALID_ARGUMENT. */
  maxJsonDepth: number;
  /**
   * A response write that waits this long for the caller to read (a stream whose caller stopped
   * reading) cuts the call: its upstream request is aborted, the decision says why, the stream
   * is reset.
   */
  writeStallMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxDeadlineMs: 10 * 60 * 1000,
  drainTimeoutMs: 10_000,
  sniffTimeoutMs: 10_000,
  // Room for mesh headers (tracing, baggage, a JWT or two); Envoy's default is 60 KiB, gRPC Java's 8 KiB.
  maxHeaderBytes: 16 * 1024,
  // Node's own HTTP/2 default.
  maxHeaderPairs: 128,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 5 * 60 * 1000,
  maxConcurrentStreams: 128,
  // Requests nest about 4 levels; tool parameter schemas and metadata a few more.
  maxJsonDepth: 64,
  writeStallMs: 30_000,
};

/** Throws at startup on limits that cannot work, rather than misbehaving under load. */
export function checkLimits(limits: ServerLimits): ServerLimits {
  for (const [name, value] of Object.entries(limits))
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new Error(`server limit ${name} must be a positive integer, got ${value}`);
  if (limits.maxDeadlineMs > MAX_TIMER_MS)
    throw new Error(
      `server limit maxDeadlineMs must be at most ${MAX_TIMER_MS} (Node timers overflow above it)`,
    );
  // Node's http.Server refuses this combination too, less clearly.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new Error("server limit headersTimeoutMs must not exceed requestTimeoutMs");
  return limits;
}
