import { Code, ConnectError } from "@connectrpc/connect";
import { CallEndedError } from "../../core/errors.js";

/**
 * The signal the pipeline gets for a call: aborted when connect's is (the caller left, its
 * deadline passed, the server is shutting down) or when `stalled` is (the caller stopped
 * reading), with the reason said in domain terms (CallEndedError), so attempts and the decision
 * record say why the call ended. The first source to abort gives the reason.
 */
export function callSignal(connectSignal: AbortSignal, stalled?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const end = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(endedBy(reason));
  };
  for (const source of stalled ? [stalled, connectSignal] : [connectSignal]) {
    if (source.aborted) end(source.reason);
    else source.addEventListener("abort", () => end(source.reason), { once: true });
  }
  return controller.signal;
}

function endedBy(reason: unknown): CallEndedError {
  if (reason instanceof CallEndedError) return reason;
  if (reason instanceof ConnectError && reason.code === Code.DeadlineExceeded)
    return new CallEndedError("deadline", "the caller's deadline passed");
  if (reason instanceof ConnectError && reason.code === Code.Unavailable)
    return new CallEndedError("shutdown", "the server is shutting down");
  return new CallEndedError("cancelled", "the caller cancelled the call");
}
