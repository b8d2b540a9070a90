import { Code, ConnectError } from "@connectrpc/connect";
import { CallEndedError } from "../../core/errors.js";

/**
 * The signal the pipeline gets for a call: aborted when connect's is (the caller left, its
 * deadline passed, the server is shutting down) or when `stalled` is (the caller stopped
 * reading), with the reason said in domain terms (CallEndedError), so attempts and the decision
 * record say why the call ended. The first source to abort gives the reason. With `deadline`
 * (when the call has one), a cancel that arrives as the deadline is reached counts as it.
 */
export function callSignal(
  connectSignal: AbortSignal,
  stalled?: AbortSignal,
  deadline?: { at: number; now: () => number },
): AbortSignal {
  const controller = new AbortController();
  const end = (reason: unknown) => {
    if (controller.signal.aborted) return;
    const ended = endedBy(reason);
    // A caller's own deadline timer and ours race: its cancel arrives just before our timer
    // fires. A cancel at (or within a hair of) the deadline is the deadline.
    controller.abort(
      ended.why === "cancelled" && deadline && deadline.now() >= deadline.at - DEADLINE_SLACK_MS
        ? new CallEndedError("deadline", "the caller's deadline passed")
        : ended,
    );
  };
  for (const source of stalled ? [stalled, connectSignal] : [connectSignal]) {
    if (source.aborted) end(source.reason);
    else source.addEventListener("abort", () => end(source.reason), { once: true });
  }
  return controller.signal;
}

/** How close to its deadline a caller's cancel counts as the deadline passing (clocks and hops differ). */
const DEADLINE_SLACK_MS = 25;

function endedBy(reason: unknown): CallEndedError {
  if (reason instanceof CallEndedError) return reason;
  if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded)
    return new CallEndedError("deadline", "the caller's deadline passed");
  if (reason instanceof ConnectError && reason.code === Code.Unavailable)
    return new CallEndedError("shutdown", "the server is shutting down");
  return new CallEndedError("cancelled", "the caller cancelled the call");
}
