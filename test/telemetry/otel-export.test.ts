import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startOtelExport } from "../../src/telemetry/otel-export.js";

// What turns export on is tested against a real OTLP endpoint in test/cli/serve-otlp.test.ts
// (the SDK registers itself process-wide, so it is started in a server process of its own).
describe("startOtelExport", () => {
  it.each([
    ["no OTEL_* variable at all", {}],
    [
      "OTEL_SDK_DISABLED=true, whatever else is set",
      { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
    ],
    [
      "both exporters set to none",
      {
        OTEL_TRACES_EXPORTER: "none",
        OTEL_LOGS_EXPORTER: "none",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
      },
    ],
    ["only a metrics endpoint", { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://c:4318/v1/metrics" }],
  ])("starts nothing with %s", async (_, env) => {
    const exported = startOtelExport(env, pino({ level: "silent" }));
    expect(exported.traces).toBe(false);
    expect(exported.decisions).toBeUndefined();
    await exported.shutdown();
  });
});
