// Observability benchmark: what the decision ledger (--ledger FILE, SQLite) and OpenTelemetry
// export (spans and decision log records over OTLP/HTTP) cost Route → mock, on and off, against a
// baseline with neither measured in the same run. See bench/README.md ("Observability").
//
//   npm run bench:observability                     # ~3.5 min, writes bench/results/<date>-observability.{md,json}
//   npm run bench:observability -- --sessions 1 --duration 1 --no-write   # quick look, records nothing
//
// Options: --sessions N (3; fresh processes each) --reps N (2 per session) --duration S (2)
//          --warmup S (2, per case and session) --configs id,id (all; baseline is always included;
//          never writes) --protocol P (OTEL_EXPORTER_OTLP_PROTOCOL; unset: the SDK's default,
//          http/protobuf; http/json possible) --no-build --no-write
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sourceRevision } from "./build-check.mjs";
import {
  check,
  children,
  cpuSeconds,
  latencies,
  log,
  machineCpu,
  median,
  parseH2load,
  percentile,
  preflight,
  ROUTE_PATH,
  rawGrpcCall,
  runH2load,
  runMain,
  startServer,
  stopAll,
  writeResults,
} from "./harness.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");

const { values: opts } = parseArgs({
  options: {
    sessions: { type: "string", default: "3" },
    reps: { type: "string", default: "2" },
    duration: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    configs: { type: "string" },
    protocol: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const SESSIONS = Number(opts.sessions);
const REPS = Number(opts.reps);
const DURATION_S = Number(opts.duration);
const WARMUP_S = Number(opts.warmup);
// h2load's -D takes whole seconds.
if (![SESSIONS, REPS, DURATION_S, WARMUP_S].every((n) => Number.isInteger(n) && n >= 1))
  throw new Error("--sessions, --reps, --duration and --warmup: whole numbers >= 1");

/**
 * The configurations, each its own Switchyard process on bench/policy.yaml. `otel`: the OTEL_*
 * variables beyond the endpoint (which points at this configuration's path on the sink).
 */
const ALL_CONFIGS = [
  { id: "baseline", label: "baseline: decisions in memory, no OTEL_*", ledger: false },
  { id: "ledger", label: "`--ledger FILE` (SQLite, WAL)", ledger: true },
  { id: "tracing", label: "OTLP export: spans + decision log records", ledger: false, otel: {} },
  { id: "both", label: "`--ledger` and OTLP export", ledger: true, otel: {} },
  {
    id: "sampled-off",
    label: "OTLP export, `OTEL_TRACES_SAMPLER=always_off`",
    ledger: false,
    otel: { OTEL_TRACES_SAMPLER: "always_off" },
  },
];
const CONFIGS = opts.configs
  ? ALL_CONFIGS.filter((c) => c.id === "baseline" || opts.configs.split(",").includes(c.id))
  : ALL_CONFIGS;
if (opts.configs && CONFIGS.length < 2)
  throw new Error(`--configs ${opts.configs}: none of ${ALL_CONFIGS.map((c) => c.id).join(", ")}`);
const CONCURRENCIES = [1, 32];
/** The sampler decides whether a configuration's spans are recorded at all. */
const traced = (config) => config.otel !== undefined && config.otel.OTEL_TRACES_SAMPLER !== "always_off";

let scratch;

// ---------------------------------------------------------------------------------------------
// Processes.

/** The environment every Switchyard starts from: none of the caller's OTEL_* or ledger settings. */
function cleanEnvironment() {
  const dropped = Object.keys(process.env).filter(
    (key) => key.startsWith("OTEL_") || key === "SWITCHYARD_LEDGER",
  );
  for (const key of dropped) delete process.env[key];
  if (dropped.length > 0) log(`ignoring ${dropped.join(", ")} from the environment`);
}

async function startSwitchyard(config, sinkPort, dir) {
  const ledgerFile = config.ledger ? join(dir, `${config.id}.sqlite`) : undefined;
  const env = {
    LOG_LEVEL: "warn",
    ...(config.otel && {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}/${config.id}`,
      ...(opts.protocol && { OTEL_EXPORTER_OTLP_PROTOCOL: opts.protocol }),
      ...config.otel,
    }),
  };
  const entry = await startServer(
    `switchyard-${config.id}`,
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--config",
      join(BENCH, "policy.yaml"),
      "--port",
      "0",
      "--operator-port",
      "0",
      "--log-format",
      "json",
      ...(ledgerFile ? ["--ledger", ledgerFile] : []),
    ],
    env,
  );
  // calls: answered to h2load and the sanity check (h2load stops at its deadline with up to c
  // calls in flight, which the server still handles and records).
  return { config, entry, ledgerFile, calls: 0 };
}

/** SIGTERM (the server drains, closes its ledger and flushes its exporters) and wait for the exit. */
function stopServer(entry) {
  return new Promise((resolve) => {
    if (entry.exited) return resolve();
    const kill = setTimeout(() => entry.child.kill("SIGKILL"), 15_000);
    entry.child.once("exit", (code, signal) => {
      clearTimeout(kill);
      resolve();
      if (code !== 0) log(`warning: ${entry.name} exited with ${code ?? signal}:\n${entry.stderr}`);
    });
    entry.child.kill("SIGTERM");
  });
}

async function sinkStats(port) {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  return response.json();
}

const noExports = { traceExports: 0, spans: 0, logExports: 0, logRecords: 0, bytes: 0 };

/** The calls a server has handled: the sum of its switchyard_calls_total series (operator /metrics). */
async function callsHandled(entry) {
  const response = await fetch(`http://127.0.0.1:${entry.operatorPort}/metrics`);
  const text = await response.text();
  check(
    response.ok && /^switchyard_calls_total\{/m.test(text),
    `${entry.name}: /metrics has switchyard_calls_total`,
  );
  return text
    .split("\n")
    .filter((line) => line.startsWith("switchyard_calls_total{"))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

function ledgerRows(file) {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM decisions").get().n);
  } finally {
    db.close();
  }
}

function ledgerBytes(file) {
  return ["", "-wal"].reduce(
    (sum, suffix) => sum + (existsSync(file + suffix) ? statSync(file + suffix).size : 0),
    0,
  );
}

// ---------------------------------------------------------------------------------------------
// Sanity: one call per configuration, then what reached the sink and the ledger.

async function buildFrame(dir) {
  const { create, toBinary, fromBinary } = await import("@bufbuild/protobuf");
  const router = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const message = toBinary(
    router.RouteRequestSchema,
    create(router.RouteRequestSchema, {
      messages: [{ role: Role.USER, content: "hello" }],
      labels: { bench: "mock" },
    }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const path = join(dir, "route-mock.bin");
  writeFileSync(path, frame);
  return { path, decode: (bytes) => fromBinary(router.RouteResponseSchema, bytes) };
}

/**
 * Every server answers the exact frame h2load sends with the mock's answer, and a ledger holds
 * that call. Returns the answer's DATA size.
 */
async function sanityCalls(servers, frame) {
  let bytes;
  for (const server of servers) {
    const r = await rawGrpcCall(server.entry.port, frame.path, frame.decode);
    server.calls += 1;
    check(
      r.httpStatus === 200 && r.grpcStatus === 0,
      `${server.config.id}: HTTP ${r.httpStatus}, grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ""}`,
    );
    check(
      r.response?.decision?.route === "bench_mock",
      `${server.config.id}: route ${r.response?.decision?.route}`,
    );
    check(r.response?.decision?.attempts.length === 1, `${server.config.id}: one attempt`);
    check(
      bytes === undefined || r.dataBytes === bytes,
      `${server.config.id}: ${r.dataBytes} B, others ${bytes} B`,
    );
    bytes = r.dataBytes;
    if (server.ledgerFile)
      check(ledgerRows(server.ledgerFile) === 1, `${server.config.id}: the ledger holds the call`);
  }
  return bytes;
}

/**
 * Each exporting server's one call reached the sink as spans (none when sampled off) and one
 * decision log record, and the others sent nothing. Returns the spans one call makes.
 */
async function sanityExports(servers, sink) {
  // The batch processors export after their delay (spans 5 s, log records 1 s by default).
  const exporting = servers.filter((s) => s.config.otel);
  const deadline = performance.now() + 15_000;
  let stats = await sinkStats(sink.port);
  while (
    !exporting.every(
      (s) =>
        (stats[s.config.id]?.logExports ?? 0) > 0 &&
        (!traced(s.config) || (stats[s.config.id]?.traceExports ?? 0) > 0),
    ) &&
    performance.now() < deadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    stats = await sinkStats(sink.port);
  }
  let spansPerCall = 0;
  for (const server of exporting) {
    const got = { ...noExports, ...stats[server.config.id] };
    check(got.logRecords === 1, `${server.config.id}: ${got.logRecords} decision log records for 1 call`);
    if (!traced(server.config)) {
      check(got.spans === 0, `${server.config.id}: ${got.spans} spans exported with the sampler off`);
      continue;
    }
    check(got.spans >= 2, `${server.config.id}: ${got.spans} spans for 1 call (a call span and its steps)`);
    check(
      spansPerCall === 0 || got.spans === spansPerCall,
      `${server.config.id}: ${got.spans} spans, others ${spansPerCall}`,
    );
    spansPerCall = got.spans;
  }
  check(
    servers.every((server) => server.config.otel || stats[server.config.id] === undefined),
    "servers without OTEL_* export nothing",
  );
  return spansPerCall;
}

// ---------------------------------------------------------------------------------------------
// Load.

function h2loadArgs(port, frame, c) {
  return [
    "-c",
    "1",
    "-m",
    String(c),
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    "-d",
    frame,
    `http://127.0.0.1:${port}${ROUTE_PATH}`,
  ];
}

/** Throws unless every response was the mock's answer (h2load counts a gRPC error as a success). */
function checkResponses(id, h, bytes) {
  const problems = [];
  if (h.failed + h.errored + h.timeout > 0)
    problems.push(`${h.failed + h.errored + h.timeout} failed/errored`);
  if (h.s3xx + h.s4xx + h.s5xx > 0) problems.push(`non-2xx: ${h.s3xx + h.s4xx + h.s5xx}`);
  const perResponse = h.s2xx > 0 ? h.dataBytes / h.s2xx : 0;
  if (!(Math.abs(perResponse - bytes) <= bytes * 0.15))
    problems.push(`DATA ${perResponse.toFixed(0)} B/response, the answer is ~${bytes} B (errors?)`);
  if (problems.length > 0) throw new Error(`${id}: responses not all successful: ${problems.join("; ")}`);
}

async function warmUp(server, c, frame, bytes) {
  const out = await runH2load(
    ["-D", String(WARMUP_S), ...h2loadArgs(server.entry.port, frame, c)],
    undefined,
    (WARMUP_S + 30) * 1000,
  );
  const h = parseH2load(out);
  checkResponses(`${server.config.id}-${c} warm-up`, h, bytes);
  server.calls += h.s2xx;
}

async function measure(server, c, frame, bytes, sink, others) {
  const id = `${server.config.id}-${c}`;
  const logFile = join(scratch, `${id}.tsv`);
  // h2load appends to its log file.
  rmSync(logFile, { force: true });
  const pid = server.entry.child.pid;
  const everyone = [...others.map((s) => s.entry.child.pid), sink.child.pid];
  const before = cpuSeconds(pid);
  const sinkBefore = cpuSeconds(sink.child.pid);
  const everyoneBefore = everyone.map(cpuSeconds);
  const machineBefore = machineCpu();
  const started = performance.now();
  const out = await runH2load(
    ["-D", String(DURATION_S), ...h2loadArgs(server.entry.port, frame, c)],
    logFile,
    (DURATION_S + 30) * 1000,
  );
  const wall = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const cpu = cpuSeconds(pid) - before;
  const sinkCpu = cpuSeconds(sink.child.pid) - sinkBefore;
  const everyoneCpu = everyone.map(cpuSeconds).reduce((sum, after, i) => sum + after - everyoneBefore[i], 0);
  const h = parseH2load(out);
  checkResponses(id, h, bytes);
  server.calls += h.s2xx;
  const lat = latencies(logFile);
  // This process, h2load, every Switchyard (the idle ones too) and the sink are ours.
  const ours = machineAfter.ours - machineBefore.ours + cpu + everyoneCpu;
  return {
    rps: h.rps,
    requests: lat.length,
    p50Ms: percentile(lat, 50) / 1000,
    p99Ms: percentile(lat, 99) / 1000,
    cpuUsPerCall: (cpu * 1e6) / Math.max(1, lat.length),
    sinkCpuUsPerCall: (sinkCpu * 1e6) / Math.max(1, lat.length),
    // Cores busy with work that is not this benchmark (other tenants, other engineers' tests).
    otherCores: Math.max(0, (machineAfter.busy - machineBefore.busy - ours) / wall),
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const signed = (x, fmt) => (Number.isFinite(x) && x > 0 ? `+${fmt(x)}` : fmt(x));
const range = (s, fmt) => (s.values.length > 1 ? ` (${fmt(s.min)} … ${fmt(s.max)})` : "");

/** A run during which other processes kept this many cores busy is left out, unless all were. */
const NOISY_CORES = 0.25;

/**
 * Per configuration and concurrency: medians over the repetitions of each measurement, and of
 * each repetition's comparison with the baseline of the same repetition (ratio config ÷ baseline,
 * CPU difference config − baseline). Noisy repetitions are left out unless nothing would remain.
 */
function summarize(runs) {
  const stat = (values) => {
    const v = values.filter(Number.isFinite);
    return { median: median(v), min: Math.min(...v), max: Math.max(...v), values: v };
  };
  const quiet = (rs) => {
    const kept = rs.filter((r) => r.every((x) => x.otherCores <= NOISY_CORES));
    return kept.length > 0 ? kept : rs;
  };
  const rows = [];
  for (const c of CONCURRENCIES)
    for (const config of CONFIGS) {
      const all = runs.map((rep) => [rep[`${config.id}-${c}`], rep[`baseline-${c}`]]);
      const used = quiet(all);
      const mine = (key) => stat(used.map(([r]) => r[key]));
      const ratio = (key) => stat(used.map(([r, b]) => r[key] / b[key]));
      rows.push({
        id: config.id,
        label: config.label,
        otel: config.otel !== undefined,
        concurrency: c,
        runs: all.length,
        runsUsed: used.length,
        rps: mine("rps"),
        p50Ms: mine("p50Ms"),
        p99Ms: mine("p99Ms"),
        cpuUsPerCall: mine("cpuUsPerCall"),
        sinkCpuUsPerCall: mine("sinkCpuUsPerCall"),
        otherCores: stat(all.map(([r]) => r.otherCores)),
        rpsRatio: ratio("rps"),
        p50Ratio: ratio("p50Ms"),
        p99Ratio: ratio("p99Ms"),
        cpuRatio: ratio("cpuUsPerCall"),
        addedP50Ms: stat(used.map(([r, b]) => r.p50Ms - b.p50Ms)),
        addedCpuUs: stat(used.map(([r, b]) => r.cpuUsPerCall - b.cpuUsPerCall)),
      });
    }
  return rows;
}

function markdown(meta, rows, delivery) {
  const lines = [];
  lines.push(`# Switchyard observability benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · Route → mock (bench/policy.yaml, \`bench=mock\`), gRPC over h2c, ` +
      "h2load with 1 connection and 1 or 32 concurrent streams · one Switchyard per configuration, " +
      `${meta.sessions} sessions (fresh processes, fresh ledger files), each: warm-up ${meta.warmupS} s per ` +
      `case, then ${meta.repsPerSession} repetitions × ${meta.durationS} s per case, the configurations ` +
      "taking turns (order rotated each repetition) · medians over repetitions, ratios ÷ the baseline " +
      "of the same repetition, their range in brackets.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; Node ${meta.node}; ${meta.h2load}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; LOG_LEVEL=warn; OTLP/HTTP ` +
      `${meta.protocol} to bench/otlp-sink.mjs on the same machine, the SDK's default batching. Duration ` +
      `${f0(meta.durationTotalS)} s.`,
    "",
  );
  for (const c of CONCURRENCIES) {
    lines.push(
      `## ${c === 1 ? "1 stream (latency)" : `${c} streams (throughput)`}`,
      "",
      "| configuration | RPS | RPS ÷ baseline | p50 ms | p50 ÷ baseline | p99 ms | p99 ÷ baseline | Switchyard CPU µs/call | CPU − baseline µs/call | CPU ÷ baseline | sink CPU µs/call | other load (cores) | runs used |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of rows.filter((row) => row.concurrency === c)) {
      const base = r.id === "baseline";
      const cmp = (s, fmt, bold) =>
        base ? "" : `${bold ? "**" : ""}${fmt(s.median)}${bold ? "**" : ""}${range(s, fmt)}`;
      lines.push(
        `| ${r.label} | ${f0(r.rps.median)} | ${cmp(r.rpsRatio, f2, c === 32)} | ${f3(r.p50Ms.median)} | ` +
          `${cmp(r.p50Ratio, f2, c === 1)} | ${f3(r.p99Ms.median)} | ${cmp(r.p99Ratio, f2)} | ` +
          `${f0(r.cpuUsPerCall.median)} | ${base ? "" : signed(r.addedCpuUs.median, f0)}${base ? "" : range(r.addedCpuUs, f0)} | ` +
          `${cmp(r.cpuRatio, f2, c === 32)} | ${r.otel ? f0(r.sinkCpuUsPerCall.median) : ""} | ` +
          `${f2(r.otherCores.median)} | ${r.runsUsed}/${r.runs} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    "## What arrived",
    "",
    "The calls each server handled in the run (sanity, warm-up and measured calls, as its " +
      "`switchyard_calls_total` counts them), against what the sink received once the server was stopped " +
      "(its exporters flush on SIGTERM) and the rows in its ledger file.",
    "",
    "| configuration | calls | spans received (per call) | decision log records | OTLP bytes per call | ledger rows | ledger bytes per call |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const d of delivery) {
    const per = (n) => `${f0(n)} (${f2(n / d.calls)})`;
    lines.push(
      `| ${d.label} | ${f0(d.calls)} | ${d.otel ? per(d.spans) : ""} | ${d.otel ? per(d.logRecords) : ""} | ` +
        `${d.otel ? f0(d.otlpBytes / d.calls) : ""} | ${d.ledger ? f0(d.ledgerRows) : ""} | ` +
        `${d.ledger ? f0(d.ledgerBytes / d.calls) : ""} |`,
    );
  }
  const noisy = rows.some((r) => r.runsUsed < r.runs);
  lines.push(
    "",
    `Spans per call: ${meta.spansPerCall} (a call span, a child per pipeline step, a \`chat <model>\` span per ` +
      "attempt). *Switchyard CPU* is the user+system time of the configuration's process per call, " +
      "its exporter's work (encoding, the HTTP requests) included: the steadiest column. *Sink CPU* is " +
      "the OTLP sink's, a collector's share that runs on the same two cores here (and so is in the RPS " +
      "cost at 32 streams) but elsewhere in production. *Other " +
      "load*: cores kept busy by processes outside this benchmark (median); a repetition in which " +
      `either side of a comparison had more than ${NOISY_CORES} is left out unless all were` +
      `${noisy ? " (**some were left out**: read the ranges with care)" : ""}. See bench/README.md.`,
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench:observability", { noBuild: opts["no-build"] });
  cleanEnvironment();
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-observability-"));
  const frame = await buildFrame(scratch);

  const runs = [];
  const delivered = Object.fromEntries(
    CONFIGS.map((c) => [
      c.id,
      { calls: 0, spans: 0, logRecords: 0, otlpBytes: 0, ledgerRows: 0, ledgerBytes: 0 },
    ]),
  );
  let spansPerCall = 0;
  // Several sessions, each with fresh processes: how well V8 optimises a server differs from one
  // process to the next and stays so for its life, and here each configuration is its own process.
  for (let session = 0; session < SESSIONS; session++) {
    log(`session ${session + 1}/${SESSIONS}: starting the OTLP sink and ${CONFIGS.length} Switchyards…`);
    const dir = join(scratch, `session-${session + 1}`);
    mkdirSync(dir);
    const sink = await startServer("otlp-sink", [join(BENCH, "otlp-sink.mjs")]);
    // One at a time: five Node processes loading at once on a busy box can take over 15 s each.
    const servers = [];
    for (const config of CONFIGS) servers.push(await startSwitchyard(config, sink.port, dir));
    const bytes = await sanityCalls(servers, frame);
    log(`sanity: every server answers the mock's ${bytes} B, a ledger holds the call`);

    log(`warm-up: ${servers.length * CONCURRENCIES.length} cases × ${WARMUP_S} s`);
    // The servers that export nothing first: meanwhile the exporters' batch delay (5 s) runs out.
    const warmUpAll = async (list) => {
      for (const server of list) for (const c of CONCURRENCIES) await warmUp(server, c, frame.path, bytes);
    };
    await warmUpAll(servers.filter((server) => !server.config.otel));
    const perCall = await sanityExports(servers, sink);
    check(
      spansPerCall === 0 || perCall === spansPerCall,
      `${perCall} spans per call, before ${spansPerCall}`,
    );
    spansPerCall = perCall;
    log(
      `sanity: a call is ${spansPerCall} spans and 1 decision log record at the sink ` +
        "(none of its spans when sampled off)",
    );
    await warmUpAll(servers.filter((server) => server.config.otel));

    for (let rep = 0; rep < REPS; rep++) {
      const n = runs.length;
      const results = {};
      for (const c of CONCURRENCIES) {
        // The configurations take turns, the first one rotating, so drift hits them all alike.
        const order = servers.map((_, i) => servers[(i + n) % servers.length]);
        for (const server of order) {
          const others = servers.filter((o) => o !== server);
          const r = await measure(server, c, frame.path, bytes, sink, others);
          results[`${server.config.id}-${c}`] = { session: session + 1, ...r };
          log(
            `session ${session + 1} rep ${rep + 1}/${REPS} ${`${server.config.id}-${c}`.padEnd(15)} ` +
              `${f0(r.rps).padStart(6)} req/s  p50 ${f3(r.p50Ms)} ms  p99 ${f3(r.p99Ms)} ms  ` +
              `cpu ${f0(r.cpuUsPerCall)} µs/call  sink ${f0(r.sinkCpuUsPerCall)}  other ${f2(r.otherCores)}`,
          );
        }
      }
      runs.push(results);
    }

    for (const entry of children)
      if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
    // The calls each server handled, as it counts them; then the servers first, so their exporters
    // flush into a sink that is still there.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const handled = await Promise.all(servers.map((server) => callsHandled(server.entry)));
    await Promise.all(servers.map((server) => stopServer(server.entry)));
    const stats = await sinkStats(sink.port);
    for (const [i, server] of servers.entries()) {
      const d = delivered[server.config.id];
      const calls = handled[i];
      check(
        calls >= server.calls && calls <= server.calls + 200,
        `${server.config.id}: ${calls} calls counted for ${server.calls} answered`,
      );
      const got = { ...noExports, ...stats[server.config.id] };
      d.calls += calls;
      d.spans += got.spans;
      d.logRecords += got.logRecords;
      d.otlpBytes += got.bytes;
      if (server.ledgerFile) {
        const rows = ledgerRows(server.ledgerFile);
        d.ledgerRows += rows;
        d.ledgerBytes += ledgerBytes(server.ledgerFile);
        check(rows === calls, `${server.config.id}: ${rows} ledger rows for ${calls} calls`);
      }
      const per = traced(server.config) ? spansPerCall : 0;
      if (server.config.otel && (got.spans !== calls * per || got.logRecords !== calls))
        log(
          `warning: ${server.config.id}: for ${calls} calls the sink received ${got.spans} spans ` +
            `(${per} a call) and ${got.logRecords} decision log records: the exporter dropped some?`,
        );
      const dropped = (server.entry.stderr.match(/Dropped \d+/g) ?? []).length;
      if (dropped > 0)
        log(`warning: ${server.config.id} said ${dropped} times that it dropped spans or log records`);
    }
    await stopAll();
    children.length = 0;
  }

  const now = new Date();
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:observability",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    sessions: SESSIONS,
    repsPerSession: REPS,
    reps: SESSIONS * REPS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    protocol: opts.protocol ?? "http/protobuf",
    spansPerCall,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    h2load: pre.h2loadVersion,
    git: process.env.BENCH_GIT ?? sourceRevision(ROOT),
    distStale: pre.distStale,
    durationTotalS: (performance.now() - startedAt) / 1000,
  };
  const rows = summarize(runs);
  const delivery = CONFIGS.map((config) => ({
    id: config.id,
    label: config.label,
    otel: config.otel !== undefined,
    ledger: config.ledger,
    ...delivered[config.id],
  }));
  const md = markdown(meta, rows, delivery);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"] && !opts.configs) {
    writeResults(`${meta.date}-observability`, md, { meta, rows, delivery, runs });
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
