import { type DiagLogger, DiagLogLevel, diag, logs, type Logger as OtelLogger } from "@opentelemetry/api";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { Logger } from "pino";
import type { Environment } from "../config/env.js";
import { INSTRUMENTATION_SCOPE } from "./tracing.js";

/** What the OTEL_* variables asked to be exported, and how to flush it at shutdown. */
export interface OtelExport {
  /** Spans go to the configured exporter (the global tracer records them). */
  readonly traces: boolean;
  /** Where each recorded decision goes as a log record; undefined when logs are not exported. */
  readonly decisions: OtelLogger | undefined;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK when the standard variables ask for traces or logs
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_ENDPOINT`, or
 * `OTEL_{TRACES,LOGS}_EXPORTER`); the SDK reads the rest (protocol, headers, batching,
 * sampler, resource) itself. With none of them set, nothing starts and nothing is required:
 * the SDK's own default would otherwise push to localhost:4318 on every process. Metrics stay
 * on the Prometheus endpoint unless OTEL_METRICS_EXPORTER asks for more; no auto-instrumentation
 * is loaded (the spans worth having are Switchyard's own). Export failures are logged as
 * warnings, never raised.
 */
export function startOtelExport(env: Environment, logger: Logger): OtelExport {
  const traces = wanted(env, "TRACES");
  const logRecords = wanted(env, "LOGS");
  if (!traces && !logRecords)
    return { traces: false, decisions: undefined, shutdown: () => Promise.resolve() };
  diag.setLogger(diagnostics(logger.child({ component: "otel" })), DiagLogLevel.WARN);
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME === undefined && { serviceName: INSTRUMENTATION_SCOPE }),
    ...(!traces && { spanProcessors: [] }),
    ...(!logRecords && { logRecordProcessors: [] }),
    ...(env.OTEL_METRICS_EXPORTER === undefined && { metricReaders: [] }),
    instrumentations: [],
  });
  sdk.start();
  logger.info({ traces, logs: logRecords }, "exporting over OpenTelemetry as OTEL_* configure");
  return {
    traces,
    decisions: logRecords ? logs.getLogger(INSTRUMENTATION_SCOPE) : undefined,
    shutdown: () =>
      sdk.shutdown().catch((error: unknown) => {
        logger.warn({ err: error }, "OpenTelemetry export did not flush at shutdown");
      }),
  };
}

/** Whether a signal is to be exported: its exporter list says so, or an OTLP endpoint is set for it. */
function wanted(env: Environment, signal: "TRACES" | "LOGS"): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env[`OTEL_${signal}_EXPORTER`] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  if (exporters.length > 0) return !exporters.includes("none");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

/** How long the same complaint from the SDK stays quiet after it was logged. */
const REPEAT_QUIET_MS = 60_000;

/**
 * The SDK's own complaints (a collector that cannot be reached) as warnings, each at most once a
 * minute: a collector that is down for an hour says so sixty times, not once per batch.
 */
function diagnostics(logger: Logger): DiagLogger {
  const lastSaid = new Map<string, number>();
  const warn = (message: string) => {
    const now = Date.now();
    if (now - (lastSaid.get(message) ?? Number.NEGATIVE_INFINITY) < REPEAT_QUIET_MS) return;
    if (lastSaid.size >= 64) lastSaid.clear();
    lastSaid.set(message, now);
    logger.warn(message);
  };
  const quiet = () => {};
  return { error: warn, warn, info: quiet, debug: quiet, verbose: quiet };
}
