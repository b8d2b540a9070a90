// Failover and hedging benchmark: what a failed primary adds to a Route call, what a retry adds,
// and what a hedge saves when the primary is slow to its first token, each against a baseline
// measured in the same run. See bench/README.md ("Failover and hedging").
//
//   npm run bench:failover                              # ~2.5 min, writes bench/results/<date>-failover.{md,json}
//   npm run bench:failover -- --reps 1 --calls 200 --no-write   # quick look, records nothing
//
// Options: --reps N (3) --calls N (500 per case and repetition) --chunk N (250; calls per h2load
//          run, the cases take turns chunk by chunk) --warmup-calls N (60 per case)
//          --anatomy-calls N (200; one-at-a-time calls whose decisions say where the time goes; a
//          quarter as many hedged ones)
//          --cases id,id (all; never writes) --no-build --no-write
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
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
const FAKE_REPLY = "Hello from the fake OpenAI server.";
const PROMPT = "hello";

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    calls: { type: "string", default: "500" },
    chunk: { type: "string", default: "250" },
    "warmup-calls": { type: "string", default: "60" },
    "anatomy-calls": { type: "string", default: "200" },
    cases: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const REPS = Number(opts.reps);
const CALLS = Number(opts.calls);
const CHUNK = Math.min(Number(opts.chunk), CALLS);
const WARMUP_CALLS = Number(opts["warmup-calls"]);
const ANATOMY_CALLS = Number(opts["anatomy-calls"]);
if (
  !(REPS >= 1 && CALLS >= 1 && CHUNK >= 1 && WARMUP_CALLS >= 0 && ANATOMY_CALLS >= 0) ||
  CALLS % CHUNK !== 0
)
  throw new Error("--reps, --calls, --chunk >= 1 (--calls a multiple of --chunk), --warmup-calls >= 0");

/**
 * The upstreams: one bench/fake-openai.mjs process each, with its behaviour. bench/failover-policy.yaml
 * points a provider at each (BENCH_<NAME>_URL).
 */
const UPSTREAMS = {
  healthy: { args: [], what: "answers at once" },
  down: { args: ["--status", "503"], what: "503 to every call, at once" },
  flaky: { args: ["--fail-every", "20"], what: "503 to every 20th call, at once" },
  slow: { args: ["--first-byte-ms", "300"], what: "first byte after 300 ms, every call" },
  tail: {
    args: ["--first-byte-ms", "300", "--slow-every", "25"],
    what: "first byte after 300 ms on every 25th call, at once otherwise",
  },
};

/**
 * The scenarios, one route of bench/failover-policy.yaml each (the request label `bench` picks it).
 * `primary` is the upstream the route tries first and `target` its target there (each route has
 * its own, so its own breaker, retry budget and first-token samples); every fallback is `healthy`.
 */
const SCENARIOS = {
  direct: {
    primary: "healthy",
    target: "healthy/gpt-4o-mini",
    label: "straight to the healthy upstream (baseline)",
  },
  failover: { primary: "down", target: "down/down-once", label: "primary 503s, no retry → fallback" },
  failover_retry: {
    primary: "down",
    target: "down/down-retry",
    label: "primary 503s, default retry (2 attempts) → fallback",
  },
  flaky: {
    primary: "flaky",
    target: "flaky/flaky-once",
    label: "primary 503s 1 call in 20, no retry → fallback",
  },
  flaky_retry: {
    primary: "flaky",
    target: "flaky/flaky-retry",
    label: "primary 503s 1 call in 20, default retry → fallback",
  },
  slow: { primary: "slow", target: "slow/slow-plain", label: "primary first byte 300 ms, no hedge" },
  slow_hedge: {
    primary: "slow",
    target: "slow/slow-hedge",
    label: "primary first byte 300 ms, hedge after 50 ms",
  },
  tail: { primary: "tail", target: "tail/tail-plain", label: "primary 300 ms on 1 call in 25, no hedge" },
  tail_hedge: {
    primary: "tail",
    target: "tail/tail-hedge",
    label: "primary 300 ms on 1 call in 25, hedge after 50 ms",
  },
  tail_hedge_p95: {
    primary: "tail",
    target: "tail/tail-p95",
    label: "primary 300 ms on 1 call in 25, hedge after its p95",
  },
};

/**
 * The cases: a scenario at a concurrency, each group with its baseline (`direct`) at the same
 * concurrency. Failover one call at a time (its latency, no queueing) and 4 at a time. The slow
 * tail one at a time too: with a fixed number of calls in flight, calls stuck on a slow primary
 * would leave the fast ones less CPU to queue for, so the unhedged case's p50 would look better
 * than it is. The always-slow primary 8 at a time (its calls wait, they hardly use the CPU; one
 * at a time, 500 of them would take 2.5 minutes).
 */
const GROUPS = [
  {
    id: "failover",
    concurrencies: [1, 4],
    scenarios: ["direct", "failover", "failover_retry", "flaky", "flaky_retry"],
  },
  { id: "tail", concurrencies: [1], scenarios: ["direct", "tail", "tail_hedge", "tail_hedge_p95"] },
  { id: "slow", concurrencies: [8], scenarios: ["direct", "slow", "slow_hedge"] },
];
const ALL_CASES = GROUPS.flatMap((group) =>
  group.concurrencies.flatMap((c) =>
    group.scenarios.map((scenario) => ({
      id: `${scenario}-${c}`,
      group: group.id,
      scenario,
      c,
      ...SCENARIOS[scenario],
    })),
  ),
).filter((c, i, all) => all.findIndex((other) => other.id === c.id) === i);

let scratch;

// ---------------------------------------------------------------------------------------------
// Requests and checks.

async function buildFrames(dir) {
  const { create, toBinary } = await import("@bufbuild/protobuf");
  const { RouteRequestSchema } = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const frames = {};
  for (const scenario of Object.keys(SCENARIOS)) {
    const message = toBinary(
      RouteRequestSchema,
      create(RouteRequestSchema, {
        messages: [{ role: Role.USER, content: PROMPT }],
        labels: { bench: scenario },
      }),
    );
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    frames[scenario] = join(dir, `route-${scenario}.bin`);
    writeFileSync(frames[scenario], frame);
  }
  return frames;
}

async function routeClient(port) {
  const { createClient } = await import("@connectrpc/connect");
  const { createGrpcTransport } = await import("@connectrpc/connect-node");
  const { RouterService } = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const { AttemptOutcome, ErrorClass } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const client = createClient(
    RouterService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" }),
  );
  return {
    AttemptOutcome,
    ErrorClass,
    route: (scenario) =>
      client.route({ messages: [{ role: Role.USER, content: PROMPT }], labels: { bench: scenario } }),
  };
}

/**
 * Proves each scenario does what it says before any load: a connect-es client (which fails on any
 * grpc-status but 0) checks the route taken, the answer and the attempts; then the frame h2load
 * sends must come back with grpc-status 0. Returns the smallest successful answer's DATA size.
 */
async function sanity(switchyard, frames, scenarios) {
  const client = await routeClient(switchyard.port);
  const { AttemptOutcome: O, ErrorClass: E } = client;
  const describe = (attempts) =>
    attempts.map(
      (a) => `${a.target}:${O[a.outcome]}${a.retry ? ` retry ${a.retry}` : ""}${a.hedge ? " hedge" : ""}`,
    );
  let smallest = Number.POSITIVE_INFINITY;
  for (const scenario of scenarios) {
    const r = await client.route(scenario);
    const attempts = r.decision?.attempts ?? [];
    const shown = describe(attempts).join(", ");
    check(r.decision?.route === scenario, `${scenario}: took route "${r.decision?.route}"`);
    check(r.message?.content === FAKE_REPLY, `${scenario}: answered "${r.message?.content}"`);
    const primaryId = SCENARIOS[scenario].target;
    const last = attempts.at(-1);
    const succeeded = attempts.filter((a) => a.outcome === O.SUCCEEDED);
    check(succeeded.length === 1, `${scenario}: one attempt succeeded (${shown})`);
    if (scenario === "direct" || scenario === "slow" || scenario === "tail")
      check(
        attempts.length === 1 && last?.target === primaryId,
        `${scenario}: one attempt on ${primaryId} (${shown})`,
      );
    if (scenario === "failover" || scenario === "failover_retry") {
      const onPrimary = attempts.filter((a) => a.target === primaryId);
      check(
        onPrimary.every((a) => a.outcome === O.FAILED && a.errorClass === E.OVERLOADED) &&
          onPrimary.length === (scenario === "failover" ? 1 : 2) &&
          last?.target === "healthy/gpt-4o-mini" &&
          last.outcome === O.SUCCEEDED,
        `${scenario}: the primary failed (overloaded)${scenario === "failover" ? " once" : ", was retried once"}, the fallback answered (${shown})`,
      );
    }
    if (scenario === "slow_hedge")
      check(
        attempts.length === 2 &&
          attempts.some((a) => a.target === primaryId && a.outcome === O.CANCELLED) &&
          last?.hedge === true &&
          last.outcome === O.SUCCEEDED,
        `slow_hedge: the hedge on the fallback answered, the primary was stopped (${shown})`,
      );
    const raw = await rawGrpcCall(switchyard.port, frames[scenario]);
    check(
      raw.httpStatus === 200 && raw.grpcStatus === 0,
      `${scenario} frame: HTTP ${raw.httpStatus}, grpc-status ${raw.grpcStatus} ${raw.grpcMessage ?? ""}`,
    );
    smallest = Math.min(smallest, raw.dataBytes);
  }
  return smallest;
}

/**
 * What Switchyard knows of each target (AdminService.ListTargets on the operator listener): the
 * p95 time to first token is the delay `hedge: { after: p95 }` waits.
 */
async function targetStats(switchyard) {
  const { createClient } = await import("@connectrpc/connect");
  const { createGrpcTransport } = await import("@connectrpc/connect-node");
  const { AdminService } = await import("../dist/gen/switchyard/v1/admin_pb.js");
  const admin = createClient(
    AdminService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${switchyard.operatorPort}`, httpVersion: "2" }),
  );
  const { targets } = await admin.listTargets({});
  return Object.fromEntries(
    targets.map((t) => [
      t.target,
      { p95FirstTokenMs: t.p95FirstTokenMs, latencyMs: t.latencyMs, recentCalls: t.recentCalls },
    ]),
  );
}

/**
 * Switchyard's event-loop delay since the last call (bench/loop-delay.mjs, preloaded): asks with
 * SIGUSR2 and waits for the line it writes to stderr.
 */
async function loopDelay(switchyard) {
  const from = switchyard.stderr.length;
  switchyard.child.kill("SIGUSR2");
  for (let waited = 0; waited < 5000; waited += 5) {
    const line = switchyard.stderr
      .slice(from)
      .split("\n")
      .find((l) => l.startsWith('{"msg":"bench-loop-delay"'));
    if (line) return JSON.parse(line);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("Switchyard did not report its event-loop delay (bench/loop-delay.mjs)");
}

async function upstreamStats(upstreams) {
  const entries = await Promise.all(
    Object.entries(upstreams).map(async ([name, server]) => {
      const response = await fetch(`http://127.0.0.1:${server.port}/stats`);
      return [name, await response.json()];
    }),
  );
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Load.

/**
 * `calls` Route calls of one case with h2load (one h2c connection, `c` concurrent streams), with
 * the upstreams' and the machine's counters around them. Throws unless every call succeeded.
 */
async function runChunk(testCase, calls, env) {
  const { switchyard, upstreams, frames, smallestAnswer } = env;
  const logFile = join(scratch, `${testCase.id}.tsv`);
  // h2load appends to its log file.
  rmSync(logFile, { force: true });
  const pids = [switchyard, ...Object.values(upstreams)].map((s) => s.child.pid);
  const before = await upstreamStats(upstreams);
  await loopDelay(switchyard);
  const cpuBefore = pids.map(cpuSeconds);
  const machineBefore = machineCpu();
  const started = performance.now();
  const out = await runH2load(
    [
      "-n",
      String(calls),
      "-c",
      "1",
      "-m",
      String(testCase.c),
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "-d",
      frames[testCase.scenario],
      `http://127.0.0.1:${switchyard.port}${ROUTE_PATH}`,
    ],
    logFile,
    120_000,
  );
  const wall = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const cpu = pids.map(cpuSeconds).map((after, i) => after - cpuBefore[i]);
  const loop = await loopDelay(switchyard);
  const after = await upstreamStats(upstreams);
  const delta = Object.fromEntries(
    Object.keys(upstreams).map((name) => [
      name,
      Object.fromEntries(Object.keys(after[name]).map((key) => [key, after[name][key] - before[name][key]])),
    ]),
  );
  const h = parseH2load(out);

  // h2load counts a gRPC error as a success (HTTP 200): every successful Route has exactly one
  // upstream answer written to its end (or more, when a hedge's loser finished too), and a
  // trailers-only error has no DATA.
  const problems = [];
  if (h.done !== calls || h.s2xx !== calls || h.failed + h.errored + h.timeout > 0)
    problems.push(`${h.done} done, ${h.s2xx} 2xx, ${h.failed + h.errored + h.timeout} failed/errored`);
  const answered = Object.values(delta).reduce((n, d) => n + d.ok, 0);
  if (testCase.scenario.includes("hedge") ? answered < calls : answered !== calls)
    problems.push(`${answered} upstream answers for ${calls} calls`);
  if (h.dataBytes / calls < smallestAnswer * 0.95)
    problems.push(
      `DATA ${(h.dataBytes / calls).toFixed(0)} B/call, a success is at least ${smallestAnswer} B`,
    );
  if (problems.length > 0)
    throw new Error(`${testCase.id}: calls not all successful: ${problems.join("; ")}`);

  const lat = latencies(logFile);
  if (lat.length !== calls) throw new Error(`${testCase.id}: ${lat.length} latencies for ${calls} calls`);
  const ours = machineAfter.ours - machineBefore.ours + cpu.reduce((a, b) => a + b, 0);
  return {
    latUs: lat,
    wall,
    switchyardCpu: cpu[0],
    upstreamCpu: cpu.slice(1).reduce((a, b) => a + b, 0),
    otherCpu: Math.max(0, machineAfter.busy - machineBefore.busy - ours),
    upstreams: delta,
    loop,
  };
}

/** Folds a case's chunks of one repetition into its numbers. */
function summarizeRun(testCase, chunks) {
  const lat = chunks.flatMap((chunk) => chunk.latUs).sort((a, b) => a - b);
  const calls = lat.length;
  const sum = (f) => chunks.reduce((n, chunk) => n + f(chunk), 0);
  const wall = sum((chunk) => chunk.wall);
  const primary = testCase.primary;
  const perCall = (upstream, key) => sum((chunk) => chunk.upstreams[upstream][key]) / calls;
  return {
    calls,
    p50Ms: percentile(lat, 50) / 1000,
    p90Ms: percentile(lat, 90) / 1000,
    p99Ms: percentile(lat, 99) / 1000,
    maxMs: lat[lat.length - 1] / 1000,
    meanMs: lat.reduce((a, b) => a + b, 0) / calls / 1000,
    callsPerS: calls / wall,
    switchyardCpuUsPerCall: (sum((chunk) => chunk.switchyardCpu) * 1e6) / calls,
    upstreamCpuUsPerCall: (sum((chunk) => chunk.upstreamCpu) * 1e6) / calls,
    otherCores: sum((chunk) => chunk.otherCpu) / wall,
    loopDelayP99Ms: sum((chunk) => chunk.loop.p99Ms) / chunks.length,
    loopDelayMaxMs: Math.max(...chunks.map((chunk) => chunk.loop.maxMs)),
    // Upstream requests per call: the primary's (1 + retries), the fallback's (failovers and hedges).
    primaryPerCall: perCall(primary, "requests"),
    fallbackPerCall: primary === "healthy" ? 0 : perCall("healthy", "requests"),
    primaryAbortedPerCall: perCall(primary, "aborted"),
  };
}

/**
 * One call at a time, the scenarios in turn (each `plan[scenario]` times), through a connect-es
 * client: the decision's attempt latencies (Switchyard's clock, from sending to the last byte or
 * the failure) split each call's time into its attempts and the rest (the gRPC hop, the pipeline
 * around the attempts, the step from one attempt to the next, the client). Attempts that ran side
 * by side (a hedge) overlap: the primary's time then ends when the hedge's answer began, and the
 * hedge started about (primary's time − hedge's time) after the primary (the fakes answer in one
 * piece, so a time to first token is about an attempt's time).
 */
async function anatomy(switchyard, plan) {
  const client = await routeClient(switchyard.port);
  const samples = Object.fromEntries(Object.keys(plan).map((s) => [s, []]));
  while (Object.entries(plan).some(([s, n]) => samples[s].length < n)) {
    for (const [scenario, n] of Object.entries(plan)) {
      if (samples[scenario].length >= n) continue;
      const started = performance.now();
      const r = await client.route(scenario);
      const totalMs = performance.now() - started;
      const attempts = r.decision?.attempts ?? [];
      const hedge = attempts.find((a) => a.hedge);
      const first = attempts[0]?.latencyMs ?? Number.NaN;
      const last = attempts.length > 1 ? (attempts.at(-1)?.latencyMs ?? Number.NaN) : Number.NaN;
      samples[scenario].push({
        totalMs,
        attempts: attempts.length,
        firstMs: first,
        retryMs: attempts.find((a) => a.retry > 0)?.latencyMs ?? Number.NaN,
        lastMs: hedge ? hedge.latencyMs : last,
        hedgeAfterMs: hedge ? first - hedge.latencyMs : Number.NaN,
        restMs: hedge ? totalMs - first : totalMs - attempts.reduce((sum, a) => sum + a.latencyMs, 0),
      });
    }
  }
  return Object.fromEntries(
    Object.keys(plan).map((scenario) => {
      const s = samples[scenario];
      const pick = (key) => median(s.map((x) => x[key]));
      return [
        scenario,
        {
          calls: s.length,
          totalMs: pick("totalMs"),
          firstMs: pick("firstMs"),
          retryMs: pick("retryMs"),
          lastMs: pick("lastMs"),
          hedgeAfterMs: pick("hedgeAfterMs"),
          restMs: pick("restMs"),
          attemptsPerCall: s.reduce((n, x) => n + x.attempts, 0) / s.length,
        },
      ];
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Report.

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const fms = (x) =>
  !Number.isFinite(x) ? "–" : Math.abs(x) >= 100 ? f1(x) : Math.abs(x) >= 10 ? f2(x) : f3(x);

/** A repetition during which other processes kept this many cores busy is left out (unless all are). */
const NOISY_CORES = 0.25;

function summarize(cases, runs) {
  const rows = cases.map((c) => {
    const all = runs.map((rep) => rep[c.id]).filter(Boolean);
    const quiet = all.filter((r) => r.otherCores <= NOISY_CORES);
    const rs = quiet.length > 0 ? quiet : all;
    const med = (key) => median(rs.map((r) => r[key]));
    return {
      id: c.id,
      scenario: c.scenario,
      label: c.label,
      concurrency: c.c,
      group: c.group,
      reps: all.length,
      repsUsed: rs.length,
      callsPerRep: all[0]?.calls ?? 0,
      p50Ms: med("p50Ms"),
      p50Min: Math.min(...rs.map((r) => r.p50Ms)),
      p50Max: Math.max(...rs.map((r) => r.p50Ms)),
      p99Ms: med("p99Ms"),
      p99Min: Math.min(...rs.map((r) => r.p99Ms)),
      p99Max: Math.max(...rs.map((r) => r.p99Ms)),
      meanMs: med("meanMs"),
      switchyardCpuUsPerCall: med("switchyardCpuUsPerCall"),
      loopDelayP99Ms: med("loopDelayP99Ms"),
      loopDelayMaxMs: med("loopDelayMaxMs"),
      primaryPerCall: med("primaryPerCall"),
      fallbackPerCall: med("fallbackPerCall"),
      primaryAbortedPerCall: med("primaryAbortedPerCall"),
      otherCores: median(all.map((r) => r.otherCores)),
    };
  });

  // Paired: both cases of a comparison ran in the same repetition, chunk for chunk; compare
  // within it, then take the median over repetitions (quiet ones, unless none was).
  const paired = (a, b, fn) => {
    const pick = (strict) =>
      runs
        .filter((rep) => rep[a] && rep[b])
        .filter((rep) => !strict || (rep[a].otherCores <= NOISY_CORES && rep[b].otherCores <= NOISY_CORES))
        .map((rep) => fn(rep[a], rep[b]))
        .filter(Number.isFinite);
    let values = pick(true);
    if (values.length === 0) values = pick(false);
    return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
  };
  const has = (id) => cases.some((c) => c.id === id);
  /**
   * One row per pair: the differences and ratios of p50 and p99. `saving` reverses the
   * difference (base − case: what the case saves).
   */
  const comparisons = [];
  const compare = (id, base, what, { saving = false } = {}) => {
    if (!has(id) || !has(base)) return;
    const row = { id: `${id}_vs_${base}`, case: id, base, what, saving };
    for (const p of ["p50", "p99"]) {
      row[`d${p}`] = paired(id, base, (x, y) =>
        saving ? y[`${p}Ms`] - x[`${p}Ms`] : x[`${p}Ms`] - y[`${p}Ms`],
      );
      row[`r${p}`] = paired(id, base, (x, y) => x[`${p}Ms`] / y[`${p}Ms`]);
    }
    comparisons.push(row);
  };
  for (const c of [1, 4]) {
    compare(
      `failover-${c}`,
      `direct-${c}`,
      `What failover adds, ${c} at a time: primary 503, no retry − direct`,
    );
    compare(
      `failover_retry-${c}`,
      `direct-${c}`,
      `What failover adds with the default retry, ${c} at a time: primary 503, retry − direct`,
    );
    compare(
      `failover_retry-${c}`,
      `failover-${c}`,
      `What the default retry adds to failover, ${c} at a time: retry − no retry`,
    );
    compare(
      `flaky_retry-${c}`,
      `flaky-${c}`,
      `Primary failing 1 call in 20, ${c} at a time: retry on it − fail over at once`,
    );
  }
  compare("tail_hedge-1", "tail-1", "Hedge after 50 ms, primary 300 ms on 1 call in 25 (saved)", {
    saving: true,
  });
  compare("tail_hedge_p95-1", "tail-1", "Hedge after p95, primary 300 ms on 1 call in 25 (saved)", {
    saving: true,
  });
  compare("slow_hedge-8", "slow-8", "Hedge after 50 ms, primary always 300 ms, 8 at a time (saved)", {
    saving: true,
  });
  compare("slow_hedge-8", "direct-8", "Hedge after 50 ms, primary always 300 ms, 8 at a time: − direct");
  // The delay `after: p95` waited: the target's p95 time to first token at the end of each repetition.
  const firstTokenP95 = Object.fromEntries(
    ["tail", "tail_hedge", "tail_hedge_p95", "slow", "slow_hedge"]
      .map((scenario) => SCENARIOS[scenario].target)
      .map((t) => [t, runs.map((rep) => rep.targets?.[t]?.p95FirstTokenMs ?? Number.NaN)]),
  );
  return { rows, comparisons, firstTokenP95 };
}

function markdown(meta, { rows, comparisons, firstTokenP95 }, anatomyResult) {
  const lines = [];
  lines.push(`# Switchyard failover and hedging benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · ${meta.reps} repetitions × ${meta.callsPerCase} calls per case ` +
      `(h2load, one h2c connection, the given number of concurrent streams), cases taking turns in ` +
      `runs of ${meta.chunk} calls, order rotated each repetition, after ${meta.warmupCalls} warm-up calls per case · ` +
      "medians across repetitions · each comparison paired within a repetition.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, after ` +
      `${meta.loadavgAfter.join(" ")}; Node ${meta.node}; ${meta.h2load}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; ` +
      `Switchyard \`dist/src/cli/main.js serve --config bench/failover-policy.yaml\`, LOG_LEVEL=warn; ` +
      "load generator and upstreams on the same machine. Duration " +
      `${f0(meta.durationS)} s.`,
    "",
    "Upstreams (bench/fake-openai.mjs, one process each): " +
      Object.entries(UPSTREAMS)
        .map(([name, u]) => `**${name}** ${u.what}`)
        .join("; ") +
      ". Every fallback is **healthy**.",
    "",
    "| case | concurrency | p50 ms | p50 min–max | p99 ms | p99 min–max | Switchyard CPU µs/call | Switchyard loop delay p99 / max ms | primary requests/call | fallback requests/call | other load (cores) | reps used |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  let group;
  for (const r of rows) {
    if (group !== undefined && (r.group !== group.id || r.concurrency !== group.c))
      lines.push("| | | | | | | | | | | | |");
    group = { id: r.group, c: r.concurrency };
    lines.push(
      `| ${r.scenario}: ${r.label} | ${r.concurrency} | ${fms(r.p50Ms)} | ${fms(r.p50Min)}–${fms(r.p50Max)} | ` +
        `${fms(r.p99Ms)} | ${fms(r.p99Min)}–${fms(r.p99Max)} | ${f0(r.switchyardCpuUsPerCall)} | ` +
        `${f1(r.loopDelayP99Ms)} / ${f0(r.loopDelayMaxMs)} | ` +
        `${f3(r.primaryPerCall)} | ${f3(r.fallbackPerCall)} | ${f2(r.otherCores)} | ${r.repsUsed}/${r.reps} |`,
    );
  }
  const noisy = rows.filter((r) => r.repsUsed < r.reps || r.otherCores > NOISY_CORES);
  if (noisy.length > 0)
    lines.push(
      "",
      `**Noisy box:** other processes kept more than ${NOISY_CORES} cores busy during some repetitions ` +
        `(${noisy.map((r) => r.id).join(", ")}); those are left out unless every repetition of the case was noisy.`,
    );
  lines.push(
    "",
    "Comparisons, each within a repetition (both cases ran in it, run for run), then the median over " +
      "repetitions with the range in brackets. Δ is case − baseline, or for a saving baseline − case; " +
      "the ratio is always case ÷ baseline:",
    "",
    "| comparison | Δ p50 ms | Δ p99 ms | p50 ratio | p99 ratio | repetitions used |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  );
  const cell = (v, fmt) => `${fmt(v.median)} (${fmt(v.min)} … ${fmt(v.max)})`;
  for (const c of comparisons)
    lines.push(
      `| ${c.what} | ${cell(c.dp50, fms)} | ${cell(c.dp99, fms)} | ${cell(c.rp50, f2)} | ${cell(c.rp99, f2)} | ` +
        `${c.dp50.n}/${meta.reps} |`,
    );
  const p95 = Object.entries(firstTokenP95).filter(([, values]) => values.some(Number.isFinite));
  if (p95.length > 0)
    lines.push(
      "",
      "p95 time to first token Switchyard had observed per target at the end of each repetition " +
        "(AdminService.ListTargets; over the last 100 attempts the target *won*; `after: p95` hedges " +
        "after it once 20 are known): " +
        p95
          .map(([t, values]) => `${t} ${values.map((v) => (v > 0 ? f0(v) : "none")).join(", ")}`)
          .join("; ") +
        " ms (ListTargets rounds to whole ms; none: no attempt of it had won yet).",
    );
  if (anatomyResult) {
    lines.push(
      "",
      "Where the time goes, one call at a time, through a connect-es client after the measurement " +
        "(medians). Attempt times are the decision's `latency_ms`, from sending to the last byte or the " +
        "failure; *rest* is the call's time outside its attempts: the gRPC hop, the pipeline around the " +
        "attempts, going from one attempt to the next, the client. With a hedge the two attempts overlap: " +
        "the primary's time ends when the hedge's answer arrived, *rest* is the call's time after that, and " +
        "the hedge started about (primary − hedge) after the primary:",
      "",
      "| scenario | calls | attempts/call | call ms | first attempt (primary) ms | retry ms | fallback or hedge ms | hedge started after ms | rest ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const [scenario, a] of Object.entries(anatomyResult))
      lines.push(
        `| ${scenario} | ${a.calls} | ${f2(a.attemptsPerCall)} | ${fms(a.totalMs)} | ${fms(a.firstMs)} | ` +
          `${fms(a.retryMs)} | ${fms(a.lastMs)} | ${fms(a.hedgeAfterMs)} | ${fms(a.restMs)} |`,
      );
  }
  lines.push(
    "",
    "Latency is h2load's per-request time (request sent to response end). *Primary/fallback requests per " +
      "call* are counted by the upstreams: retries show as primary requests above 1, failovers and hedges " +
      "as fallback requests. *Switchyard CPU* is its process's user+system time over the calls. *Loop delay*: " +
      "how late Switchyard's event loop ran during the calls (sampled every 10 ms; p99 averaged over the " +
      "runs of a repetition, max the worst), the server's share of a p99. *Other load* " +
      "is the cores kept busy by processes outside this benchmark. See bench/README.md.",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench:failover", { noBuild: opts["no-build"] });
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-failover-"));
  const frames = await buildFrames(scratch);
  const wanted = opts.cases ? new Set(opts.cases.split(",")) : undefined;
  const cases = wanted ? ALL_CASES.filter((c) => wanted.has(c.id)) : ALL_CASES;
  if (cases.length === 0)
    throw new Error(`--cases ${opts.cases}: none of ${ALL_CASES.map((c) => c.id).join(", ")}`);

  log("starting the upstreams and Switchyard…");
  const upstreams = {};
  for (const [name, u] of Object.entries(UPSTREAMS))
    upstreams[name] = await startServer(`fake-${name}`, [join(BENCH, "fake-openai.mjs"), ...u.args]);
  const env = Object.fromEntries(
    Object.entries(upstreams).map(([name, s]) => [
      `BENCH_${name.toUpperCase()}_URL`,
      `http://127.0.0.1:${s.port}/v1`,
    ]),
  );
  const switchyard = await startServer(
    "switchyard",
    [
      // Its event-loop delay, read around every run of calls (bench/loop-delay.mjs).
      "--import",
      join(BENCH, "loop-delay.mjs"),
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--config",
      join(BENCH, "failover-policy.yaml"),
      "--port",
      "0",
      "--operator-port",
      "0",
      "--log-format",
      "json",
    ],
    { LOG_LEVEL: "warn", ...env },
  );

  const scenarios = [...new Set(cases.map((c) => c.scenario))];
  const smallestAnswer = await sanity(switchyard, frames, scenarios);
  log(
    `sanity: each scenario routes, fails over, retries and hedges as its route says (answers ≥ ${smallestAnswer} B)`,
  );
  const ctx = { switchyard, upstreams, frames, smallestAnswer };

  // Warm-up: V8 tier-up, the keep-alive pools, and the first-token samples `after: p95` needs.
  log(`warm-up: ${cases.length} cases × ${WARMUP_CALLS} calls`);
  if (WARMUP_CALLS > 0) for (const c of cases) await runChunk(c, WARMUP_CALLS, ctx);

  const runs = [];
  const rounds = CALLS / CHUNK;
  for (let rep = 0; rep < REPS; rep++) {
    const chunks = Object.fromEntries(cases.map((c) => [c.id, []]));
    // Rotate the order so no case always runs right after the same neighbour.
    const order = cases.map((_, i) => cases[(i + rep) % cases.length]);
    for (let round = 0; round < rounds; round++)
      for (const c of order) chunks[c.id].push(await runChunk(c, CHUNK, ctx));
    const results = Object.fromEntries(cases.map((c) => [c.id, summarizeRun(c, chunks[c.id])]));
    results.targets = await targetStats(switchyard);
    for (const c of cases) {
      const r = results[c.id];
      log(
        `rep ${rep + 1}/${REPS} ${c.id.padEnd(18)} p50 ${fms(r.p50Ms).padStart(7)} ms  p99 ${fms(r.p99Ms).padStart(7)} ms  ` +
          `cpu ${f0(r.switchyardCpuUsPerCall).padStart(5)} µs/call  primary ${f3(r.primaryPerCall)}  ` +
          `fallback ${f3(r.fallbackPerCall)}  other ${f2(r.otherCores)}`,
      );
    }
    runs.push(results);
  }

  // The hedged calls take ~55 ms each: fewer of them.
  const anatomyPlan = Object.fromEntries(
    [
      ["direct", ANATOMY_CALLS],
      ["failover", ANATOMY_CALLS],
      ["failover_retry", ANATOMY_CALLS],
      ["slow_hedge", Math.ceil(ANATOMY_CALLS / 4)],
    ].filter(([s, n]) => scenarios.includes(s) && n > 0),
  );
  let anatomyResult;
  if (Object.keys(anatomyPlan).length > 0) {
    log(
      `anatomy, one call at a time: ${Object.entries(anatomyPlan)
        .map(([s, n]) => `${s} × ${n}`)
        .join(", ")}`,
    );
    anatomyResult = await anatomy(switchyard, anatomyPlan);
  }
  for (const entry of children)
    if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
  await stopAll();

  const now = new Date();
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:failover",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    reps: REPS,
    callsPerCase: CALLS,
    chunk: CHUNK,
    warmupCalls: WARMUP_CALLS,
    anatomyCalls: ANATOMY_CALLS,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    h2load: pre.h2loadVersion,
    git: process.env.BENCH_GIT ?? sourceRevision(ROOT),
    distStale: pre.distStale,
    durationS: (performance.now() - startedAt) / 1000,
  };
  const summary = summarize(cases, runs);
  const md = markdown(meta, summary, anatomyResult);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"] && !opts.cases) {
    writeResults(`${meta.date}-failover`, md, { meta, ...summary, anatomy: anatomyResult, runs });
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
