import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CallEndedError } from "../../../src/core/errors.js";
import { callSignal } from "../../../src/server/rpc/call-signal.js";

const cancelled = () => new ConnectError("operation was aborted", Code.Canceled);

describe("callSignal", () => {
  it("says why the call ended in domain terms: cancelled, deadline, shutdown", () => {
    for (const [reason, why] of [
      [cancelled(), "cancelled"],
      [new ConnectError("deadline", Code.DeadlineExceeded), "deadline"],
      [new ConnectError("draining", Code.Unavailable), "shutdown"],
    ] as const) {
      const connect = new AbortController();
      const signal = callSignal(connect.signal);
      connect.abort(reason);
      expect((signal.reason as CallEndedError).why).toBe(why);
    }
  });

  it("takes a cancel that arrives as the caller's deadline is reached for the deadline (the two timers race)", () => {
    let now = 1_000;
    const deadline = { at: 1_200, now: () => now };
    const early = new AbortController();
    const earlySignal = callSignal(early.signal, undefined, deadline);
    now = 1_100;
    early.abort(cancelled());
    expect((earlySignal.reason as CallEndedError).why).toBe("cancelled");

    const atDeadline = new AbortController();
    const lateSignal = callSignal(atDeadline.signal, undefined, deadline);
    now = 1_190;
    atDeadline.abort(cancelled());
    expect(lateSignal.reason).toBeInstanceOf(CallEndedError);
    expect((lateSignal.reason as CallEndedError).why).toBe("deadline");
  });
});
