import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One export request as an OTLP/HTTP collector receives it. */
export interface OtlpExport {
  /** `/v1/traces`, `/v1/logs` or `/v1/metrics`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The decoded body when it was sent as `application/json` (OTLP/JSON); undefined for protobuf. */
  json: unknown;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly exports: readonly OtlpExport[];
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP receiver on loopback, as a collector's `otlphttp` receiver speaks it: POST to
 * `/v1/{traces,logs,metrics}` with `application/x-protobuf` or `application/json`, answered 200
 * with an empty response of the same encoding (an ExportServiceResponse with no partial success).
 * https://opentelemetry.io/docs/specs/otlp/#otlphttp
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const path = request.url ?? "";
      const type = request.headers["content-type"] ?? "";
      if (request.method !== "POST" || !/^\/v1\/(traces|logs|metrics)$/.test(path)) {
        response.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks);
      const json = type.startsWith("application/json") ? JSON.parse(body.toString("utf8")) : undefined;
      exports.push({ path, headers: request.headers, body, json });
      if (json === undefined) response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      else response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

/** A span of an OTLP/JSON export, with its attributes as a plain object. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: unknown;
  scope: string;
}

/** Every span in the OTLP/JSON trace exports received. */
export function exportedSpans(receiver: OtlpReceiver): ExportedSpan[] {
  return receiver.exports
    .filter((sent) => sent.path === "/v1/traces" && sent.json !== undefined)
    .flatMap((sent) =>
      (sent.json as { resourceSpans: ResourceSpans[] }).resourceSpans.flatMap((resource) =>
        resource.scopeSpans.flatMap((scope) =>
          scope.spans.map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            ...(span.parentSpanId && { parentSpanId: span.parentSpanId }),
            name: span.name,
            attributes: plain(span.attributes ?? []),
            service: plain(resource.resource.attributes)["service.name"],
            scope: scope.scope.name,
          })),
        ),
      ),
    );
}

/** Every log record in the OTLP/JSON log exports received. */
export function exportedLogRecords(receiver: OtlpReceiver): Array<{
  traceId?: string;
  spanId?: string;
  eventName?: string;
  body: unknown;
  attributes: Record<string, unknown>;
}> {
  return receiver.exports
    .filter((sent) => sent.path === "/v1/logs" && sent.json !== undefined)
    .flatMap((sent) =>
      (sent.json as { resourceLogs: ResourceLogs[] }).resourceLogs.flatMap((resource) =>
        resource.scopeLogs.flatMap((scope) =>
          scope.logRecords.map((record) => ({
            ...(record.traceId && { traceId: record.traceId }),
            ...(record.spanId && { spanId: record.spanId }),
            ...(record.eventName && { eventName: record.eventName }),
            body: anyValue(record.body ?? {}),
            attributes: plain(record.attributes ?? []),
          })),
        ),
      ),
    );
}

interface ResourceSpans {
  resource: { attributes: JsonKeyValue[] };
  scopeSpans: Array<{
    scope: { name: string };
    spans: Array<{
      traceId: string;
      spanId: string;
      parentSpanId?: string;
      name: string;
      attributes?: JsonKeyValue[];
    }>;
  }>;
}

interface ResourceLogs {
  scopeLogs: Array<{
    logRecords: Array<{
      traceId?: string;
      spanId?: string;
      eventName?: string;
      body?: Record<string, unknown>;
      attributes?: JsonKeyValue[];
    }>;
  }>;
}

function plain(attributes: readonly JsonKeyValue[]): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, anyValue(value)]));
}

/** An OTLP/JSON AnyValue as the value it holds. */
function anyValue(value: Record<string, unknown>): unknown {
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("arrayValue" in value)
    return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  if ("kvlistValue" in value) return plain((value.kvlistValue as { values?: JsonKeyValue[] }).values ?? []);
  return undefined;
}
