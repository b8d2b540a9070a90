import type { Server as Http1Server, ServerOptions as Http1ServerOptions, IncomingMessage } from "node:http";
import {
  type Http2Server,
  type ServerOptions as Http2ServerOptions,
  type Http2ServerRequest,
  type Http2Session,
  type Http2Stream,
  constants as http2Constants,
} from "node:http2";
import type { ServerLimits } from "./server-limits.js";

/** The HTTP-level bounds of the front door (see ServerLimits for what each means). */
export type TransportLimits = Pick<
  ServerLimits,
  | "maxHeaderBytes"
  | "maxHeaderPairs"
  | "headersTimeoutMs"
  | "requestTimeoutMs"
  | "idleTimeoutMs"
  | "maxConcurrentStreams"
>;

/**
 * HTTP/1.1 server options. `maxHeaderSize` covers the request line and headers: above it node
 * answers 431 and closes. `maxHeadersCount` is one above the limit because node silently drops
 * headers past it; `refuseHeaderBlock` then refuses the request instead. headersTimeout and
 * requestTimeout only work once `trackHttp1Connections` has run.
 */
export function http1ServerOptions(limits: TransportLimits): Http1ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks both timeouts on this interval (default 30 s), so it is part of the bound.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * HTTP/2 server options. `maxHeaderListSize` is advertised in SETTINGS and node enforces it only
 * once the client has acknowledged them; a client that sends a header block before that is held
 * to node's internal ceilings (maxHeaderListPairs, maxSessionMemory, nghttp2's CONTINUATION
 * cap), and then to the same limit by `refuseHeaderBlock`.
 */
export function http2ServerOptions(limits: TransportLimits): Http2ServerOptions {
  return {
    maxHeaderListPairs: limits.maxHeaderPairs,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderBytes,
    },
  };
}

/**
 * Starts node's header and request timeouts on an HTTP/1.1 server that never listens itself (it
 * receives sockets from the one-port sniffer). Node keeps the list of connections those timeouts
 * check, and the interval checking it, from a `listening` handler installed by the http.Server
 * constructor (`setupConnectionsTracking` in lib/_http_server.js); without it a slowloris client
 * trickling header bytes holds its connection forever, and `closeAllConnections()` finds nothing.
 * Must run before the first connection is handed over: connections are registered on arrival.
 * Stop the interval with `server.close()`.
 */
export function trackHttp1Connections(server: Http1Server): void {
  server.emit("listening");
}

/**
 * Bounds HTTP/2 connections in time, which node's http2 server does not do by itself:
 * - a stream whose request has not fully arrived (END_STREAM) within `requestTimeoutMs` of its
 *   headers is reset with CANCEL (a body trickled forever, or one never ended);
 * - a session with no open stream for `idleTimeoutMs` is closed with GOAWAY, which also covers
 *   a client that sends the preface and then nothing. Open streams keep a session alive however
 *   quiet they are: a model may think for minutes before its first token.
 */
export function boundHttp2Sessions(server: Http2Server, limits: TransportLimits): void {
  server.on("session", (session: Http2Session) => {
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      idle = setTimeout(() => closeSession(session), limits.idleTimeoutMs);
    };
    const disarm = () => clearTimeout(idle);
    arm();
    session.on("stream", (stream: Http2Stream) => {
      open += 1;
      disarm();
      const request = setTimeout(() => {
        if (!stream.destroyed && !stream.state.remoteClose) stream.close(http2Constants.NGHTTP2_CANCEL);
      }, limits.requestTimeoutMs);
      // A response that ends before its request did (a refused body, an expired deadline) asks
      // the client to stop sending with RST_STREAM(NO_ERROR), as RFC 9113 §8.1 allows. Otherwise a
      // client still uploading a refused body keeps the stream and its flow-control window until
      // requestTimeoutMs. node's compat layer sends the trailers from its own 'wantTrailers'
      // listener, registered before this one; RST_STREAM is queued behind them.
      stream.on("wantTrailers", () =>
        setImmediate(() => {
          if (!stream.closed && !stream.destroyed && !stream.state.remoteClose)
            stream.close(http2Constants.NGHTTP2_NO_ERROR);
        }),
      );
      stream.once("close", () => {
        clearTimeout(request);
        open -= 1;
        if (open === 0 && !session.closed && !session.destroyed) arm();
      });
    });
    session.once("close", disarm);
  });
}

function closeSession(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.close();
  // A peer that never reads can hold a graceful close open; it gets a moment, then the socket goes.
  setTimeout(() => session.destroy(), 1000).unref();
}

/**
 * Refuses a request whose header block is over the limits, or that names no authority (connect
 * needs one and throws synchronously without it, which would crash the process from inside
 * node's 'request' event). Returns true when it answered the request itself.
 * HTTP/2 header blocks are measured as RFC 7541 §4.1 header list size (name + value + 32 per
 * field, pseudo-headers included), as the SETTINGS_MAX_HEADER_LIST_SIZE node advertises; when
 * exceeded the stream is reset with ENHANCE_YOUR_CALM, which gRPC clients read as
 * RESOURCE_EXHAUSTED. HTTP/1.1 gets 431 and the connection is closed.
 */
export function refuseHeaderBlock(
  request: IncomingMessage | Http2ServerRequest,
  response: { writeHead(status: number, headers: Record<string, string>): { end(): unknown } },
  limits: TransportLimits,
): boolean {
  const raw = request.rawHeaders;
  if ("stream" in request) {
    let size = 0;
    for (const field of raw) size += field.length;
    size += (raw.length / 2) * 32;
    if (size > limits.maxHeaderBytes || raw.length / 2 > limits.maxHeaderPairs) {
      request.stream.close(http2Constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return true;
    }
    if (request.authority === undefined || request.authority === "") {
      request.stream.close(http2Constants.NGHTTP2_PROTOCOL_ERROR);
      return true;
    }
    return false;
  }
  if (raw.length / 2 > limits.maxHeaderPairs) {
    response.writeHead(431, { connection: "close" }).end();
    return true;
  }
  // HTTP/1.1 without Host is already refused by node (requireHostHeader); HTTP/1.0 is not.
  if (!request.headers.host) {
    response.writeHead(400, { connection: "close" }).end();
    return true;
  }
  return false;
}
