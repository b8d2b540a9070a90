// A minimal OTLP/HTTP sink for bench/observability.mjs (plain node:http, keep-alive): answers 200
// to every POST whose path ends in /v1/traces or /v1/logs, with the empty response of the request's
// encoding (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response), and counts what it got.
// Whatever comes before /v1/… names the sender, so one sink serves several Switchyards, each with
// its own OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:PORT/<name> (the exporter appends /v1/traces).
// Prints "otlp-sink listening on 127.0.0.1:PORT" when ready; GET /stats answers
// {"<name>": {"traceExports", "spans", "logExports", "logRecords", "bytes"}, …}.
//
// Counting decodes only the envelope, not the spans: ExportTraceServiceRequest and
// ExportLogsServiceRequest have the same shape on the wire (field 1: ResourceSpans/ResourceLogs,
// whose field 2 is ScopeSpans/ScopeLogs, whose field 2 is each Span/LogRecord), so the protobuf
// walker below counts the length-delimited fields 1 → 2 → 2 and skips everything else by length.
// OTLP/JSON bodies (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) are parsed.
//
//   node bench/otlp-sink.mjs [--port N]
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });

const stats = {};

function varint(buf, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (at >= buf.length) throw new Error("truncated varint");
    const byte = buf[at++];
    // Lengths here stay far below 2^31; multiplying keeps larger varints (uint64 fields) exact enough to skip.
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, at];
  }
}

/** Calls `each(start, end)` for every length-delimited field `field` of the message in buf[start, end). */
function fields(buf, start, end, field, each) {
  let at = start;
  while (at < end) {
    const [key, afterKey] = varint(buf, at);
    at = afterKey;
    const wire = key & 7;
    if (wire === 0) [, at] = varint(buf, at);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, afterLength] = varint(buf, at);
      if (Math.floor(key / 8) === field) each(afterLength, afterLength + length);
      at = afterLength + length;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  if (at !== end) throw new Error("field runs past its message");
}

/** Spans in an ExportTraceServiceRequest, or log records in an ExportLogsServiceRequest. */
function countProtobuf(buf) {
  let n = 0;
  fields(buf, 0, buf.length, 1, (rs, re) =>
    fields(buf, rs, re, 2, (ss, se) =>
      fields(buf, ss, se, 2, () => {
        n += 1;
      }),
    ),
  );
  return n;
}

function countJson(body, signal) {
  const outer =
    signal === "traces"
      ? ["resourceSpans", "scopeSpans", "spans"]
      : ["resourceLogs", "scopeLogs", "logRecords"];
  let n = 0;
  for (const resource of body[outer[0]] ?? [])
    for (const scope of resource[outer[1]] ?? []) n += (scope[outer[2]] ?? []).length;
  return n;
}

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  const match = /^\/?(.*?)\/?v1\/(traces|logs)$/.exec(req.url ?? "");
  if (req.method !== "POST" || !match) {
    req.resume();
    res.writeHead(404).end();
    return;
  }
  const [, name, signal] = match;
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const json = (req.headers["content-type"] ?? "").startsWith("application/json");
    let n;
    try {
      n = json ? countJson(JSON.parse(body.toString("utf8")), signal) : countProtobuf(body);
    } catch (error) {
      res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      return;
    }
    const key = name || "-";
    stats[key] ??= { traceExports: 0, spans: 0, logExports: 0, logRecords: 0, bytes: 0 };
    const s = stats[key];
    if (signal === "traces") {
      s.traceExports += 1;
      s.spans += n;
    } else {
      s.logExports += 1;
      s.logRecords += n;
    }
    s.bytes += body.length;
    if (json) res.writeHead(200, { "content-type": "application/json" }).end("{}");
    else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`otlp-sink listening on 127.0.0.1:${server.address().port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => server.close(() => process.exit(0)));
