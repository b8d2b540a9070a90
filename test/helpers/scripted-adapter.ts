import type { Usage } from "../../src/core/types.js";
import { ProviderError } from "../../src/providers/provider-error.js";
import type { ProviderAdapter, ProviderCall, StreamPart } from "../../src/providers/types.js";

/** One call made to a scripted adapter, and the handle the test drives its answer with. */
export interface ScriptedCall {
  call: ProviderCall;
  /** Sends a part of the answer. */
  send(part: StreamPart): void;
  /** Sends text, one part per word. */
  say(text: string): void;
  /** Ends the answer with its end marker. */
  finish(options?: { usage?: Usage }): void;
  /** Fails the stream with `error`. */
  fail(error: ProviderError): void;
  /** True once the call's signal was aborted (the upstream request would be closed). */
  readonly aborted: boolean;
}

/**
 * A ProviderAdapter whose every answer the test writes by hand, part by part, to drive the
 * attempt loop through exact situations (a first token that never comes, a failure after three
 * tokens, …). Honours the call's signal like a real adapter: an abort fails the stream with the
 * signal's reason.
 */
export function createScriptedAdapter(): ProviderAdapter & {
  calls: ScriptedCall[];
  next(): Promise<ScriptedCall>;
} {
  const calls: ScriptedCall[] = [];
  const waiting: Array<(call: ScriptedCall) => void> = [];
  return {
    calls,
    next() {
      const unseen = calls[seen];
      if (unseen) {
        seen += 1;
        return Promise.resolve(unseen);
      }
      return new Promise((resolve) => waiting.push((call) => resolve(call)));
    },
    stream(call) {
      const queue: Array<StreamPart | ProviderError> = [];
      let wake: (() => void) | undefined;
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
            finishReason: "stop",
            ...(options.usage && { usage: options.usage }),
          });
        },
        fail: push,
        get aborted() {
          return call.signal.aborted;
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
          call.signal.removeEventListener("abort", onAbort);
        }
      })();
    },
    async close() {},
  };
  // biome-ignore lint/correctness/noUnreachable: hoisted state for the closures above
  var seen = 0;
}
