import type { IncomingMessage } from "node:http";
import { type Http2ServerRequest, constants as http2Constants } from "node:http2";
import { createContextKey } from "@connectrpc/connect";
import { CallerStalledError } from "../../core/errors.js";

/**
 * Aborted when the caller stopped reading this call's response (see watchWriteStall), with a
 * CallerStalledError as the reason. A handler that streams joins it into its call's signal.
 */
export const CALLER_STALLED = createContextKey<AbortSignal | undefined>(undefined, {
  description: "caller stopped reading",
});

/** What the watch needs of a node HTTP/1.1 or HTTP/2 server response. */
interface WatchedResponse {
  write: (...args: never[]) => boolean;
  readonly writableLength: number;
  once(event: "close" | "finish", listener: () => void): unknown;
}

/**
 * Bounds how long a response may go without any of it reaching the caller. A caller that stops
 * reading a stream (its HTTP/2 flow-control window at zero, or a full socket) would otherwise hold
 * the call, and the upstream request behind it, until its deadline; node buffers 64 KiB of a
 * stream before a write even says so, which a slow answer takes minutes to fill. So progress is
 * measured, not buffer fullness: every so often the bytes the caller has taken (written minus
 * still waiting to go out) are compared with the last sample, and once `stallMs` pass with bytes
 * waiting and none taken, the returned signal is aborted with a CallerStalledError (so the call
 * aborts its upstream request and records why), then the stream is reset (HTTP/2 CANCEL) or the
 * connection closed (HTTP/1.1), which fails the write connect is waiting on.
 */
export function watchWriteStall(
  request: IncomingMessage | Http2ServerRequest,
  response: WatchedResponse,
  stallMs: number,
  onStall: () => void,
): AbortSignal {
  const controller = new AbortController();
  // Bytes written but not yet handed to the network: node's stream buffer and, for HTTP/2, the
  // frames waiting for the caller's window.
  // (node's HTTP/1.1 response counts its socket's buffer in its own writableLength already).
  const waiting = "stream" in request ? () => request.stream.bufferSize : () => response.writableLength;
  let written = 0;
  let taken = 0;
  let lastProgress = Date.now();
  const sample = setInterval(
    () => {
      const now = Date.now();
      const pending = waiting();
      const takenNow = written - pending;
      if (pending === 0 || takenNow > taken) {
        taken = takenNow;
        lastProgress = now;
      } else if (now - lastProgress >= stallMs) stall();
    },
    Math.max(10, Math.min(1000, Math.floor(stallMs / 4))),
  );
  sample.unref();
  const stop = () => clearInterval(sample);
  const stall = () => {
    stop();
    controller.abort(new CallerStalledError(stallMs));
    onStall();
    if ("stream" in request) request.stream.close(http2Constants.NGHTTP2_CANCEL);
    else request.socket.destroy();
  };
  const write = response.write;
  response.write = function (this: WatchedResponse, ...args: unknown[]): boolean {
    const [chunk] = args;
    written +=
      typeof chunk === "string"
        ? Buffer.byteLength(chunk)
        : ((chunk as Uint8Array | undefined)?.byteLength ?? 0);
    return Reflect.apply(write, this, args);
  };
  response.once("close", stop);
  response.once("finish", stop);
  return controller.signal;
}
