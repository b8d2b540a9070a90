import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { jsonRequestText } from "./json-guard.js";
import { findJsonRequestError, formatJsonRequestError } from "./json-request-errors.js";

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
 * - A request with no message, or more than one for a unary or server-streaming method (a
 *   Connect envelope with only the end-stream flag, say), leaves connect as UNIMPLEMENTED, which
 *   tells a client the method does not exist: it is a malformed request, INVALID_ARGUMENT.
 * - A body over the limit leaves connect naming its own option (`readMaxBytes`): the message
 *   names the limit as operators set it (`maxBodyBytes`).
 * - A JSON request protobuf-es cannot decode gets its error rewritten to name the field by its
 *   JSON path (`messages[2].rol: unknown field (did you mean "role"?)`): see nameJsonField.
 */
export function gateRequest(context: HandlerContext): void {
  const json = jsonRequestText.getStore();
  context.signal.addEventListener(
    "abort",
    () => {
      reclassify(context.signal.reason);
      if (json?.text !== undefined) nameJsonField(context.signal.reason, context.method.input, json.text);
    },
    { once: true },
  );
  const remaining = context.timeoutMs();
  if (remaining !== undefined && remaining < 1)
    throw new ConnectError("the deadline passed before the call started", Code.DeadlineExceeded);
}

/** How protobuf-es starts the errors of a JSON value it cannot decode. */
const JSON_DECODE = /^cannot decode (message|field|enum) /;

/** connect's errors for what a caller sent, and what they should say: code, and a new message. */
const REWRITES: ReadonlyArray<{ from: Code; match: RegExp; to: Code; say(match: RegExpExecArray): string }> =
  [
    {
      from: Code.Internal,
      match: /^parse binary: (.*)$/s,
      to: Code.InvalidArgument,
      say: ([, why]) => `request message does not decode: ${why}`,
    },
    {
      from: Code.Unimplemented,
      match: /^protocol error: (missing input message|received extra input message) for [\w-]+ method$/,
      to: Code.InvalidArgument,
      say: ([whole]) => `${whole}: a request carries exactly one message`,
    },
    {
      from: Code.ResourceExhausted,
      match: /^message size (\d+) is larger than configured readMaxBytes (\d+)$/,
      to: Code.ResourceExhausted,
      say: ([, size, limit]) => `request message of ${size} bytes is larger than maxBodyBytes ${limit}`,
    },
    {
      from: Code.ResourceExhausted,
      match: /^message (?:size )?is larger than configured readMaxBytes (\d+)( after decompression)?$/,
      to: Code.ResourceExhausted,
      say: ([, limit, inflated]) => `request message is larger than maxBodyBytes ${limit}${inflated ?? ""}`,
    },
  ];

function reclassify(reason: unknown): void {
  if (!(reason instanceof ConnectError)) return;
  for (const rewrite of REWRITES) {
    const match = reason.code === rewrite.from ? rewrite.match.exec(reason.rawMessage) : null;
    if (match) {
      rewriteError(reason, rewrite.to, rewrite.say(match));
      return;
    }
  }
}

/** ConnectError's fields are readonly in its types only; connect reads them after the abort. */
function rewriteError(reason: ConnectError, code: Code, rawMessage: string): void {
  Object.assign(reason, { code, rawMessage, message: new ConnectError(rawMessage, code).message });
}

/**
 * Rewrites protobuf-es's JSON decode error (`cannot decode field switchyard.v1.GenerationParams
 * .max_tokens from JSON: …`) to name the field as the caller wrote it (`params.maxTokens: …`).
 * Left as it is when the text is not JSON at all or the walk finds nothing to add.
 */
function nameJsonField(reason: unknown, schema: DescMessage, text: string): void {
  if (!(reason instanceof ConnectError)) return;
  if (reason.code !== Code.InvalidArgument || !JSON_DECODE.test(reason.rawMessage)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return;
  }
  const found = findJsonRequestError(schema, parsed);
  if (!found) return;
  rewriteError(reason, Code.InvalidArgument, formatJsonRequestError(found));
}
