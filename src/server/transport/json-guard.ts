import { AsyncLocalStorage } from "node:async_hooks";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Per request with a JSON body: the text the decoder produced, kept so that when protobuf-es
 * refuses it (naming protobuf types, no position) the request gate can name the field by its JSON
 * path instead (json-request-errors.ts). The listener runs each JSON request inside it.
 */
export const jsonRequestText = new AsyncLocalStorage<{ text?: string }>();

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * The text decoder connect uses for Connect-protocol JSON request bodies (passed as
 * `jsonOptions.textDecoder`, which connect hands to its JSON serialization). Before any text is
 * made, it refuses:
 * - nesting deeper than `maxDepth` (INVALID_ARGUMENT). protobuf-es parses with JSON.parse and
 *   stops at 100 nested messages, but a 4 MiB body of `[` is two million nested arrays that
 *   JSON.parse materialises first; this one byte scan refuses them without allocating;
 * - bytes that are not UTF-8 (INVALID_ARGUMENT). The default decoder would quietly turn them into
 *   U+FFFD, while binary requests with the same bytes are refused.
 * Throws ConnectError, which connect passes through unchanged.
 */
export function createJsonRequestDecoder(maxDepth: number): { decode(input?: Uint8Array): string } {
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  return {
    decode(input?: Uint8Array): string {
      if (input === undefined) return "";
      if (nestsDeeperThan(input, maxDepth))
        throw new ConnectError(`JSON request nests deeper than ${maxDepth} levels`, Code.InvalidArgument);
      let text: string;
      try {
        text = utf8.decode(input);
      } catch {
        throw new ConnectError("request body is not valid UTF-8", Code.InvalidArgument);
      }
      const kept = jsonRequestText.getStore();
      if (kept) kept.text = text;
      return text;
    },
  };
}

/**
 * Whether arrays and objects in `json` nest deeper than `maxDepth`, found in one pass over the
 * bytes before anything is parsed. Brackets inside strings do not count. Does not validate the
 * JSON otherwise.
 */
export function nestsDeeperThan(json: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
      continue;
    }
    if (byte === QUOTE) inString = true;
    else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) depth--;
  }
  return false;
}
