import { describe, expect, it } from "vitest";
import { traceIdFrom } from "../../src/telemetry/trace-context.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const NEW = /^[0-9a-f]{32}$/;

describe("traceIdFrom", () => {
  it("continues the caller's trace from a valid traceparent", () => {
    expect(traceIdFrom(`00-${TRACE}-00f067aa0ba902b7-01`)).toBe(TRACE);
  });

  it("reads a later version's first four fields and ignores what it adds", () => {
    expect(traceIdFrom(`01-${TRACE}-00f067aa0ba902b7-01-whatever-comes-next`)).toBe(TRACE);
  });

  it("starts a new trace for an invalid traceparent: version ff, extra fields on 00, zero ids, junk", () => {
    for (const header of [
      `ff-${TRACE}-00f067aa0ba902b7-01`,
      `00-${TRACE}-00f067aa0ba902b7-01-extra`,
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`,
      "not a traceparent",
      "",
      undefined,
    ]) {
      const traceId = traceIdFrom(header);
      expect(traceId, String(header)).toMatch(NEW);
      expect(traceId, String(header)).not.toBe(TRACE);
    }
  });
});
