import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/**
 * connect's `requestGate`: runs once per call after the headers are parsed and before the body
 * is read, so a call refused here costs no body reading, decompression or parsing.
 *
 * - A deadline that has already passed (`grpc-timeout: 0n`, `0m`, `connect-timeout-ms: 0`, or
 *   anything under a millisecond, which no timer can honour) is DEADLINE_EXCEEDED at once.
 *   Unchecked, connect starts the call anyway and its deadline timer fires a millisecond later,
 *   after the core has already started deciding.
 * - A request message that does not decode (invalid UTF-8 in a string field, truncated or
 *   malformed protobuf, nesting past protobuf-es's recursion limit) leaves connect as INTERNAL
 *   "parse binary: …". That is the caller's mistake, so it becomes INVALID_ARGUMENT, as
 *   connect-go does. connect hands the parse error to the call's abort signal before it writes
 *   the status, and this is the only place the front door sees it.
 */
export function gateRequest(context: HandlerContext): void {
  context.signal.addEventListener("abort", () => reclassifyParseError(context.signal.reason), { once: true });
  const remaining = context.timeoutMs();
  if (remaining !== undefined && remaining < 1)
    throw new ConnectError("the deadline passed before the call started", Code.DeadlineExceeded);
}

const PARSE_BINARY = "parse binary: ";

function reclassifyParseError(reason: unknown): void {
  if (!(reason instanceof ConnectError)) return;
  if (reason.code !== Code.Internal || !reason.rawMessage.startsWith(PARSE_BINARY)) return;
  const rawMessage = `request message does not decode: ${reason.rawMessage.slice(PARSE_BINARY.length)}`;
  // ConnectError's fields are readonly in its types only; connect reads them after the abort.
  Object.assign(reason, {
    code: Code.InvalidArgument,
    rawMessage,
    message: new ConnectError(rawMessage, Code.InvalidArgument).message,
  });
}
