import { setTimeout as sleep } from "node:timers/promises";
import { estimateInputTokens } from "../../core/token-estimate.js";
import type { FinishReason, Usage } from "../../core/types.js";
import { abortError, ProviderError } from "../provider-error.js";
import { defineProviderKind, type ProviderAdapter, type ProviderCall, type StreamPart } from "../types.js";
import { type MockSettings, mockSettingsSchema } from "./mock-settings.js";

/**
 * The built-in offline provider: in process, deterministic, no keys. Its reply, token count and
 * failures depend only on its settings, the request and how many calls it has served, so tests
 * and demos can rely on them. It honours `call.signal` in every wait. It always reports usage:
 * its own estimate is the truth for a mock.
 */
export function createMockAdapter(mock: MockSettings): ProviderAdapter {
  let calls = 0;
  const closing = new AbortController();
  // Only a mock that waits needs close() to interrupt a wait; one that never waits checks between tokens.
  const waits =
    mock.latencyMs > 0 || mock.tokenIntervalMs > 0 || (mock.failureRate > 0 && mock.failure === "timeout");
  const withClose = (call: ProviderCall): ProviderCall =>
    waits ? { ...call, signal: AbortSignal.any([call.signal, closing.signal]) } : call;
  const check = (call: ProviderCall): void => {
    if (call.signal.aborted) throw abortError(call.signal);
    if (closing.signal.aborted) throw abortError(closing.signal);
  };

  /** Spreads failures evenly: with rate r, call n fails when floor(n*r) steps up. */
  function shouldFail(): boolean {
    calls += 1;
    return Math.floor(calls * mock.failureRate) > Math.floor((calls - 1) * mock.failureRate);
  }

  async function failOrWait(call: ProviderCall): Promise<void> {
    if (shouldFail()) await fail(mock, call.signal);
    if (mock.latencyMs > 0) await wait(mock.latencyMs, call.signal);
    else check(call);
  }

  return {
    async *stream(original: ProviderCall): AsyncIterable<StreamPart> {
      const call = withClose(original);
      await failOrWait(call);
      const { tokens, finishReason } = answer(mock, call);
      for (const [index, token] of tokens.entries()) {
        if (index > 0 && mock.tokenIntervalMs > 0) await wait(mock.tokenIntervalMs, call.signal);
        else check(call);
        yield { type: "text-delta", delta: token };
      }
      const total = usage(call, tokens);
      yield { type: "usage", usage: total };
      yield { type: "response-end", finishReason, usage: total };
    },

    async close(): Promise<void> {
      closing.abort(new ProviderError("cancelled", "provider adapter closed"));
    },
  };
}

function answer(mock: MockSettings, call: ProviderCall): { tokens: string[]; finishReason: FinishReason } {
  const lastUser = [...call.messages].reverse().find((message) => message.role === "user")?.content ?? "";
  const quoted = lastUser.length > 200 ? `${lastUser.slice(0, 200)}…` : lastUser;
  const said = mock.reply ?? `This is ${mock.name}/${call.model}, an offline mock. You said: "${quoted}"`;
  // JSON mode (or a schema, which a mock cannot know how to fill): one JSON object, as asked.
  const text = call.responseFormat ? JSON.stringify({ answer: said }) : said;
  // A partial answer to continue: the rest of the reply after it (its own words, already said),
  // or the whole reply when the partial answer is not the start of it.
  const rest =
    call.assistantPrefix !== undefined && text.startsWith(call.assistantPrefix)
      ? text.slice(call.assistantPrefix.length)
      : text;
  const tokens = rest.match(/\s*\S+/g) ?? [];
  if (call.maxTokens !== undefined && tokens.length > call.maxTokens)
    return { tokens: tokens.slice(0, call.maxTokens), finishReason: "length" };
  return { tokens, finishReason: "stop" };
}

/** The mock's own count: the pipeline's estimate for the prompt, one token per word it sent. */
function usage(call: ProviderCall, outputTokens: string[]): Usage {
  return { inputTokens: estimateInputTokens(call.messages, call.tools), outputTokens: outputTokens.length };
}

async function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) {
    if (signal.aborted) throw abortError(signal);
    return;
  }
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw abortError(signal);
  }
}

async function fail(mock: MockSettings, signal: AbortSignal): Promise<never> {
  switch (mock.failure) {
    case "unavailable":
      throw new ProviderError("overloaded", "mock: 503 service unavailable (configured failure)", {
        status: 503,
      });
    case "rate_limited":
      throw new ProviderError("rate_limited", "mock: 429 rate limited (configured failure)", {
        status: 429,
        retryAfterMs: 1000,
      });
    case "server_error":
      throw new ProviderError("server", "mock: 500 internal error (configured failure)", { status: 500 });
    case "invalid_request":
      throw new ProviderError("invalid_request", "mock: 400 invalid request (configured failure)", {
        status: 400,
      });
    case "timeout":
      // A hung upstream: nothing comes back until the caller's budget or deadline aborts the call.
      await new Promise((_resolve, reject) => {
        if (signal.aborted) reject(abortError(signal));
        signal.addEventListener("abort", () => reject(abortError(signal)), { once: true });
      });
      throw abortError(signal);
    default:
      return mock.failure satisfies never;
  }
}

/** `kind: mock`: the offline, in-process provider the shipped policy runs on. */
export const mockKind = defineProviderKind({
  kind: "mock",
  genAiProviderName: "switchyard.mock",
  takesImageUrls: true,
  settingsSchema: mockSettingsSchema,
  continuesAnswers: () => true,
  createAdapter: (provider, { mock }) =>
    createMockAdapter({
      name: provider.name,
      latencyMs: mock.latency_ms,
      tokenIntervalMs: mock.token_interval_ms,
      failureRate: mock.failure_rate,
      failure: mock.failure,
      ...(mock.reply !== undefined && { reply: mock.reply }),
    }),
});
