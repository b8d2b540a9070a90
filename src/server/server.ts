import { createServer as createHttp1Server } from "node:http";
import {
  createServer as createHttp2Server,
  type Http2Session,
  constants as http2Constants,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import type { PolicyStore } from "../config/policy-store.js";
import type { Pipeline } from "../core/pipeline.js";
import type { DecisionLog } from "../record/decision-log.js";
import { createAdminService } from "./admin-service.js";
import { clampDeadlineHeaders, MAX_TIMER_MS } from "./deadlines.js";
import { createHealthService, createHealthState, type HealthState } from "./health-service.js";
import { createJsonRequestDecoder } from "./json-guard.js";
import { createOnePortListener } from "./one-port.js";
import { createReflectionServices } from "./reflection-service.js";
import { gateRequest } from "./request-gate.js";
import { checkRequestLimits } from "./request-limits.js";
import { createRouterService } from "./router-service.js";
import type { RouterRequest } from "./to-domain.js";
import {
  boundHttp2Sessions,
  http1ServerOptions,
  http2ServerOptions,
  refuseHeaderBlock,
  trackHttp1Connections,
} from "./transport-limits.js";

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
};

export interface ServerDeps {
  pipeline: Pipeline;
  policies: PolicyStore;
  decisions: DecisionLog;
  logger: Logger;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  readonly health: HealthState;
  /**
   * Graceful stop: health goes NOT_SERVING, new calls are refused with UNAVAILABLE, calls in
   * flight get `drainTimeoutMs` to finish, then the rest are cancelled and connections closed.
   */
  drain(): Promise<void>;
}

/** How long a drain lets connections flush what finished calls wrote before cutting them. */
const FLUSH_GRACE_MS = 1000;

/** Services whose calls a drain waits for; health and reflection streams are not waited on. */
const DRAINED_SERVICES = new Set([RouterService.typeName, AdminService.typeName]);
/** Calls to these get the maximum deadline when the caller sends none. */
const BOUNDED_PATHS = [...DRAINED_SERVICES].map((service) => `/${service}/`);

export async function startServer(
  deps: ServerDeps,
  options: { host: string; port: number; limits?: Partial<ServerLimits> },
): Promise<RunningServer> {
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const log = deps.logger.child({ component: "server" });
  const health = createHealthState([RouterService.typeName, AdminService.typeName]);
  const shutdown = new AbortController();
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const finished = () => {
    inFlight -= 1;
    if (inFlight === 0) idle?.();
  };

  const drainGate: Interceptor = (next) => async (request) => {
    if (!DRAINED_SERVICES.has(request.service.typeName)) return next(request);
    if (draining)
      throw new ConnectError("server is shutting down; retry on another replica", Code.Unavailable);
    inFlight += 1;
    try {
      const response = await next(request);
      if (!response.stream) {
        finished();
        return response;
      }
      return { ...response, message: countUntilDone(response.message, finished) };
    } catch (error) {
      finished();
      throw error;
    }
  };

  /** Per-field bounds of request-limits.ts, for every RouterService call, before the handler maps it. */
  const requestLimitsGate: Interceptor = (next) => async (request) => {
    if (request.service.typeName !== RouterService.typeName) return next(request);
    if (!request.stream) {
      checkRequestLimits(request.message as RouterRequest);
      return next(request);
    }
    return next({ ...request, message: checkEach(request.message) });
  };

  const jsonOptions = {
    // Proto3 JSON drops zero values by default; callers reading `degraded: false` or a zero cost expect them.
    alwaysEmitImplicit: true,
    // connect's JSON serialization takes a decoder; its handler option type does not list it.
    textDecoder: createJsonRequestDecoder(limits.maxJsonDepth),
  };

  const reflection = createReflectionServices([
    RouterService,
    AdminService,
    Health,
    ReflectionV1,
    ReflectionV1alpha,
  ]);
  const handler = connectNodeAdapter({
    routes(router: ConnectRouter) {
      router.service(RouterService, createRouterService({ pipeline: deps.pipeline, logger: log }));
      router.service(
        AdminService,
        createAdminService({ policies: deps.policies, decisions: deps.decisions }),
      );
      router.service(Health, createHealthService(health));
      router.service(ReflectionV1, reflection.v1);
      router.service(ReflectionV1alpha, reflection.v1alpha);
    },
    interceptors: [drainGate, requestLimitsGate],
    requestGate: gateRequest,
    readMaxBytes: limits.maxBodyBytes,
    maxTimeoutMs: limits.maxDeadlineMs,
    shutdownSignal: shutdown.signal,
    jsonOptions,
  });
  const handle: typeof handler = (request, response) => {
    if (refuseHeaderBlock(request, response, limits)) return;
    clampDeadlineHeaders(request.headers, limits.maxDeadlineMs, {
      // Health Watch and reflection streams legitimately stay open; the router's calls do not.
      defaultIfAbsent: BOUNDED_PATHS.some((prefix) => request.url?.startsWith(prefix)),
    });
    try {
      handler(request, response);
    } catch (error) {
      // Whatever connect throws synchronously would escape node's 'request' event and end the process.
      log.error({ err: error }, "request handler threw");
      if ("stream" in request) request.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
      else request.socket.destroy();
    }
  };

  const http1 = createHttp1Server(http1ServerOptions(limits), handle);
  trackHttp1Connections(http1);
  const http2 = createHttp2Server(http2ServerOptions(limits), handle);
  boundHttp2Sessions(http2, limits);
  const sockets = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  http2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const listener = createOnePortListener({
    http1,
    http2,
    sniffTimeoutMs: limits.sniffTimeoutMs,
    onSocket(socket) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    },
  });

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const address = listener.address() as AddressInfo;
  log.info({ host: address.address, port: address.port }, "listening");

  let drained: Promise<void> | undefined;
  return {
    port: address.port,
    host: address.address,
    health,
    drain() {
      drained ??= (async () => {
        draining = true;
        health.setServing(false);
        log.info({ inFlight }, "draining");
        if (inFlight > 0) {
          const bound = setTimeout(() => idle?.(), limits.drainTimeoutMs);
          await new Promise<void>((resolve) => (idle = resolve));
          clearTimeout(bound);
        }
        if (inFlight > 0) log.warn({ inFlight }, "drain bound reached; cancelling calls still in flight");
        shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
        // net.Server#close calls back only once every connection is gone.
        const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
        // A call counts as finished once its handler has produced its last message, which may
        // not be on the wire yet: GOAWAY and closing idle HTTP/1.1 connections let those last
        // messages and trailers go out (destroying sockets at once reset them with CANCEL);
        // whatever is still open after a short grace is cut.
        for (const session of sessions) session.close();
        // Also stops the interval trackHttp1Connections started.
        http1.close();
        const grace = setTimeout(
          () => {
            http1.closeAllConnections();
            for (const socket of sockets) socket.destroy();
          },
          Math.min(FLUSH_GRACE_MS, limits.drainTimeoutMs),
        );
        await closed;
        clearTimeout(grace);
        log.info("stopped");
      })();
      return drained;
    },
  };
}

/** Checks each request message of a streaming call as connect reads it. */
async function* checkEach<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  for await (const message of messages) {
    checkRequestLimits(message as RouterRequest);
    yield message;
  }
}

/** Throws at startup on limits that cannot work, rather than misbehaving under load. */
function checkLimits(limits: ServerLimits): ServerLimits {
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

/** Passes a response stream through, calling `done` once when it ends, fails or is abandoned. */
async function* countUntilDone<T>(messages: AsyncIterable<T>, done: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    done();
  }
}
