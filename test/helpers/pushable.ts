/**
 * An async iterable fed by hand: the request side of a bidi or client stream, so a test can
 * send, read the answer, then send again on the same stream.
 */
export interface Pushable<T> extends AsyncIterable<T> {
  push(value: T): void;
  /** Ends the stream (the iterator returns once what was pushed has been read). */
  end(): void;
}

export function pushable<T>(): Pushable<T> {
  const queued: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(value) {
      queued.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queued.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}

/** Reads the next item of an iterator, failing when the stream has ended instead. */
export async function nextOf<T>(iterator: AsyncIterator<T>): Promise<T> {
  const result = await iterator.next();
  if (result.done) throw new Error("the stream ended early");
  return result.value;
}
