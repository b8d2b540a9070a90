/** A running timer. */
export interface Timer {
  /** Stops it; it will not fire. */
  cancel(): void;
  /** Starts counting its delay again from now (also after `cancel`). No effect once it fired. */
  restart(): void;
  /** True once it has fired. */
  readonly fired: boolean;
}

/**
 * Time as the pipeline sees it: a monotonic `now()` in milliseconds and timers. Injected so step
 * tests can move time by hand instead of waiting for it.
 */
export interface Clock {
  now(): number;
  /** Calls `onFire` once, `ms` from now, unless cancelled. Timers never keep the process alive. */
  startTimer(ms: number, onFire: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  startTimer(ms, onFire) {
    let fired = false;
    let handle: NodeJS.Timeout | undefined;
    /** When it is due, on `now()`. */
    let due = 0;
    /** Whether `handle` waits for the rest of the delay (a shorter timeout than `ms`). */
    let topUp = false;
    // Node's timers run on the event loop's millisecond clock and can fire up to a millisecond
    // before performance.now() reaches the delay: a wait for a 429's retry-after that ends early
    // finds the target still cooling. What is left is waited for, so `now()` at `onFire` is never
    // short of the delay.
    const fire = () => {
      const left = due - performance.now();
      if (left > 0) {
        topUp = true;
        handle = setTimeout(fire, Math.ceil(left));
        handle.unref();
        return;
      }
      fired = true;
      handle = undefined;
      onFire();
    };
    const arm = () => {
      due = performance.now() + ms;
      topUp = false;
      handle = setTimeout(fire, ms);
      handle.unref();
    };
    arm();
    return {
      get fired() {
        return fired;
      },
      cancel() {
        clearTimeout(handle);
        handle = undefined;
      },
      restart() {
        if (fired) return;
        if (handle && !topUp) {
          due = performance.now() + ms;
          handle.refresh();
        } else {
          clearTimeout(handle);
          arm();
        }
      },
    };
  },
};
