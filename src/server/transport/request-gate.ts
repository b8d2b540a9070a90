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
 * - A JSON request protobuf-es cannot decode gets its error rewritten to name the field by its
 *   JSON path (`messages[2].rol: unknown field (did you mean "role"?)`): see nameJsonField.
 */
export function gateRequest(context: HandlerContext): void {
  const json = jsonRequestText.getStore();
  context.signal.addEventListener(
    "abort",
    () => {
      reclassifyParseError(context.signal.reason);
      if (json?.text !== undefined) nameJsonField(context.signal.reason, context.method.input, json.text);
    },
    { once: true },
  );
  const remaining = context.timeoutMs();
  if (remaining !== undefined && remaining < 1)
    throw new ConnectError("the deadline passed before the call started", Code.DeadlineExceeded);
}

const PARSE_BINARY = "parse binary: ";
/** How protobuf-es starts the errors of a JSON value it cannot decode. */
const JSON_DECODE = /^cannot decode (message|field|enum) /;

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
  const rawMessage = formatJsonRequestError(found);
  Object.assign(reason, { rawMessage, message: new ConnectError(rawMessage, Code.InvalidArgument).message });
}
