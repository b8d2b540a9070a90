/**
 * Requests and answers between a cluster's primary and its workers over Node's IPC channel
 * (`process.send` in a worker, `worker.send` in the primary). Each request carries an id, its
 * answer the same id; a request not answered within its timeout, or whose channel closes first,
 * is rejected. Messages are tagged `switchyard` so that other users of the channel (node:cluster
 * itself, prom-client's metrics aggregation) are left alone.
 */

/** One end of an IPC channel. */
export interface Channel {
  /** Sends `message`; `failed` is called (at most once) when it could not be sent. */
  send(message: unknown, failed: (error: Error) => void): void;
  /** Calls `listener` with every message received until the returned function is called. */
  listen(listener: (message: unknown) => void): () => void;
}

/** What one side answers: request kind → handler (its result or rejection goes back). */
export type Handlers = Record<string, (body: never) => unknown>;

export interface Requester {
  /** Sends a request of `kind` and resolves with the answer; rejects on timeout or a refusal. */
  request<T>(kind: string, body?: unknown, timeoutMs?: number): Promise<T>;
  /** Rejects every request still waiting (the other side is gone). */
  fail(reason: Error): void;
}

interface RequestMessage {
  switchyard: "request";
  id: number;
  kind: string;
  body: unknown;
}

type AnswerMessage =
  | { switchyard: "answer"; id: number; ok: true; value: unknown }
  | { switchyard: "answer"; id: number; ok: false; error: { name: string; message: string } };

/** Thrown for a request the other side did not answer in time, or could not be sent. */
export class IpcError extends Error {
  override readonly name = "IpcError";
}

/**
 * Serves `handlers` on `channel` and lets requests be made over it; both directions share the
 * channel. `stop` stops listening and rejects what is still waiting.
 */
export function connectChannel(
  channel: Channel,
  handlers: Handlers,
  options: { timeoutMs: number },
): Requester & { stop(): void } {
  let nextId = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

  const answer = (message: AnswerMessage) => {
    // When the asker is gone nobody waits for this answer.
    channel.send(message, () => {});
  };

  const onMessage = (message: unknown) => {
    if (typeof message !== "object" || message === null || !("switchyard" in message)) return;
    const tagged = message as RequestMessage | AnswerMessage;
    if (tagged.switchyard === "answer") {
      const pending = waiting.get(tagged.id);
      if (!pending) return;
      waiting.delete(tagged.id);
      if (tagged.ok) pending.resolve(tagged.value);
      else pending.reject(remoteError(tagged.error));
      return;
    }
    if (tagged.switchyard !== "request") return;
    const handler = handlers[tagged.kind] as ((body: unknown) => unknown) | undefined;
    const { id } = tagged;
    if (!handler) {
      answer({
        switchyard: "answer",
        id,
        ok: false,
        error: { name: "IpcError", message: `no handler for ${tagged.kind}` },
      });
      return;
    }
    Promise.resolve()
      .then(() => handler(tagged.body))
      .then(
        (value) => answer({ switchyard: "answer", id, ok: true, value }),
        (error: unknown) =>
          answer({
            switchyard: "answer",
            id,
            ok: false,
            error: {
              name: error instanceof Error ? error.name : "Error",
              message: error instanceof Error ? error.message : String(error),
            },
          }),
      );
  };
  const unlisten = channel.listen(onMessage);

  const fail = (reason: Error) => {
    const pending = [...waiting.values()];
    waiting.clear();
    for (const { reject } of pending) reject(reason);
  };

  return {
    request<T>(kind: string, body?: unknown, timeoutMs = options.timeoutMs): Promise<T> {
      nextId += 1;
      const id = nextId;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new IpcError(`${kind}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        channel.send({ switchyard: "request", id, kind, body } satisfies RequestMessage, (error) => {
          waiting.get(id)?.reject(new IpcError(`${kind}: cannot be sent`, { cause: error }));
          waiting.delete(id);
        });
      });
    },
    fail,
    stop() {
      unlisten();
      fail(new IpcError("the channel was closed"));
    },
  };
}

/** An error from the other side, with its class name kept (a RangeError stays a RangeError). */
function remoteError(error: { name: string; message: string }): Error {
  const made = error.name === "RangeError" ? new RangeError(error.message) : new Error(error.message);
  if (made.name !== error.name) made.name = error.name;
  return made;
}

/** The worker's end of its channel to the primary (this process's IPC channel). */
export function primaryChannel(): Channel {
  return {
    send(message, failed) {
      if (!process.send || !process.connected) failed(new IpcError("not connected to the primary"));
      // With a callback a closed channel is reported to it, not emitted as an 'error' event.
      else process.send(message, (error: Error | null) => error && failed(error));
    },
    listen(listener) {
      process.on("message", listener);
      return () => process.off("message", listener);
    },
  };
}
