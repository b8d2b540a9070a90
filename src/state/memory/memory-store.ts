import { type Clock, systemClock } from "../../core/clock.js";
import type { Reservation, StateStore } from "../store.js";

interface Counter {
  value: number;
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
  const counters = new Map<string, Counter>();
  let writes = 0;

  const live = (key: string): Counter | undefined => {
    const counter = counters.get(key);
    if (counter && counter.expiresAt <= clock.now()) {
      counters.delete(key);
      return undefined;
    }
    return counter;
  };
  const write = (key: string, value: number, windowMs: number): void => {
    const existing = live(key);
    if (existing) existing.value = value;
    else counters.set(key, { value, expiresAt: clock.now() + windowMs });
    writes += 1;
    if (writes % sweepEvery === 0) sweep();
  };
  const sweep = (): void => {
    const now = clock.now();
    for (const [key, counter] of counters) if (counter.expiresAt <= now) counters.delete(key);
  };

  return {
    async add(key, amount, windowMs) {
      const value = (live(key)?.value ?? 0) + amount;
      write(key, value, windowMs);
      return value;
    },
    async reserve(key, amount, limit, windowMs): Promise<Reservation> {
      const current = live(key)?.value ?? 0;
      if (current + amount > limit) return { granted: false, value: current };
      write(key, current + amount, windowMs);
      return { granted: true, value: current + amount };
    },
    async get(key) {
      return live(key)?.value ?? 0;
    },
    async close() {
      counters.clear();
    },
  };
}
