import { StateUnavailableError } from "../../core/errors.js";
import {
  type AddItem,
  checkWindow,
  distinctKeys,
  type Reservation,
  type Reservations,
  type ReserveItem,
  type StateKey,
  type StateStore,
  toUnits,
} from "../store.js";

/** Sends one request to the process holding the store and resolves with its answer. */
export type StoreRequest = <T>(kind: string, body: unknown) => Promise<T>;

/**
 * A StateStore whose counters are held by another process (the cluster primary's memory store,
 * served by `serveStateStore`), reached by one small request per operation. Under `serve
 * --workers N` with `state.store: memory`, every worker uses one of these, so budgets and limits
 * count every worker's calls against one counter: a reservation is checked and added in the
 * primary in one step, as the memory store does it, never split across processes.
 *
 * Amounts and limits are checked here (RangeError for one the store cannot count exactly) before
 * anything is sent. A request the primary does not answer (`request` times out, or the channel
 * is gone) rejects with StateUnavailableError; the operation may or may not have been applied.
 * `close` closes nothing shared: the counters belong to the primary.
 */
export function createPrimaryStore(request: StoreRequest): StateStore {
  const ask = async <T>(kind: string, body: unknown): Promise<T> => {
    try {
      return await request<T>(kind, body);
    } catch (error) {
      if (error instanceof RangeError) throw error;
      throw new StateUnavailableError({ cause: error });
    }
  };
  const addAll = async (items: readonly AddItem[]): Promise<number[]> => {
    distinctKeys(items);
    for (const item of items) {
      toUnits(item.amount);
      checkWindow(item.windowMs);
    }
    return ask<number[]>("state.addAll", { items });
  };
  const reserveAll = async (items: readonly ReserveItem[]): Promise<Reservations> => {
    distinctKeys(items);
    for (const item of items) {
      toUnits(item.amount);
      toUnits(item.limit);
      checkWindow(item.windowMs);
    }
    return ask<Reservations>("state.reserveAll", { items });
  };
  return {
    async add(key, amount, windowMs) {
      return (await addAll([{ key, amount, windowMs }]))[0] ?? 0;
    },
    addAll,
    async reserve(key, amount, limit, windowMs): Promise<Reservation> {
      const { granted, values } = await reserveAll([{ key, amount, limit, windowMs }]);
      return { granted, value: values[0] ?? 0 };
    },
    reserveAll,
    async raise(key, value, windowMs) {
      toUnits(value);
      checkWindow(windowMs);
      return ask<number>("state.raise", { key, value, windowMs });
    },
    get(key) {
      return ask<number>("state.get", { key });
    },
    async close() {},
  };
}

/** The requests a `createPrimaryStore` sends, answered from `store` (the primary's). */
export function serveStateStore(store: StateStore) {
  return {
    "state.addAll": (body: { items: AddItem[] }) => store.addAll(body.items),
    "state.reserveAll": (body: { items: ReserveItem[] }) => store.reserveAll(body.items),
    "state.raise": (body: { key: StateKey; value: number; windowMs: number }) =>
      store.raise(body.key, body.value, body.windowMs),
    "state.get": (body: { key: StateKey }) => store.get(body.key),
  };
}
