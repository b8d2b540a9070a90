import { ProviderError } from "../providers/provider-error.js";

/**
 * Aborts `controller` after `limitMs` with a `timeout` ProviderError as the reason, so the attempt
 * that sees it is classified as a timeout rather than a cancellation. No limit, no timer.
 */
export interface BudgetTimer {
  /** True once this timer has fired. */
  readonly expired: boolean;
  /** Starts counting `limitMs` again from now (re-arming a stopped timer). No-op once expired. */
  restart(): void;
  /** Stops counting until `restart()`. */
  stop(): void;
}

export function startBudgetTimer(
  controller: AbortController,
  limitMs: number | undefined,
  describe: () => string,
): BudgetTimer {
  if (limitMs === undefined) return { expired: false, restart() {}, stop() {} };
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      expired = true;
      controller.abort(new ProviderError("timeout", describe()));
    }, limitMs);
    timer.unref();
  };
  arm();
  return {
    get expired() {
      return expired;
    },
    restart() {
      if (expired) return;
      if (timer) timer.refresh();
      else arm();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
