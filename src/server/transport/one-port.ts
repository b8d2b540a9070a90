import type { Server as Http1Server } from "node:http";
import type { Http2Server } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type WireProtocol = "h2" | "h1";

/**
 * Which server a connection belongs to, from its first bytes: HTTP/2 with prior knowledge starts
 * with the connection preface (RFC 9113 §3.4), anything else is HTTP/1.x. Undefined while the
 * bytes seen so far are still a prefix of the preface.
 */
function protocolOf(firstBytes: Buffer): WireProtocol | undefined {
  const compared = Math.min(firstBytes.length, HTTP2_PREFACE.length);
  if (firstBytes.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared)))
    return compared === HTTP2_PREFACE.length ? "h2" : undefined;
  return "h1";
}

/**
 * One TCP listener for gRPC (h2c), Connect and gRPC-Web (HTTP/1.1 and h2c). Node's cleartext
 * http2 server ignores `allowHTTP1`, so each connection is sniffed and handed to the right
 * server with its first bytes put back. A connection not identified within `sniffTimeoutMs` of
 * arriving is closed: a hard deadline, not an inactivity timeout, so trickling the 24-byte
 * HTTP/2 preface a byte at a time does not extend it. Once handed over, the HTTP servers' own
 * bounds apply (see transport-limits.ts).
 */
export function createOnePortListener(options: {
  http1: Http1Server;
  http2: Http2Server;
  sniffTimeoutMs: number;
  onSocket?: (socket: Socket) => void;
}): NetServer {
  return createNetServer((socket) => {
    options.onSocket?.(socket);
    socket.setNoDelay(true);
    const deadline = setTimeout(() => socket.destroy(), options.sniffTimeoutMs);
    deadline.unref();
    socket.on("error", () => socket.destroy());
    socket.once("close", () => clearTimeout(deadline));
    let seen: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      // At most 23 bytes are kept between chunks: protocolOf decides by the 24th.
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const protocol = protocolOf(seen);
      if (!protocol) return;
      clearTimeout(deadline);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.pause();
      socket.unshift(seen);
      (protocol === "h2" ? options.http2 : options.http1).emit("connection", socket);
      // http2 reads the bytes we put back itself; the HTTP/1 parser takes them from the stream's
      // 'data' events, which stay stopped while the socket is paused.
      if (protocol === "h1") socket.resume();
    };
    // A client that half-closes before it can be identified will never be.
    const onEnd = () => socket.destroy();
    socket.on("data", onData);
    socket.once("end", onEnd);
  });
}
