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
    const arm = () => {
      handle = setTimeout(() => {
        fired = true;
        handle = undefined;
        onFire();
      }, ms);
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
        if (handle) handle.refresh();
        else arm();
      },
    };
  },
};
