import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { attemptFailure } from "../../src/execute/attempt-failure.js";
import { ProviderError } from "../../src/providers/provider-error.js";

const silent = pino({ level: "silent" });
const live = () => new AbortController().signal;
const abortedBy = (reason: unknown) => {
  const controller = new AbortController();
  controller.abort(reason);
  return controller.signal;
};

describe("attemptFailure", () => {
  it("keeps an adapter's own classification", () => {
    const error = new ProviderError("rate_limited", "429", { retryAfterMs: 5 });
    expect(attemptFailure(error, live(), live(), silent)).toBe(error);
  });

  it("makes the caller's cancellation win over anything else, and never retryable", () => {
    const failure = attemptFailure(
      new ProviderError("server", "500"),
      abortedBy("gone"),
      abortedBy("gone"),
      silent,
    );
    expect(failure).toMatchObject({ errorClass: "cancelled", retryable: false });
    expect(failure.message).toBe("the caller cancelled or its deadline passed");
  });

  it("reports a budget that fired as the failure when the adapter only reports the abort", () => {
    const budget = new ProviderError("timeout", "no first token within first_token_ms=10");
    const reported = new ProviderError("cancelled", "upstream call cancelled");
    expect(attemptFailure(reported, abortedBy(budget), live(), silent)).toBe(budget);
    expect(attemptFailure(new Error("aborted"), abortedBy(budget), live(), silent)).toBe(budget);
  });

  it("keeps an adapter's classification over a budget that fired while it unwound", () => {
    const budget = new ProviderError("timeout", "no token within max_token_gap_ms=10");
    const error = new ProviderError("protocol", "malformed chunk");
    expect(attemptFailure(error, abortedBy(budget), live(), silent)).toBe(error);
  });

  it("turns an unclassified throw into a non-retryable protocol failure, logging its name but not its message", () => {
    const lines: string[] = [];
    const logger = pino(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString("utf8"));
          callback();
        },
      }),
    );
    const failure = attemptFailure(
      new SyntaxError("Unexpected token in 'secret prompt'"),
      live(),
      live(),
      logger,
    );
    expect(failure).toMatchObject({ errorClass: "protocol", retryable: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("SyntaxError");
    expect(lines[0]).not.toContain("secret prompt");
  });
});
