import type { Switchyard } from "../app.js";
import { namedTargets } from "../core/policy.js";
import type { TargetId } from "../core/types.js";
import type { TargetView } from "../health/target-health.js";
import type { DecisionFilter, SpendQuery } from "../record/decision-log.js";
import { createPrimaryStore } from "../state/primary/primary-store.js";
import type { StateStore } from "../state/store.js";
import { connectChannel, primaryChannel } from "./ipc.js";
import { viewToEpoch } from "./merge.js";

/** What a worker learns from its primary before it starts serving. */
export interface WorkerStart {
  /** The policy text in force in the primary (what it last applied). */
  policyText: string;
  /** Targets an operator took out of service, with why. */
  drills: Array<[TargetId, string]>;
}

export interface PrimaryLink {
  start: WorkerStart;
  /** The primary's memory store, for the policy's `state.store: memory`. */
  store: StateStore;
  /** Answers the primary's requests from `app` from now on, and says the worker is listening. */
  serving(app: Switchyard): Promise<void>;
  /** Tells the primary why this worker cannot start (it fails the start with that reason). */
  failed(reason: string): Promise<void>;
}

/** How long a state operation waits for the primary before it is refused as unavailable. */
const STATE_TIMEOUT_MS = 2_000;

/**
 * The worker's side of `serve --workers N`: asks the primary what to start with, and once the
 * app is up answers the primary's requests (a reload's text, drills, target views, decisions).
 * Requests that arrive while the app is still starting wait for it.
 */
export async function joinPrimary(): Promise<PrimaryLink> {
  let started: (app: Switchyard) => void = () => {};
  const app = new Promise<Switchyard>((resolve) => (started = resolve));
  const link = connectChannel(
    primaryChannel(),
    {
      "policy.apply": async (body: { text: string; trigger: string }) =>
        (await app).reloader.apply(`${body.trigger}, from the primary`, body.text),
      "health.drill": async (body: { target: TargetId; reason: string }) => {
        (await app).health.takeOutOfService(body.target, body.reason);
      },
      "health.return": async (body: { target: TargetId }) => (await app).health.returnToService(body.target),
      "health.views": async (): Promise<Array<[TargetId, TargetView]>> => {
        const running = await app;
        // Each breaker under the settings of the policy in force here (the primary's, as forwarded).
        const named = namedTargets(running.policies.current());
        return [...running.health.views((id) => named.get(id)?.breaker)].map(([target, view]) => [
          target,
          viewToEpoch(view),
        ]);
      },
      "decisions.byCall": async (body: { callId: string }) => (await app).decisions.byCall(body.callId),
      "decisions.byTrace": async (body: { traceId: string }) => (await app).decisions.byTrace(body.traceId),
      "decisions.list": async (body: DecisionFilter) => (await app).decisions.list(body),
      "decisions.spend": async (body: SpendQuery) => (await app).decisions.spend(body),
    },
    { timeoutMs: STATE_TIMEOUT_MS },
  );
  const start = await link.request<WorkerStart>("worker.hello");
  return {
    start,
    store: createPrimaryStore((kind, body) => link.request(kind, body)),
    async serving(running) {
      for (const [target, reason] of start.drills) running.health.takeOutOfService(target, reason);
      started(running);
      await link.request("worker.listening", { host: running.server.host, port: running.server.port });
    },
    async failed(reason) {
      await link.request("worker.failed", { reason }, 1_000).catch(() => {});
    },
  };
}
