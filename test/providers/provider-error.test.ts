import { describe, expect, it } from "vitest";
import { abortError, ProviderError } from "../../src/providers/provider-error.js";

describe("abortError", () => {
  it("is cancelled and not retryable for a plain abort", () => {
    const controller = new AbortController();
    controller.abort();
    const err = abortError(controller.signal);
    expect(err.errorClass).toBe("cancelled");
    expect(err.retryable).toBe(false);
  });

  it("returns a ProviderError reason as is, so a budget timeout stays a timeout", () => {
    const controller = new AbortController();
    const reason = new ProviderError("timeout", "first token budget exceeded");
    controller.abort(reason);
    expect(abortError(controller.signal)).toBe(reason);
  });

  it("turns AbortSignal.timeout's TimeoutError into timeout", async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(abortError(signal).errorClass).toBe("timeout");
  });
});
