import { createServer as createHttp1Server } from "node:http";
import {
  createServer as createHttp2Server,
  type Http2Session,
  constants as http2Constants,
} from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import type { Logger } from "pino";
import { type ConnectHandler, createConnectHandler } from "./connect-handler.js";
import { clampDeadlineHeaders } from "./deadlines.js";
import type { HttpDoor } from "./http-door.js";
import { reportInvalidUtf8ByField } from "./invalid-utf8.js";
import { createJsonRequestDecoder, jsonRequestText } from "./json-guard.js";
import { createOnePortListener } from "./one-port.js";
import { gateRequest } from "./request-gate.js";
import type { ServerLimits } from "./server-limits.js";
import {
  boundHttp2Sessions,
  http1ServerOptions,
  http2ServerOptions,
  refuseHeaderBlock,
  trackHttp1Connections,
} from "./transport-limits.js";
import { CALLER_STALLED, watchWriteStall } from "./write-stall.js";

export interface ListenerOptions {
  /** For log lines: "router", "operator". */
  name: string;
  host: string;
  port: number;
  limits: ServerLimits;
  logger: Logger;
  /** Registers the services this listener serves. */
  routes(router: ConnectRouter): void;
  /** Run inside the drain gate, outermost first. */
  interceptors: Interceptor[];
  /**
   * Services whose calls a drain waits for and refuses once it started, and which get the
   * maximum deadline when the caller sends none. Health and reflection streams are neither.
   */
  boundedServices: readonly string[];
  /** A plain-HTTP door served beside connect on the same port (the OpenAI-compatible one). */
  door?: HttpDoor;
}

export interface Listener {
  readonly port: number;
  readonly host: string;
  /**
   * Graceful stop: new calls to bounded services are refused with UNAVAILABLE, calls in flight get
   * `drainTimeoutMs` to finish, then the rest are cancelled and connections closed.
   */
  drain(): Promise<void>;
}

/** How long a drain lets connections flush what finished calls wrote before cutting them. */
const FLUSH_GRACE_MS = 1000;

/**
 * One TCP port serving gRPC (h2c), gRPC-Web and Connect (HTTP/1.1 and h2c) through connect-node,
 * with every client-controlled bound of `limits` applied (see transport-limits.ts, deadlines.ts,
 * json-guard.ts, request-gate.ts).
 */
export async function startListener(options: ListenerOptions): Promise<Listener> {
  const { limits } = options;
  reportInvalidUtf8ByField();
  const log = options.logger.child({ component: "server", listener: options.name });
  const bounded = new Set(options.boundedServices);
  const boundedPaths = options.boundedServices.map((service) => `/${service}/`);
  const shutdown = new AbortController();
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  /** Counts a call in flight until the returned function is called; undefined once draining. */
  const enter = (): (() => void) | undefined => {
    if (draining) return undefined;
    inFlight += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      inFlight -= 1;
      if (inFlight === 0) idle?.();
    };
  };

  const drainGate: Interceptor = (next) => async (request) => {
    if (!bounded.has(request.service.typeName)) return next(request);
    const finished = enter();
    if (!finished)
      throw new ConnectError("server is shutting down; retry on another replica", Code.Unavailable);
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

  const jsonOptions = {
    // Proto3 JSON drops zero values by default; callers reading `degraded: false` or a zero cost expect them.
    alwaysEmitImplicit: true,
    // connect's JSON serialization takes a decoder; its handler option type does not list it.
    textDecoder: createJsonRequestDecoder(limits.maxJsonDepth),
    // A typo (`dataClas`) must be refused, not silently leave the field at its default.
    ignoreUnknownFields: false,
  };
  const handler = createConnectHandler({
    logger: log,
    routes: options.routes,
    interceptors: [drainGate, ...options.interceptors],
    requestGate: gateRequest,
    readMaxBytes: limits.maxBodyBytes,
    maxTimeoutMs: limits.maxDeadlineMs,
    shutdownSignal: shutdown.signal,
    jsonOptions,
    contextValues(request) {
      const values = createContextValues();
      const stalled = stallSignals.get(request);
      if (stalled) values.set(CALLER_STALLED, stalled);
      return values;
    },
  });
  const stallSignals = new WeakMap<object, AbortSignal>();
  const handle: ConnectHandler["handle"] = (request, response) => {
    if (refuseHeaderBlock(request, response, limits)) return;
    const door = options.door;
    const path = request.url?.split("?", 1)[0] ?? "";
    if (door?.handles(path)) {
      door.handle(request, response, {
        path,
        enter,
        shutdown: shutdown.signal,
        watchStall: () =>
          watchWriteStall(request, response, limits.writeStallMs, () =>
            log.warn({ path, stalledMs: limits.writeStallMs }, "caller stopped reading; call cut"),
          ),
      });
      return;
    }
    // A unary answer is written once, after the call is done; a stream is what a caller can stall.
    if (handler.isStreaming(request.url ?? ""))
      stallSignals.set(
        request,
        watchWriteStall(request, response, limits.writeStallMs, () =>
          log.warn({ path: request.url, stalledMs: limits.writeStallMs }, "caller stopped reading; call cut"),
        ),
      );
    clampDeadlineHeaders(request.headers, limits.maxDeadlineMs, {
      // Health Watch and reflection streams legitimately stay open; the router's calls do not.
      defaultIfAbsent: boundedPaths.some((prefix) => request.url?.startsWith(prefix)),
    });
    try {
      if (request.headers["content-type"]?.includes("json"))
        jsonRequestText.run({}, handler.handle, request, response);
      else handler.handle(request, response);
    } catch (error) {
      // Whatever connect throws synchronously would escape node's 'request' event and end the process.
      log.error({ err: error }, "request handler threw");
      if ("stream" in request) request.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
      else request.socket.destroy();
    }
  };

  const http1 = createHttp1Server(http1ServerOptions(limits), handle);
  // `expect: 100-continue`: node would invite any body; one declared over the limit is refused
  // before the caller sends it.
  http1.on("checkContinue", (request, response) => {
    if (Number(request.headers["content-length"] ?? 0) > limits.maxBodyBytes) {
      response.writeHead(413, { connection: "close", "content-type": "text/plain" });
      response.end(`request body is larger than maxBodyBytes ${limits.maxBodyBytes}\n`);
      return;
    }
    response.writeContinue();
    handle(request, response);
  });
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
    drain() {
      drained ??= (async () => {
        draining = true;
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

/** Passes a response stream through, calling `done` once when it ends, fails or is abandoned. */
async function* countUntilDone<T>(messages: AsyncIterable<T>, done: () => void): AsyncIterable<T> {
  try {
    yield* messages;
  } finally {
    done();
  }
}
