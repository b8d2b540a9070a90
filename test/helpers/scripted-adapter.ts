import type { FinishReason, Usage } from "../../src/core/types.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../src/providers/types.js";

/** One call made to a scripted adapter, and the handle the test drives its answer with. */
export interface ScriptedCall {
  call: ProviderCall;
  /** Sends a part of the answer. */
  send(part: StreamPart): void;
  /** Sends text, one part per word (each with the whitespace before it). */
  say(text: string): void;
  /** Ends the answer with its end marker ("stop" unless told otherwise). */
  finish(options?: { usage?: Usage; finishReason?: FinishReason }): void;
  /** Fails the stream with `error`. */
  fail(error: ProviderError): void;
  /** True once the call's signal was aborted (the upstream request would be closed). */
  readonly aborted: boolean;
  /**
   * True once the stream stopped being read, however it ended: its end marker, a failure, or the
   * consumer returning early (which is how a real adapter learns to close its connection).
   */
  readonly closed: boolean;
}

export interface ScriptedAdapter extends ProviderAdapter {
  /** Every call made so far, oldest first. */
  calls: ScriptedCall[];
  /** The next call not yet handed out by `next()`: one already made, or the next one to come. */
  next(): Promise<ScriptedCall>;
}

/**
 * A ProviderAdapter whose every answer the test writes by hand, part by part, to drive the
 * attempt loop through exact situations (a first token that never comes, a failure after three
 * tokens, …). Honours the call's signal like a real adapter: an abort fails the stream with the
 * signal's reason (a ProviderError as is, anything else as "cancelled").
 */
export function createScriptedAdapter(): ScriptedAdapter {
  const calls: ScriptedCall[] = [];
  const waiting: Array<(call: ScriptedCall) => void> = [];
  // How many calls `next()` has handed out.
  let seen = 0;
  return {
    calls,
    next() {
      const unseen = calls[seen];
      if (unseen) {
        seen += 1;
        return Promise.resolve(unseen);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    stream(call) {
      const queue: Array<StreamPart | ProviderError> = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const push = (item: StreamPart | ProviderError) => {
        queue.push(item);
        wake?.();
      };
      const scripted: ScriptedCall = {
        call,
        send: push,
        say(text) {
          for (const word of text.match(/\s*\S+/g) ?? []) push({ type: "text-delta", delta: word });
        },
        finish(options = {}) {
          push({
            type: "response-end",
            finishReason: options.finishReason ?? "stop",
            ...(options.usage && { usage: options.usage }),
          });
        },
        fail: push,
        get aborted() {
          return call.signal.aborted;
        },
        get closed() {
          return closed;
        },
      };
      calls.push(scripted);
      const waiter = waiting.shift();
      if (waiter) {
        seen += 1;
        waiter(scripted);
      }
      const onAbort = () => wake?.();
      call.signal.addEventListener("abort", onAbort, { once: true });
      return (async function* () {
        try {
          for (;;) {
            if (call.signal.aborted) {
              const reason: unknown = call.signal.reason;
              throw reason instanceof ProviderError
                ? reason
                : new ProviderError("cancelled", "upstream call cancelled");
            }
            const item = queue.shift();
            if (item instanceof ProviderError) throw item;
            if (item) {
              yield item;
              if (item.type === "response-end") return;
              continue;
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
        } finally {
          closed = true;
          call.signal.removeEventListener("abort", onAbort);
        }
      })();
    },
    async close() {},
  };
}
