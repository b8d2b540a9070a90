import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../../gen/health/v1/health_pb.js";
import { showInvisible } from "../../core/text.js";

/**
 * Serving status of the process and of each service it serves ("" = the whole server), the
 * grpc.health.v1 way: https://github.com/grpc/grpc/blob/master/doc/health-checking.md
 */
export interface HealthState {
  /** Marks every service NOT_SERVING (draining) or SERVING. */
  setServing(serving: boolean): void;
  status(service: string): Status | undefined;
  /** Every service with a status, "" included. */
  services(): string[];
  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: () => void): () => void;
}

export function createHealthState(services: string[]): HealthState {
  let serving = true;
  const known = new Set(["", ...services]);
  const listeners = new Set<() => void>();
  return {
    setServing(next) {
      if (serving === next) return;
      serving = next;
      for (const listener of listeners) listener();
    },
    services: () => [...known],
    status: (service) => (known.has(service) ? (serving ? Status.SERVING : Status.NOT_SERVING) : undefined),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export function createHealthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = state.status(request.service);
      if (status === undefined)
        throw new ConnectError(
          `unknown service ${JSON.stringify(showInvisible(request.service.slice(0, 256)))}`,
          Code.NotFound,
        );
      return { status };
    },
    async *watch(request, context) {
      // Sends the status now and on each change; ends when the caller goes away or the server closes.
      let changed: (() => void) | undefined;
      const unsubscribe = state.subscribe(() => changed?.());
      const stopped = new Promise<void>((resolve) =>
        context.signal.addEventListener("abort", () => resolve(), { once: true }),
      );
      try {
        let last: Status | undefined;
        while (!context.signal.aborted) {
          const status = state.status(request.service) ?? Status.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield { status };
          }
          await Promise.race([new Promise<void>((resolve) => (changed = resolve)), stopped]);
        }
      } finally {
        unsubscribe();
      }
    },
    list() {
      const statuses: Record<string, { status: Status }> = {};
      for (const service of state.services())
        statuses[service] = { status: state.status(service) ?? Status.UNKNOWN };
      return { statuses };
    },
  };
}
