import type { Clock, Timer } from "../core/clock.js";
import { ProviderError } from "../providers/provider-error.js";

/**
 * A route budget (total, first token, gap between tokens) as a timer on `clock` that aborts
 * `controller` with a `timeout` ProviderError as the reason, so the attempt that sees it is
 * classified as a timeout rather than a cancellation. No limit, no timer (a Timer that never fires).
 */
export function startBudgetTimer(
  clock: Clock,
  controller: AbortController,
  limitMs: number | undefined,
  describe: () => string,
): Timer {
  if (limitMs === undefined) return NEVER;
  return clock.startTimer(limitMs, () => controller.abort(new ProviderError("timeout", describe())));
}

const NEVER: Timer = { fired: false, cancel() {}, restart() {} };

/** Resolves after `ms` on `clock`, or as soon as `signal` aborts (never rejects). */
export function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      timer.cancel();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.startTimer(ms, done);
    signal.addEventListener("abort", done, { once: true });
  });
}
