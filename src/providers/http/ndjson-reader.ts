import { protocolError } from "../provider-error.js";

/** The JSON values of one response body, one per line, and how that body ended. Iterate it once. */
export interface NdjsonValues extends AsyncIterable<unknown> {
  /**
   * Set once the bytes have ended: true when the last line was closed by its newline, false when
   * it was not (it is still parsed and yielded). Undefined until then.
   */
  readonly endedCleanly: boolean | undefined;
}

const NEWLINE = 0x0a;

/**
 * Reads a newline-delimited JSON body (`application/x-ndjson`, as Ollama's native API streams):
 * one JSON value per line, lines split anywhere across reads (inside a multi-byte character too:
 * lines are cut on bytes, then decoded). "\r\n" endings, surrounding whitespace and blank lines are
 * accepted. Vendor-neutral: what a value means, and which one ends the answer, is the adapter's
 * business.
 * https://github.com/ndjson/ndjson-spec
 *
 * Cancellation: stopping iteration early stops iterating `bytes` (`return()`), which for a Node
 * stream iterator destroys the stream unless it was made with `destroyOnReturn: false`.
 *
 * @param options.maxLineBytes The longest line accepted, in bytes; a longer one fails the stream
 *   rather than filling memory.
 * @throws ProviderError class "protocol" when a line is not JSON or outgrows `maxLineBytes` (the
 *   line goes in `cause` only). Errors thrown by `bytes` propagate unchanged.
 */
export function readNdjson(
  bytes: AsyncIterable<Uint8Array>,
  options: { maxLineBytes: number },
): NdjsonValues {
  let endedCleanly: boolean | undefined;
  const decoder = new TextDecoder("utf-8");

  function parseLine(line: Uint8Array): { value: unknown } | undefined {
    const text = decoder.decode(line).trim();
    if (text === "") return undefined;
    try {
      return { value: JSON.parse(text) };
    } catch (cause) {
      throw protocolError("upstream stream line is not JSON", { line: text, cause });
    }
  }

  function tooLong(): never {
    throw protocolError("upstream stream line exceeds the size limit");
  }

  async function* values(): AsyncGenerator<unknown, void> {
    /** The start of an unfinished line, in the pieces it arrived in. */
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;

    for await (const piece of bytes) {
      let start = 0;
      let newline = piece.indexOf(NEWLINE, start);
      while (newline !== -1) {
        if (pendingBytes + newline - start > options.maxLineBytes) tooLong();
        const tail = piece.subarray(start, newline);
        const line = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
        pending = [];
        pendingBytes = 0;
        const parsed = parseLine(line);
        if (parsed !== undefined) yield parsed.value;
        start = newline + 1;
        newline = piece.indexOf(NEWLINE, start);
      }
      if (start < piece.length) {
        pendingBytes += piece.length - start;
        if (pendingBytes > options.maxLineBytes) tooLong();
        // A copy (Buffer#slice would be a view): the source may reuse its buffer for the next read.
        pending.push(new Uint8Array(piece.subarray(start)));
      }
    }
    const last = pending.length === 0 ? undefined : parseLine(Buffer.concat(pending));
    endedCleanly = last === undefined;
    if (last !== undefined) yield last.value;
  }

  const iterator = values();
  return {
    [Symbol.asyncIterator]: () => iterator,
    get endedCleanly() {
      return endedCleanly;
    },
  };
}
