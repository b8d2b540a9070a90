import type { NodeRequest, NodeResponse } from "./connect-handler.js";

export type { NodeRequest, NodeResponse };

/**
 * A front door that is plain HTTP rather than an RPC protocol (the OpenAI-compatible door), served
 * by the listener on the same port as connect, under the same transport bounds and drain.
 */
export interface HttpDoor {
  /** Whether this door answers `path` (without the query); connect answers the rest. */
  handles(path: string): boolean;
  handle(request: NodeRequest, response: NodeResponse, call: DoorCall): void;
}

/** What the listener lends a door for one request. */
export interface DoorCall {
  /** The request's path, without the query (never logged with it: a query may carry anything). */
  path: string;
  /**
   * Counts a call in flight until the returned function is called, so a drain waits for it;
   * undefined once a drain has started (the call must be refused as the server shutting down).
   */
  enter(): (() => void) | undefined;
  /** Aborted when a drain gives up waiting and cancels the calls still in flight. */
  shutdown: AbortSignal;
  /** Starts watching for a caller that stops reading (streams); aborted with a CallerStalledError. */
  watchStall(): AbortSignal;
}

/** Several doors on one listener: the first that answers a path takes it (the operator's /metrics and /console/). */
export function joinDoors(doors: readonly HttpDoor[]): HttpDoor {
  return {
    handles: (path) => doors.some((door) => door.handles(path)),
    handle(request, response, call) {
      doors.find((door) => door.handles(call.path))?.handle(request, response, call);
    },
  };
}
