// Switchyard benchmark: Route through the mock and through the OpenAI-compatible adapter, against a
// bare connect-node handler and against the fake OpenAI server called directly, all in one run.
// See bench/README.md for what is measured and how to read it.
//
//   npm run bench                                   # full run (~2.5 min), writes bench/results/<date>.{md,json}
//   npm run bench -- --sessions 1 --duration 1 --no-write   # quick look, records nothing
//   npm run bench -- --sessions 1 --cases route-mock-32 --cpu-prof   # profile Switchyard under one case
//
// Options: --sessions N (3; fresh processes each) --reps N (2 per session) --duration S (2)
//          --warmup S (2, per case and session) --cases id,id (all) --no-build --no-write
//          --cpu-prof (Switchyard runs with --cpu-prof; a hot-spot summary is printed at the end)
//          --log-level L (warn; Switchyard's LOG_LEVEL)
//          --baseline DIR (another checkout with its dist/ built, e.g. a git worktree of the last
//          release: its Switchyard runs beside this one, and Route → mock is compared in the same run)
//          --prompt NAME (hello; the user message of every request: hello, or prose, ~2 KB with an
//          e-mail address and a phone number, see bench/prompts.mjs)
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
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
  summarizeProfile,
  writeResults,
} from "./harness.mjs";
import { PROMPTS } from "./prompts.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");
const FAKE_REPLY = "Hello from the fake OpenAI server.";
const BARE_REPLY = "Hello from the bare connect-node handler.";

const { values: opts } = parseArgs({
  options: {
    sessions: { type: "string", default: "3" },
    reps: { type: "string", default: "2" },
    duration: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    cases: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    "log-level": { type: "string", default: "warn" },
    baseline: { type: "string" },
    prompt: { type: "string", default: "hello" },
  },
});
if (!Object.hasOwn(PROMPTS, opts.prompt))
  throw new Error(`--prompt ${opts.prompt}: one of ${Object.keys(PROMPTS).join(", ")}`);
const PROMPT = PROMPTS[opts.prompt];
const SESSIONS = Number(opts.sessions);
const REPS = Number(opts.reps);
const DURATION_S = Number(opts.duration);
const WARMUP_S = Number(opts.warmup);
if (!(SESSIONS >= 1 && REPS >= 1 && DURATION_S > 0 && WARMUP_S > 0))
  throw new Error("--sessions and --reps must be >= 1, --duration and --warmup > 0");

let scratch;

// ---------------------------------------------------------------------------------------------
// Processes under test.

/**
 * The baseline build's Switchyard on the same policy. Builds from before the operator listener
 * refuse its flag, so they are started without it.
 */
async function startBaseline(dir, fakeUrl) {
  const main = join(dir, "dist/src/cli/main.js");
  if (!existsSync(main))
    throw new Error(`--baseline ${dir}: no ${relative(dir, main)} (build it there first)`);
  const args = [main, "serve", "--config", join(BENCH, "policy.yaml"), "--port", "0"];
  const env = { LOG_LEVEL: opts["log-level"], BENCH_FAKE_OPENAI_URL: fakeUrl };
  try {
    return await startServer(
      "switchyard-baseline",
      [...args, "--operator-port", "0", "--log-format", "json"],
      env,
    );
  } catch {
    // That process exited on the unknown option: it is not one of this run's servers.
    children.splice(
      children.findIndex((entry) => entry.name === "switchyard-baseline" && entry.exited),
      1,
    );
    return startServer("switchyard-baseline", args, env);
  }
}

// ---------------------------------------------------------------------------------------------
// Requests.

async function buildPayloads(dir) {
  const { create, toBinary, fromBinary } = await import("@bufbuild/protobuf");
  const router = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const grpcFrame = (label) => {
    const message = toBinary(
      router.RouteRequestSchema,
      create(router.RouteRequestSchema, {
        messages: [{ role: Role.USER, content: PROMPT }],
        labels: { bench: label },
      }),
    );
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const path = join(dir, `route-${label}.bin`);
    writeFileSync(path, frame);
    return path;
  };
  const openaiBody = join(dir, "chat-completions.json");
  writeFileSync(
    openaiBody,
    JSON.stringify({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: PROMPT }],
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  return {
    mockFrame: grpcFrame("mock"),
    openaiFrame: grpcFrame("openai"),
    openaiBody,
    decode: (bytes) => fromBinary(router.RouteResponseSchema, bytes),
  };
}

/** Proves every target answers the benchmark's requests successfully before any load is applied. */
async function sanity(servers, payloads) {
  const { createClient } = await import("@connectrpc/connect");
  const { createGrpcTransport } = await import("@connectrpc/connect-node");
  const { RouterService } = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const client = (port) =>
    createClient(
      RouterService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" }),
    );
  const request = (label) => ({ messages: [{ role: Role.USER, content: PROMPT }], labels: { bench: label } });

  // connect-es client: a real gRPC client that fails on any grpc-status other than 0.
  const mock = await client(servers.switchyard.port).route(request("mock"));
  check(mock.decision?.route === "bench_mock", `Route(mock) took route "${mock.decision?.route}"`);
  check(mock.decision?.attempts.length === 1, "Route(mock) made exactly one attempt");
  // The mock quotes the start of the prompt (its first 200 characters) in its reply.
  check(
    (mock.message?.content ?? "").includes(PROMPT.slice(0, 100)),
    "Route(mock) answered with the mock's reply",
  );
  const viaFake = await client(servers.switchyard.port).route(request("openai"));
  check(viaFake.decision?.route === "bench_openai", `Route(openai) took route "${viaFake.decision?.route}"`);
  check(viaFake.message?.content === FAKE_REPLY, `Route(openai) answered "${viaFake.message?.content}"`);
  check((viaFake.usage?.outputTokens ?? 0) > 0, "Route(openai) carries usage");
  const bare = await client(servers.bare.port).route(request("mock"));
  check(bare.message?.content === BARE_REPLY, "bare handler answered its fixed reply");

  // The exact bytes h2load sends: grpc-status 0 and the expected answer; remember the DATA size.
  const expected = {};
  for (const [id, port, frame, test] of [
    ["bare", servers.bare.port, payloads.mockFrame, (r) => r?.message?.content === BARE_REPLY],
    ["route-mock", servers.switchyard.port, payloads.mockFrame, (r) => r?.decision?.route === "bench_mock"],
    [
      "route-openai",
      servers.switchyard.port,
      payloads.openaiFrame,
      (r) => r?.decision?.route === "bench_openai" && r?.message?.content === FAKE_REPLY,
    ],
    ...(servers.baseline
      ? [
          [
            "baseline-mock",
            servers.baseline.port,
            payloads.mockFrame,
            (r) => r?.decision?.route === "bench_mock",
          ],
        ]
      : []),
  ]) {
    const result = await rawGrpcCall(port, frame, payloads.decode);
    check(
      result.httpStatus === 200 && result.grpcStatus === 0,
      `${id}: HTTP ${result.httpStatus}, grpc-status ${result.grpcStatus} ${result.grpcMessage ?? ""}`,
    );
    check(test(result.response), `${id}: unexpected answer ${JSON.stringify(result.response?.message)}`);
    expected[id] = result.dataBytes;
  }

  const direct = await fetch(`http://127.0.0.1:${servers.fake.port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: readFileSync(payloads.openaiBody),
  });
  const text = await direct.text();
  const chunks = text
    .split("\n\n")
    .filter((event) => event.startsWith("data: {"))
    .map((event) => JSON.parse(event.slice("data: ".length)));
  check(
    direct.status === 200 &&
      chunks.every((chunk) => chunk.object === "chat.completion.chunk") &&
      chunks.some((chunk) => chunk.usage) &&
      text.endsWith("data: [DONE]\n\n"),
    "fake OpenAI streams chat.completion.chunks with usage, then [DONE]",
  );
  expected["fake-direct"] = Buffer.byteLength(text);
  return expected;
}

async function fakeCompletions(port) {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  return (await response.json()).completions;
}

// ---------------------------------------------------------------------------------------------
// Load.

function defineCases(servers, payloads) {
  const grpc = (port, frame) => [
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    "-d",
    frame,
    `http://127.0.0.1:${port}${ROUTE_PATH}`,
  ];
  const h1 = ["--h1", "-H", "content-type: application/json", "-d", payloads.openaiBody];
  const fakeUrl = `http://127.0.0.1:${servers.fake.port}/v1/chat/completions`;
  const cases = [];
  for (const c of [1, 32]) {
    // gRPC: one h2c connection, c concurrent streams. HTTP/1.1: c connections, one request each at a time.
    cases.push(
      {
        id: `bare-${c}`,
        expect: "bare",
        label: "bare connect-node Route (fixed answer)",
        proto: "gRPC h2c",
        c,
        args: ["-c", "1", "-m", String(c), ...grpc(servers.bare.port, payloads.mockFrame)],
        pids: [servers.bare.child.pid],
      },
      {
        id: `route-mock-${c}`,
        expect: "route-mock",
        label: "Switchyard Route → mock",
        proto: "gRPC h2c",
        c,
        args: ["-c", "1", "-m", String(c), ...grpc(servers.switchyard.port, payloads.mockFrame)],
        pids: [servers.switchyard.child.pid],
      },
      {
        id: `fake-direct-${c}`,
        expect: "fake-direct",
        label: "fake OpenAI, called directly",
        proto: "HTTP/1.1",
        c,
        args: ["-c", String(c), "-m", "1", ...h1, fakeUrl],
        pids: [servers.fake.child.pid],
      },
      {
        id: `route-openai-${c}`,
        expect: "route-openai",
        label: "Switchyard Route → OpenAI adapter → fake",
        proto: "gRPC h2c",
        c,
        args: ["-c", "1", "-m", String(c), ...grpc(servers.switchyard.port, payloads.openaiFrame)],
        pids: [servers.switchyard.child.pid, servers.fake.child.pid],
        countsAtFake: true,
      },
    );
    if (servers.baseline)
      cases.push({
        id: `baseline-mock-${c}`,
        expect: "baseline-mock",
        label: "baseline build: Switchyard Route → mock",
        proto: "gRPC h2c",
        c,
        args: ["-c", "1", "-m", String(c), ...grpc(servers.baseline.port, payloads.mockFrame)],
        pids: [servers.baseline.child.pid],
      });
  }
  if (!opts.cases) return cases;
  const wanted = new Set(opts.cases.split(","));
  return cases.filter((c) => wanted.has(c.id));
}

async function measure(testCase, servers, expectedBytes, logFile) {
  const before = testCase.pids.map(cpuSeconds);
  const machineBefore = machineCpu();
  const fakeBefore = testCase.countsAtFake ? await fakeCompletions(servers.fake.port) : 0;
  const started = performance.now();
  const out = await runH2load(
    ["-D", String(DURATION_S), ...testCase.args],
    logFile,
    (DURATION_S + 30) * 1000,
  );
  const wall = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const serverCpu = testCase.pids.map(cpuSeconds).reduce((sum, after, i) => sum + after - before[i], 0);
  const h = parseH2load(out);
  const lat = latencies(logFile);

  // h2load counts a gRPC error as a success (HTTP 200); a trailers-only error has no DATA, so
  // the DATA bytes per response must match the successful answer measured in the sanity check.
  const problems = [];
  if (h.failed + h.errored + h.timeout > 0)
    problems.push(`${h.failed + h.errored + h.timeout} failed/errored`);
  if (h.s3xx + h.s4xx + h.s5xx > 0) problems.push(`non-2xx: ${h.s3xx + h.s4xx + h.s5xx}`);
  const bytesPerResponse = h.s2xx > 0 ? h.dataBytes / h.s2xx : 0;
  const expected = expectedBytes[testCase.expect];
  if (!(Math.abs(bytesPerResponse - expected) <= expected * 0.15))
    problems.push(`DATA ${bytesPerResponse.toFixed(0)} B/response, expected ~${expected} (errors?)`);
  if (testCase.countsAtFake) {
    const reached = (await fakeCompletions(servers.fake.port)) - fakeBefore;
    if (reached < h.s2xx) problems.push(`only ${reached} of ${h.s2xx} Routes reached the fake`);
  }
  if (problems.length > 0)
    throw new Error(`${testCase.id}: responses not all successful: ${problems.join("; ")}`);

  const machineBusy = machineAfter.busy - machineBefore.busy;
  const ours = machineAfter.ours - machineBefore.ours + serverCpu;
  return {
    rps: h.rps,
    requests: lat.length,
    p50Ms: percentile(lat, 50) / 1000,
    p99Ms: percentile(lat, 99) / 1000,
    meanMs: lat.reduce((a, b) => a + b, 0) / lat.length / 1000,
    serverCpuUsPerReq: (serverCpu * 1e6) / Math.max(1, lat.length),
    // Cores busy with work that is not this benchmark (other tenants, other engineers' tests).
    otherCores: Math.max(0, (machineBusy - ours) / wall),
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");

/** A run during which other processes kept this many cores busy is left out of the medians. */
const NOISY_CORES = 0.25;

function summarize(cases, runs) {
  // Other tenants (or other engineers' tests) change what a run measures: besides taking CPU, a
  // busy neighbour keeps the vCPUs awake, which makes ping-pong latency at concurrency 1 *lower*.
  // Leave such runs out, unless that would leave nothing.
  const quiet = (rs) => {
    const kept = rs.filter((r) => r.otherCores <= NOISY_CORES);
    return kept.length > 0 ? kept : rs;
  };
  const rows = cases.map((c) => {
    const all = runs.map((rep) => rep[c.id]).filter(Boolean);
    const rs = quiet(all);
    return {
      id: c.id,
      label: c.label,
      proto: c.proto,
      concurrency: c.c,
      runs: all.length,
      runsUsed: rs.length,
      runsNoisy: all.filter((r) => r.otherCores > NOISY_CORES).length,
      rps: median(rs.map((r) => r.rps)),
      rpsMin: Math.min(...rs.map((r) => r.rps)),
      rpsMax: Math.max(...rs.map((r) => r.rps)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
      serverCpuUsPerReq: median(rs.map((r) => r.serverCpuUsPerReq)),
      otherCores: median(all.map((r) => r.otherCores)),
    };
  });
  // Paired comparisons: each repetition's cases ran back to back, so compare within a repetition
  // and take the median across repetitions (robust to the box getting busier or quieter).
  let strict = true;
  const get = (rep, id, key) => {
    const run = rep[id];
    if (!run || (strict && run.otherCores > NOISY_CORES)) return Number.NaN;
    return run[key];
  };
  const paired = (fn) => {
    strict = true;
    let values = runs.map(fn).filter(Number.isFinite);
    if (values.length === 0) {
      strict = false;
      values = runs.map(fn).filter(Number.isFinite);
    }
    return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
  };
  const comparisons = [
    {
      id: "route_mock_rps_ratio_32",
      what: "Route → mock RPS ÷ bare handler RPS, 32 streams",
      unit: "×",
      target: "≥ 0.60",
      pass: (v) => v >= 0.6,
      ...paired((r) => get(r, "route-mock-32", "rps") / get(r, "bare-32", "rps")),
    },
    {
      id: "route_mock_cpu_ratio_32",
      what: "bare handler CPU/request ÷ Switchyard CPU/request (Route → mock), 32 streams (RPS ratio if CPU-bound)",
      unit: "×",
      ...paired((r) => get(r, "bare-32", "serverCpuUsPerReq") / get(r, "route-mock-32", "serverCpuUsPerReq")),
    },
    {
      id: "route_mock_rps_ratio_1",
      what: "Route → mock RPS ÷ bare handler RPS, 1 stream",
      unit: "×",
      ...paired((r) => get(r, "route-mock-1", "rps") / get(r, "bare-1", "rps")),
    },
    {
      id: "route_mock_added_p50_1",
      what: "Route → mock p50 − bare handler p50, 1 stream (Switchyard's own cost)",
      unit: "ms",
      target: "≤ 0.2",
      pass: (v) => v <= 0.2,
      ...paired((r) => get(r, "route-mock-1", "p50Ms") - get(r, "bare-1", "p50Ms")),
    },
    {
      id: "route_mock_added_p99_1",
      what: "Route → mock p99 − bare handler p99, 1 stream",
      unit: "ms",
      ...paired((r) => get(r, "route-mock-1", "p99Ms") - get(r, "bare-1", "p99Ms")),
    },
    {
      id: "route_openai_added_p50_1",
      what: "Route → fake p50 − fake direct p50, 1 stream/connection (gRPC hop + Switchyard + adapter)",
      unit: "ms",
      target: "≤ 0.2",
      pass: (v) => v <= 0.2,
      ...paired((r) => get(r, "route-openai-1", "p50Ms") - get(r, "fake-direct-1", "p50Ms")),
    },
    {
      id: "route_openai_added_p50_1_grpc_hop",
      what: "… of which the gRPC hop itself: bare handler p50, 1 stream",
      unit: "ms",
      ...paired((r) => get(r, "bare-1", "p50Ms")),
    },
    {
      id: "route_openai_added_p50_1_core",
      what: "… of which Switchyard's core: Route → mock p50 − bare handler p50",
      unit: "ms",
      ...paired((r) => get(r, "route-mock-1", "p50Ms") - get(r, "bare-1", "p50Ms")),
    },
    {
      id: "route_openai_added_p50_1_adapter",
      what: "… of which the adapter + upstream hop: Route → fake p50 − Route → mock p50 − fake direct p50",
      unit: "ms",
      ...paired(
        (r) =>
          get(r, "route-openai-1", "p50Ms") -
          get(r, "route-mock-1", "p50Ms") -
          get(r, "fake-direct-1", "p50Ms"),
      ),
    },
    {
      id: "route_openai_added_p99_1",
      what: "Route → fake p99 − fake direct p99, 1 stream/connection",
      unit: "ms",
      ...paired((r) => get(r, "route-openai-1", "p99Ms") - get(r, "fake-direct-1", "p99Ms")),
    },
    {
      id: "route_openai_rps_ratio_32",
      what: "Route → fake RPS ÷ fake direct RPS, 32 concurrent",
      unit: "×",
      ...paired((r) => get(r, "route-openai-32", "rps") / get(r, "fake-direct-32", "rps")),
    },
    {
      id: "route_openai_vs_mock_rps_ratio_32",
      what: "Route → fake RPS ÷ Route → mock RPS, 32 streams (cost of the adapter + upstream hop)",
      unit: "×",
      ...paired((r) => get(r, "route-openai-32", "rps") / get(r, "route-mock-32", "rps")),
    },
    {
      id: "route_openai_cpu_over_mock_32",
      what: "Switchyard+fake CPU/request (Route → fake) − Switchyard CPU/request (Route → mock) − fake CPU/request (direct), 32",
      unit: "µs",
      ...paired(
        (r) =>
          get(r, "route-openai-32", "serverCpuUsPerReq") -
          get(r, "route-mock-32", "serverCpuUsPerReq") -
          get(r, "fake-direct-32", "serverCpuUsPerReq"),
      ),
    },
  ];
  if (runs.some((r) => r["baseline-mock-32"]))
    comparisons.push(
      {
        id: "route_mock_rps_vs_baseline_32",
        what: "Route → mock RPS ÷ the baseline build's, 32 streams (same run)",
        unit: "×",
        ...paired((r) => get(r, "route-mock-32", "rps") / get(r, "baseline-mock-32", "rps")),
      },
      {
        id: "route_mock_cpu_vs_baseline_32",
        what: "baseline build CPU/request ÷ this build's (Route → mock), 32 streams",
        unit: "×",
        ...paired(
          (r) =>
            get(r, "baseline-mock-32", "serverCpuUsPerReq") / get(r, "route-mock-32", "serverCpuUsPerReq"),
        ),
      },
      {
        id: "route_mock_p50_vs_baseline_1",
        what: "Route → mock p50, this build − the baseline build's, 1 stream (same run)",
        unit: "ms",
        ...paired((r) => get(r, "route-mock-1", "p50Ms") - get(r, "baseline-mock-1", "p50Ms")),
      },
      {
        id: "route_mock_cpu_over_baseline_32",
        what: "Switchyard CPU/request, this build − the baseline build's (Route → mock), 32 streams",
        unit: "µs",
        ...paired(
          (r) =>
            get(r, "route-mock-32", "serverCpuUsPerReq") - get(r, "baseline-mock-32", "serverCpuUsPerReq"),
        ),
      },
      {
        id: "baseline_mock_rps_ratio_32",
        what: "baseline build: Route → mock RPS ÷ bare handler RPS, 32 streams",
        unit: "×",
        ...paired((r) => get(r, "baseline-mock-32", "rps") / get(r, "bare-32", "rps")),
      },
    );
  for (const c of comparisons) {
    c.met = c.pass && Number.isFinite(c.median) ? c.pass(c.median) : undefined;
    delete c.pass;
  }
  return { rows, comparisons };
}

function markdown(meta, { rows, comparisons }) {
  const lines = [];
  lines.push(`# Switchyard benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · ${meta.sessions} sessions (fresh processes), each: warm-up ` +
      `${meta.warmupS} s per case, then ${meta.repsPerSession} repetitions × ${meta.durationS} s per case, ` +
      "cases interleaved · " +
      `medians across repetitions · prompt: ${meta.prompt} (${meta.promptBytes} B of user content per request).`,
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, after ${meta.loadavgAfter.join(" ")}; ` +
      `Node ${meta.node}; ${meta.h2load}; git ${meta.git}${meta.baseline ? ` (baseline build: git ${meta.baseline})` : ""}${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; ` +
      `Switchyard LOG_LEVEL=${meta.logLevel} (${meta.switchyardDecisionLogLines} per-request log lines written). ` +
      "Load generator on the same machine.",
    "",
  );
  lines.push(
    "| case | protocol | concurrency | RPS (median) | RPS min–max | p50 ms | p99 ms | server CPU µs/req | other load (cores) | runs used |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${r.proto} | ${r.concurrency} | ${f0(r.rps)} | ${f0(r.rpsMin)}–${f0(r.rpsMax)} | ` +
        `${f3(r.p50Ms)} | ${f3(r.p99Ms)} | ${f0(r.serverCpuUsPerReq)} | ${f2(r.otherCores)} | ${r.runsUsed}/${r.runs} |`,
    );
  }
  const all = rows.reduce((n, r) => n + r.runs, 0);
  const noisy = rows.reduce((n, r) => n + r.runsNoisy, 0);
  const leftOut = rows.reduce((n, r) => n + r.runs - r.runsUsed, 0);
  const allNoisy = rows.filter((r) => r.runs > 0 && r.runsNoisy === r.runs);
  if (noisy > 0) {
    lines.push(
      "",
      `**Noisy box:** in ${noisy} of ${all} runs other processes kept more than ${NOISY_CORES} cores busy; ` +
        `${leftOut} of them were left out` +
        (allNoisy.length > 0
          ? `; every run of ${allNoisy.map((r) => r.id).join(", ")} was noisy, so its numbers are unreliable. ` +
            "Rerun on a quiet machine."
          : "."),
    );
  }
  lines.push(
    "",
    "Comparisons (median of per-repetition values; range across repetitions):",
    "",
    "| comparison | median | range | repetitions used | target | met |",
    "| --- | ---: | ---: | ---: | ---: | :---: |",
  );
  for (const c of comparisons) {
    const fmt = c.unit === "×" ? f2 : c.unit === "µs" ? f0 : f3;
    const met = c.met === undefined ? "" : c.met ? "yes" : "**no**";
    lines.push(
      `| ${c.what} | ${fmt(c.median)} ${c.unit} | ${fmt(c.min)} … ${fmt(c.max)} | ${c.n}/${meta.reps} | ${c.target ?? ""} | ${met} |`,
    );
  }
  lines.push(
    "",
    "Server CPU µs/req: CPU time of the server process(es) of that case (Switchyard; Switchyard + fake for " +
      "Route → fake) divided by requests served. Other load: cores kept busy by processes outside this " +
      `benchmark during the case (median over all runs); runs above ${NOISY_CORES} are left out of the ` +
      "medians and comparisons unless nothing would remain. See bench/README.md.",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench", { noBuild: opts["no-build"] });
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const profDir = join(scratch, "prof");

  const payloads = await buildPayloads(scratch);
  let cases = [];
  const runs = [];
  let decisionLines = 0;
  // Several sessions, each with fresh processes: how well V8 optimises a server differs from one
  // process to the next, and that difference persists for the process's lifetime.
  for (let session = 0; session < SESSIONS; session++) {
    log(`session ${session + 1}/${SESSIONS}: starting fake OpenAI, bare handler and Switchyard…`);
    const fake = await startServer("fake-openai", [join(BENCH, "fake-openai.mjs")]);
    const bare = await startServer("bare", [join(BENCH, "bare-server.mjs")]);
    const switchyard = await startServer(
      "switchyard",
      [
        ...(opts["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", profDir] : []),
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
      ],
      { LOG_LEVEL: opts["log-level"], BENCH_FAKE_OPENAI_URL: `http://127.0.0.1:${fake.port}/v1` },
    );
    const baseline = opts.baseline
      ? await startBaseline(resolve(opts.baseline), `http://127.0.0.1:${fake.port}/v1`)
      : undefined;
    const servers = { fake, bare, switchyard, ...(baseline && { baseline }) };

    const expectedBytes = await sanity(servers, payloads);
    log(
      `sanity: every target answers grpc-status 0 with the expected reply (${JSON.stringify(expectedBytes)} B)`,
    );
    if (opts["log-level"] === "warn" && /"msg":"decision"/.test(switchyard.stderr))
      log("warning: Switchyard logged per-request decisions although LOG_LEVEL=warn");

    cases = defineCases(servers, payloads);
    if (cases.length === 0) throw new Error(`--cases ${opts.cases}: no such case`);
    // V8 keeps getting faster for the first ~10 s of load (tier-up, young-generation sizing), the
    // bare handler more than Switchyard; without this the first repetitions favour Switchyard.
    log(`warm-up: ${cases.length} cases × ${WARMUP_S} s`);
    for (const c of cases)
      await runH2load(["-D", String(WARMUP_S), ...c.args], undefined, (WARMUP_S + 30) * 1000);

    for (let rep = 0; rep < REPS; rep++) {
      const n = runs.length;
      const results = {};
      // Rotate the order so no case always runs right after the same neighbour.
      const order = cases.map((_, i) => cases[(i + n) % cases.length]);
      for (const c of order) {
        const r = await measure(c, servers, expectedBytes, join(scratch, `${c.id}-${n}.tsv`));
        results[c.id] = { session: session + 1, ...r };
        log(
          `session ${session + 1} rep ${rep + 1}/${REPS} ${c.id.padEnd(16)} ${f0(r.rps).padStart(7)} req/s  ` +
            `p50 ${f3(r.p50Ms)} ms  p99 ${f3(r.p99Ms)} ms  cpu ${f0(r.serverCpuUsPerReq)} µs/req  ` +
            `other ${f2(r.otherCores)}`,
        );
      }
      runs.push(results);
    }
    for (const entry of children) {
      if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
    }
    decisionLines += (switchyard.stderr.match(/"msg":"decision"/g) ?? []).length;
    await stopAll();
    children.length = 0;
  }

  const now = new Date();
  const git = process.env.BENCH_GIT ?? sourceRevision(ROOT);
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(
      " ",
    ),
    sessions: SESSIONS,
    repsPerSession: REPS,
    reps: SESSIONS * REPS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    h2load: pre.h2loadVersion,
    git,
    ...(opts.baseline && {
      baseline: sourceRevision(opts.baseline, opts.baseline),
    }),
    distStale: pre.distStale,
    logLevel: opts["log-level"],
    prompt: opts.prompt,
    promptBytes: Buffer.byteLength(PROMPT),
    switchyardDecisionLogLines: decisionLines,
  };
  const summary = summarize(cases, runs);
  const md = markdown(meta, summary);
  process.stdout.write(`\n${md}\n`);

  if (opts["cpu-prof"]) {
    const profiles = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile")) : [];
    for (const p of profiles) {
      // Kept outside the repository (profiles are large); open it in Chrome DevTools or speedscope.
      const keptDir = join(tmpdir(), "switchyard-bench-profiles");
      mkdirSync(keptDir, { recursive: true });
      const kept = join(keptDir, `${meta.timestamp.replace(/[:.]/g, "-")}-${opts.cases ?? "all"}.cpuprofile`);
      writeFileSync(kept, readFileSync(join(profDir, p)));
      process.stdout.write(`\nSwitchyard CPU profile (${kept}):\n${summarizeProfile(kept)}\n`);
    }
    if (profiles.length === 0) log("no CPU profile was written");
  }

  if (!opts["no-write"] && !opts.cases) {
    // A run against a baseline, or with another prompt, is a different measurement: its own file.
    writeResults(
      `${meta.date}${opts.baseline ? "-vs-baseline" : ""}${opts.prompt === "hello" ? "" : `-${opts.prompt}`}`,
      md,
      { meta, ...summary, runs },
    );
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
