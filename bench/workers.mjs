/**
 * Route throughput of `serve --workers 1` and `serve --workers 2`, measured in the same run.
 *
 *   node bench/workers.mjs [--reps 5] [--duration 3] [--warmup 1] [--connections 8] [--streams 8] [--no-build]
 *
 * Both servers run side by side (bench/policy.yaml, route bench=mock: the in-process mock, so what
 * is measured is Switchyard itself); each repetition loads one then the other (the order
 * alternates) with h2load over several connections (the cluster primary hands connections to
 * workers in turn: one connection would keep one worker busy). Writes
 * bench/results/<date>-workers.{md,json}. See bench/README.md, "Workers".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  check,
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
  startServer,
  stopAll,
  writeResults,
} from "./harness.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    connections: { type: "string", default: "8" },
    streams: { type: "string", default: "8" },
    "no-build": { type: "boolean", default: false },
  },
});
const reps = Number(opts.reps);
const duration = Number(opts.duration);
const connections = Number(opts.connections);
const streams = Number(opts.streams);

const { h2loadVersion, distStale } = preflight("bench -- (node bench/workers.mjs)", {
  noBuild: opts["no-build"],
});
const scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-workers-"));
const started = Date.now();
const loadBefore = loadavg();

try {
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
  const framePath = join(scratch, "route.bin");
  writeFileSync(framePath, frame);
  const decode = (bytes) => fromBinary(router.RouteResponseSchema, bytes);

  const serve = (workers) =>
    startServer(
      `switchyard-workers-${workers}`,
      [
        join(ROOT, "dist/src/cli/main.js"),
        "serve",
        "--config",
        join(ROOT, "bench/policy.yaml"),
        "--port",
        "0",
        "--operator-port",
        "0",
        "--log-format",
        "json",
        "--workers",
        String(workers),
      ],
      { LOG_LEVEL: "warn" },
    );
  const servers = {};
  for (const workers of [1, 2]) {
    const entry = await serve(workers);
    const serving = entry.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line))
      .find((line) => line.msg === "serving");
    // Every process of the server: the primary's CPU counts (it accepts and hands over connections).
    entry.pids = [serving.pid, ...(serving.workers ?? [])];
    servers[workers] = entry;
    const answer = await rawGrpcCall(entry.port, framePath, decode);
    check(answer.grpcStatus === 0, `--workers ${workers}: Route answered grpc-status ${answer.grpcStatus}`);
    check(answer.response?.decision?.route === "bench_mock", `--workers ${workers}: route bench_mock`);
    entry.answerBytes = answer.dataBytes;
    log(`--workers ${workers}: port ${entry.port}, pids ${entry.pids.join(", ")}`);
  }

  const load = async (workers, seconds, logFile) => {
    const server = servers[workers];
    const cpuBefore = server.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const machineBefore = machineCpu();
    const out = await runH2load(
      [
        "-c",
        String(connections),
        "-m",
        String(streams),
        "-D",
        String(seconds),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        "-d",
        framePath,
        `http://127.0.0.1:${server.port}${ROUTE_PATH}`,
      ],
      logFile,
      (seconds + 30) * 1000,
    );
    const machineAfter = machineCpu();
    const cpu = server.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore;
    const result = parseH2load(out);
    // h2load counts a gRPC error as a success (HTTP 200); a trailers-only error has no DATA, so the
    // DATA bytes per response must match the successful answer measured in the sanity check.
    check(
      result.failed + result.errored + result.timeout + result.s3xx + result.s4xx + result.s5xx === 0,
      `--workers ${workers}: every request succeeded (${JSON.stringify(result)})`,
    );
    const perResponse = result.dataBytes / Math.max(1, result.s2xx);
    check(
      Math.abs(perResponse - server.answerBytes) <= server.answerBytes * 0.15,
      `--workers ${workers}: DATA bytes per response ${perResponse} ≈ ${server.answerBytes} (no gRPC errors)`,
    );
    const busy = machineAfter.busy - machineBefore.busy;
    const ours = machineAfter.ours - machineBefore.ours + cpu;
    const elapsed = (machineAfter.total - machineBefore.total) / 2;
    return {
      rps: result.rps,
      requests: result.succeeded,
      cpu,
      otherLoad: Math.max(0, (busy - ours) / elapsed),
    };
  };

  log(`warm-up ${opts.warmup} s each`);
  for (const workers of [1, 2]) await load(workers, Number(opts.warmup));
  const repetitions = [];
  for (let rep = 0; rep < reps; rep += 1) {
    const order = rep % 2 === 0 ? [1, 2] : [2, 1];
    const measured = {};
    for (const workers of order) {
      const logFile = join(scratch, `w${workers}-${rep}.log`);
      const result = await load(workers, duration, logFile);
      const sorted = latencies(logFile);
      measured[workers] = {
        ...result,
        p50Ms: percentile(sorted, 50) / 1000,
        p99Ms: percentile(sorted, 99) / 1000,
        cpuUsPerReq: (result.cpu / result.requests) * 1e6,
      };
      rmSync(logFile);
    }
    measured.ratio = measured[2].rps / measured[1].rps;
    repetitions.push(measured);
    log(
      `rep ${rep + 1}: --workers 1 ${measured[1].rps.toFixed(0)} RPS, --workers 2 ${measured[2].rps.toFixed(0)} RPS, ratio ${measured.ratio.toFixed(2)}`,
    );
  }

  const med = (pick) => median(repetitions.map(pick));
  const range = (pick) => {
    const values = repetitions.map(pick).sort((a, b) => a - b);
    return `${values[0].toFixed(2)} … ${values[values.length - 1].toFixed(2)}`;
  };
  const row = (workers) =>
    `| ${workers} | ${med((r) => r[workers].rps).toFixed(0)} | ${med((r) => r[workers].p50Ms).toFixed(2)} | ${med((r) => r[workers].p99Ms).toFixed(2)} | ${med((r) => r[workers].cpuUsPerReq).toFixed(0)} | ${med((r) => r[workers].otherLoad).toFixed(2)} |`;
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    `# Switchyard workers benchmark — ${date}`,
    "",
    `Command: \`node bench/workers.mjs\` · gRPC Route, route bench=mock (in-process mock), h2load -c ${connections} -m ${streams}, ${reps} repetitions × ${duration} s per server after ${opts.warmup} s of warm-up, \`--workers 1\` and \`--workers 2\` back to back within a repetition (which goes first alternates) · medians over repetitions, the range in brackets.`,
    "",
    `Machine: ${readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length} vCPUs (shared), load average before start ${loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        " ",
      )}; Node ${process.versions.node}; ${h2loadVersion}${distStale ? "; dist/ NOT rebuilt (--no-build) with stale files" : ""}; load generator and servers on the same machine. Duration ${Math.round((Date.now() - started) / 1000)} s.`,
    "",
    "| --workers | RPS | p50 ms | p99 ms | server CPU µs/req (all its processes) | other load (cores) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    row(1),
    row(2),
    "",
    `**RPS ratio --workers 2 ÷ --workers 1: ${med((r) => r.ratio).toFixed(2)}** (${range((r) => r.ratio)}), each repetition's ratio, then the median.`,
    "",
  ].join("\n");
  process.stdout.write(md);
  writeResults(`${date}-workers`, md, {
    date,
    connections,
    streams,
    duration,
    reps,
    loadBefore,
    repetitions,
  });
} finally {
  await stopAll();
  rmSync(scratch, { recursive: true, force: true });
}
