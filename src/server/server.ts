import { createServer as createHttp1Server } from "node:http";
import { createServer as createHttp2Server, type Http2Session } from "node:http2";
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
import { clampDeadlineHeaders } from "./deadlines.js";
import { createHealthService, createHealthState, type HealthState } from "./health-service.js";
import { createOnePortListener } from "./one-port.js";
import { createReflectionServices } from "./reflection-service.js";
import { createRouterService } from "./router-service.js";

export interface ServerLimits {
  /** Largest request message, also after decompression. */
  maxBodyBytes: number;
  /** Deadlines above this are lowered to it (the call still runs, bounded by our maximum). */
  maxDeadlineMs: number;
  /** How long in-flight calls may take to finish once a drain starts. */
  drainTimeoutMs: number;
  /** A connection that sends no bytes at all within this is closed. */
  sniffTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxDeadlineMs: 10 * 60 * 1000,
  drainTimeoutMs: 10_000,
  sniffTimeoutMs: 10_000,
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

/** Services whose calls a drain waits for; health and reflection streams are not waited on. */
const DRAINED_SERVICES = new Set([RouterService.typeName, AdminService.typeName]);

export async function startServer(
  deps: ServerDeps,
  options: { host: string; port: number; limits?: Partial<ServerLimits> },
): Promise<RunningServer> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
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
    interceptors: [drainGate],
    readMaxBytes: limits.maxBodyBytes,
    maxTimeoutMs: limits.maxDeadlineMs,
    shutdownSignal: shutdown.signal,
    // Proto3 JSON drops zero values by default; callers reading `degraded: false` or a zero cost expect them.
    jsonOptions: { alwaysEmitImplicit: true },
  });
  const handle: typeof handler = (request, response) => {
    clampDeadlineHeaders(request.headers, limits.maxDeadlineMs);
    handler(request, response);
  };

  const http1 = createHttp1Server(handle);
  const http2 = createHttp2Server(handle);
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
        // net.Server#close calls back only once every connection is gone, so close them first.
        const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
        for (const session of sessions) session.close();
        http1.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await closed;
        log.info("stopped");
      })();
      return drained;
    },
  };
}

/** Passes a response stream through, calling `done` once when it ends, fails or is abandoned. */
async function* countUntilDone<T>(messages: AsyncIterable<T>, done: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    done();
  }
}
