import { type Clock, systemClock } from "../../core/clock.js";
import {
  type AddItem,
  checkWindow,
  distinctKeys,
  fromUnits,
  type Reservation,
  type Reservations,
  type ReserveItem,
  type StateKey,
  type StateStore,
  toUnits,
} from "../store.js";

interface Counter {
  /** Whole millionths (store.ts). */
  units: number;
  expiresAt: number;
}

/**
 * The in-process StateStore: nothing to install, shared by every call of this process only.
 * Expired counters are dropped when next touched and swept every so often, so memory stays
 * bounded by the keys written within their windows.
 */
export function createMemoryStore(options: { clock?: Clock; sweepEvery?: number } = {}): StateStore {
  const clock = options.clock ?? systemClock;
  const sweepEvery = options.sweepEvery ?? 1024;
  const counters = new Map<StateKey, Counter>();
  let writes = 0;

  const live = (key: StateKey): Counter | undefined => {
    const counter = counters.get(key);
    if (counter && counter.expiresAt <= clock.now()) {
      counters.delete(key);
      return undefined;
    }
    return counter;
  };
  const write = (key: StateKey, units: number, windowMs: number): void => {
    const existing = live(key);
    if (existing) existing.units = units;
    else counters.set(key, { units, expiresAt: clock.now() + windowMs });
    writes += 1;
    if (writes % sweepEvery === 0) sweep();
  };
  const sweep = (): void => {
    const now = clock.now();
    for (const [key, counter] of counters) if (counter.expiresAt <= now) counters.delete(key);
  };
  /** Every amount checked (and converted) before any counter is written. */
  const addAll = (items: readonly AddItem[]): number[] => {
    distinctKeys(items);
    for (const item of items) checkWindow(item.windowMs);
    const units = items.map((item) => toUnits(item.amount));
    return items.map((item, index) => {
      const next = (live(item.key)?.units ?? 0) + (units[index] ?? 0);
      write(item.key, next, item.windowMs);
      return fromUnits(next);
    });
  };
  /** Every amount checked (and converted) before any counter is read or written: all or nothing. */
  const reserveAll = (items: readonly ReserveItem[]): Reservations => {
    distinctKeys(items);
    for (const item of items) checkWindow(item.windowMs);
    const asked = items.map((item) => ({ units: toUnits(item.amount), limit: toUnits(item.limit) }));
    const current = items.map((item) => live(item.key)?.units ?? 0);
    const refusedAt = asked.findIndex(({ units, limit }, index) => (current[index] ?? 0) + units > limit);
    if (refusedAt >= 0) return { granted: false, values: current.map(fromUnits), refusedAt };
    const values = items.map((item, index) => {
      const next = (current[index] ?? 0) + (asked[index]?.units ?? 0);
      write(item.key, next, item.windowMs);
      return fromUnits(next);
    });
    return { granted: true, values };
  };

  return {
    async add(key, amount, windowMs) {
      return addAll([{ key, amount, windowMs }])[0] ?? 0;
    },
    async addAll(items) {
      return addAll(items);
    },
    async reserve(key, amount, limit, windowMs): Promise<Reservation> {
      const { granted, values } = reserveAll([{ key, amount, limit, windowMs }]);
      return { granted, value: values[0] ?? 0 };
    },
    async reserveAll(items) {
      return reserveAll(items);
    },
    async raise(key, value, windowMs) {
      checkWindow(windowMs);
      const units = toUnits(value);
      const until = clock.now() + windowMs;
      const existing = live(key);
      if (!existing) {
        write(key, units, windowMs);
        return fromUnits(units);
      }
      existing.units = Math.max(existing.units, units);
      existing.expiresAt = Math.max(existing.expiresAt, until);
      return fromUnits(existing.units);
    },
    async get(key) {
      return fromUnits(live(key)?.units ?? 0);
    },
    async close() {
      counters.clear();
    },
  };
}
