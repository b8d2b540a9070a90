import type { Logger } from "pino";
import type { StatePolicy } from "../core/policy.js";
import { createMemoryStore } from "./memory/memory-store.js";
import { createRedisStore, redactedUrl } from "./redis/redis-store.js";
import type { StateStore } from "./store.js";

/**
 * The store the policy's `state:` names, created once at start (a reload never swaps it). A Redis
 * store connects in the background: start does not wait for Redis, and calls made before it
 * answers behave as the policy's `on_unavailable` says.
 *
 * `primaryStore`, in a `serve --workers N` worker, is the primary's memory store
 * (state/primary/): with `store: memory` the workers count against it, not each in its own.
 */
export function createStateStore(state: StatePolicy, logger: Logger, primaryStore?: StateStore): StateStore {
  switch (state.store) {
    case "memory":
      if (primaryStore) {
        logger.info({ store: "memory" }, "state kept in the cluster primary, shared by every worker");
        return primaryStore;
      }
      logger.info({ store: "memory" }, "state kept in this process");
      return createMemoryStore();
    case "redis":
      logger.info(
        { store: "redis", redis: redactedUrl(state.url), onUnavailable: state.onUnavailable },
        "state shared through Redis",
      );
      return createRedisStore({
        url: state.url,
        keyPrefix: state.keyPrefix,
        commandTimeoutMs: state.commandTimeoutMs,
        onUnavailable: state.onUnavailable,
        logger,
      });
    default:
      return state satisfies never;
  }
}
