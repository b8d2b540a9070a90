import { createParser, type EventSourceMessage } from "eventsource-parser";
import { protocolError } from "../provider-error.js";

/** One server-sent event. `event` is undefined for the default ("message") type. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** The events of one response body, and how that body ended. Iterate it once. */
export interface SseEvents extends AsyncIterable<SseEvent> {
  /**
   * Set once the bytes have ended: true when they ended on an event boundary (the last event closed
   * by its blank line, no partial line or character left over), false when the last event was cut
   * short. Undefined until then. Whether an unclean end is an error is the vendor's call: a stream
   * with an end marker may only have lost its final newline, one without may be truncated.
   */
  readonly endedCleanly: boolean | undefined;
}

/** No provider's event comes near it (a whole answer in one event is a few MiB at most). */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * Reads a `text/event-stream` body: bytes → UTF-8 (a character split across reads is held back
 * until complete) → events, via eventsource-parser. Comments (keep-alives such as OpenRouter's
 * `: OPENROUTER PROCESSING`), `id:` and `retry:` fields are dropped; multi-line `data:` is joined
 * with "\n" and events without data are skipped, as the spec says. Vendor-neutral: what the data
 * means, and which event ends the answer, is the adapter's business.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * When the bytes end in the middle of an event, that event is still yielded, after
 * `endedCleanly` has been set to false.
 *
 * Cancellation: stopping iteration early stops iterating `bytes` (`return()`), which for a Node
 * stream iterator destroys the stream unless it was made with `destroyOnReturn: false`.
 *
 * @param options.maxEventChars The most an event (its data lines, or one unfinished line) may
 *   hold, in UTF-16 code units (default 16 Mi); a larger one fails the stream rather than
 *   filling memory.
 * @throws ProviderError class "protocol" when an event outgrows `maxEventChars`. Errors thrown by
 *   `bytes` propagate unchanged.
 */
export function readSseEvents(
  bytes: AsyncIterable<Uint8Array>,
  options: { maxEventChars?: number } = {},
): SseEvents {
  let endedCleanly: boolean | undefined;

  async function* events(): AsyncGenerator<SseEvent, void> {
    const decoder = new TextDecoder("utf-8");
    const ready: SseEvent[] = [];
    let overflow = false;
    let lastChar = "\n";
    const parser = createParser({
      onEvent(message: EventSourceMessage) {
        ready.push({ event: message.event, data: message.data });
      },
      onError(error) {
        if (error.type === "max-buffer-size-exceeded") overflow = true;
      },
      maxBufferSize: options.maxEventChars ?? MAX_EVENT_CHARS,
    });
    const feed = (text: string): void => {
      if (text === "") return;
      parser.feed(text);
      if (overflow) throw protocolError("upstream stream event exceeds the size limit");
    };

    for await (const piece of bytes) {
      const text = decoder.decode(piece, { stream: true });
      feed(text);
      if (text !== "") lastChar = text.at(-1) ?? lastChar;
      if (ready.length > 0) yield* ready.splice(0);
    }
    const rest = decoder.decode();
    feed(rest);
    if (rest !== "") lastChar = rest.at(-1) ?? lastChar;
    // Closing the last line and event ourselves shows whether one was still open.
    feed("\n\n");
    endedCleanly = rest === "" && (lastChar === "\n" || lastChar === "\r") && ready.length === 0;
    if (ready.length > 0) yield* ready.splice(0);
  }

  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    get endedCleanly() {
      return endedCleanly;
    },
  };
}
