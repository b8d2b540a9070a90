import { ProviderError } from "../providers/provider-error.js";

/**
 * Aborts `controller` after `limitMs` with a `timeout` ProviderError as the reason, so the attempt
 * that sees it is classified as a timeout rather than a cancellation. `restart()` pushes the
 * deadline out again (the gap between tokens) by refreshing the one timer. No limit, no timer.
 */
export interface BudgetTimer {
  /** True once this timer has fired. */
  readonly expired: boolean;
  restart(): void;
  clear(): void;
}

export function startBudgetTimer(
  controller: AbortController,
  limitMs: number | undefined,
  describe: () => string,
): BudgetTimer {
  if (limitMs === undefined) return { expired: false, restart() {}, clear() {} };
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new ProviderError("timeout", describe()));
  }, limitMs);
  timer.unref();
  return {
    get expired() {
      return expired;
    },
    restart: () => {
      if (!expired) timer.refresh();
    },
    clear: () => clearTimeout(timer),
  };
}
