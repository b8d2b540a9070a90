import { EventStreamCodec, type Message } from "@smithy/eventstream-codec";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { protocolError } from "../provider-error.js";

/** The messages of one `application/vnd.amazon.eventstream` body, and how it ended. Iterate it once. */
export interface EventStreamMessages extends AsyncIterable<Message> {
  /**
   * Set once the bytes have ended: true when they ended on a message boundary, false when a
   * message was cut short (its bytes are dropped). Undefined until then.
   */
  readonly endedCleanly: boolean | undefined;
}

/** A message's fixed overhead: the prelude (total and headers lengths, prelude CRC) and the message CRC. */
const MESSAGE_OVERHEAD_BYTES = 16;

/**
 * Reads an AWS event-stream body into messages: the bytes arrive in pieces cut anywhere (inside
 * a prelude, a header, a payload, a multi-byte character); each message is gathered whole by the
 * total length in its prelude, then decoded (both CRC32s checked, headers parsed) by
 * `@smithy/eventstream-codec`, as the AWS SDKs do.
 * https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream
 * https://docs.aws.amazon.com/lexv2/latest/dg/event-stream-encoding.html
 *
 * Cancellation: stopping iteration early stops iterating `bytes` (`return()`), which for a Node
 * stream iterator destroys the stream unless it was made with `destroyOnReturn: false`.
 *
 * @param options.maxMessageBytes The largest message accepted; a prelude announcing more (or less
 *   than the 16-byte overhead) fails the stream rather than buffering garbage.
 * @throws ProviderError class "protocol" for a bad length, a CRC mismatch or malformed headers
 *   (the codec's error in `cause`). Errors thrown by `bytes` propagate unchanged.
 */
export function readEventStream(
  bytes: AsyncIterable<Uint8Array>,
  options: { maxMessageBytes: number },
): EventStreamMessages {
  let endedCleanly: boolean | undefined;
  const codec = new EventStreamCodec(toUtf8, fromUtf8);

  function decode(frame: Uint8Array): Message {
    try {
      return codec.decode(frame);
    } catch (cause) {
      throw protocolError("upstream event-stream message is malformed", cause);
    }
  }

  async function* messages(): AsyncGenerator<Message, void> {
    /** Bytes of unfinished messages, in the pieces they arrived in. */
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    /** The total length of the message being gathered, once its first four bytes are in. */
    let expected: number | undefined;

    for await (const piece of bytes) {
      if (piece.length === 0) continue;
      // A copy: the source may reuse its buffer for the next read.
      pending.push(new Uint8Array(piece));
      pendingBytes += piece.length;
      for (;;) {
        if (expected === undefined) {
          if (pendingBytes < 4) break;
          const head =
            pending.length === 1 && pending[0] !== undefined ? pending[0] : join(pending, pendingBytes);
          pending = [head];
          expected = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
          if (expected < MESSAGE_OVERHEAD_BYTES || expected > options.maxMessageBytes) {
            throw protocolError("upstream event-stream message has an impossible length", {
              length: expected,
            });
          }
        }
        if (pendingBytes < expected) break;
        const all =
          pending.length === 1 && pending[0] !== undefined ? pending[0] : join(pending, pendingBytes);
        const message = decode(all.subarray(0, expected));
        const rest = all.subarray(expected);
        pending = rest.length === 0 ? [] : [rest];
        pendingBytes = rest.length;
        expected = undefined;
        yield message;
      }
    }
    endedCleanly = pendingBytes === 0;
  }

  const iterator = messages();
  return {
    [Symbol.asyncIterator]: () => iterator,
    get endedCleanly() {
      return endedCleanly;
    },
  };
}

function join(pieces: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** The value of a string header of a message (`:message-type`, `:event-type`…), or undefined. */
export function stringHeader(message: Message, name: string): string | undefined {
  const header = message.headers[name];
  return header?.type === "string" ? header.value : undefined;
}
