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
  on(event: "drain", listener: () => void): unknown;
  once(event: "close" | "finish", listener: () => void): unknown;
}

/**
 * Bounds how long a response write may wait for the caller to read. A caller that stops reading
 * a stream (its HTTP/2 flow-control window at zero, or a full socket) would otherwise hold the
 * call, and the upstream request behind it, until its deadline. Once a write has waited
 * `stallMs` for room: the returned signal is aborted with a CallerStalledError (so the call
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
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const stall = () => {
    timer = undefined;
    controller.abort(new CallerStalledError(stallMs));
    onStall();
    if ("stream" in request) request.stream.close(http2Constants.NGHTTP2_CANCEL);
    else request.socket.destroy();
  };
  const write = response.write;
  // connect writes each message and waits for 'drain' when write() says the buffer is full.
  response.write = function (this: WatchedResponse, ...args: unknown[]): boolean {
    const accepted: boolean = Reflect.apply(write, this, args);
    if (!accepted && timer === undefined && !controller.signal.aborted) timer = setTimeout(stall, stallMs);
    return accepted;
  };
  response.on("drain", disarm);
  response.once("close", disarm);
  response.once("finish", disarm);
  return controller.signal;
}
