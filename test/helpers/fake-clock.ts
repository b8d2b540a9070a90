import type { Clock, Timer } from "../../src/core/clock.js";

/** A Clock whose time only moves when a test says so. */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms`, firing every timer that falls due, earliest first, and letting
   * the code each one wakes run before the next fires.
   */
  advance(ms: number): Promise<void>;
  /** Timers scheduled and neither fired nor cancelled. */
  readonly pending: number;
}

interface Scheduled {
  at: number;
  onFire: () => void;
  active: boolean;
  fired: boolean;
  delay: number;
}

export function createFakeClock(start = 1000): FakeClock {
  let now = start;
  const timers = new Set<Scheduled>();
  return {
    now: () => now,
    startTimer(ms, onFire): Timer {
      const timer: Scheduled = { at: now + ms, onFire, active: true, fired: false, delay: ms };
      timers.add(timer);
      return {
        get fired() {
          return timer.fired;
        },
        cancel() {
          timer.active = false;
          timers.delete(timer);
        },
        restart() {
          if (timer.fired) return;
          timer.at = now + timer.delay;
          timer.active = true;
          timers.add(timer);
        },
      };
    },
    async advance(ms) {
      const until = now + ms;
      for (;;) {
        await settle();
        const due = [...timers]
          .filter((timer) => timer.active && timer.at <= until)
          .sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        now = due.at;
        timers.delete(due);
        due.active = false;
        due.fired = true;
        due.onFire();
      }
      now = until;
      await settle();
    },
    get pending() {
      return [...timers].filter((timer) => timer.active).length;
    },
  };
}

/** Lets queued promise callbacks and immediates run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
