// Admission benchmark: what a tenant's budgets and limits (reserve before the call, settle after)
// add to Route → mock with the memory state store and with Redis, against a baseline with no
// tenant limits measured in the same run; what counting a 2 KB prompt's tokens with gpt-tokenizer
// costs next to the approximation; and Route throughput with `serve --workers 1` and
// `--workers 2`, all interleaved. See bench/README.md ("Admission").
//
//   npm run bench:admission                     # ~4.5 min, writes bench/results/<date>-admission.{md,json}
//   npm run bench:admission -- --sessions 1 --duration 1 --no-write   # quick look, records nothing
//
// Options: --sessions N (3; fresh processes and a fresh redis-server each) --reps N (2 per session)
//          --duration S (2) --warmup S (2, per case and session) --no-workers (leave out the
//          --workers 2 servers and their cases; never writes) --no-build --no-write
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectTcp, createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
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
import { PROMPTS } from "./prompts.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");

const { values: opts } = parseArgs({
  options: {
    sessions: { type: "string", default: "3" },
    reps: { type: "string", default: "2" },
    duration: { type: "string", default: "2" },
    warmup: { type: "string", default: "2" },
    "no-workers": { type: "boolean", default: false },
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
const WORKERS = !opts["no-workers"];

const TENANT = "bench";
const USER = "u1";
/**
 * Every budget and limit the policy has, for the tenant and for each user, far above what a run
 * uses: nothing is ever refused, so every call pays the whole admission (ten counters reserved,
 * then settled) and the sanity checks can demand that every call succeeded.
 */
const TENANT_BLOCK = `
tenants:
  ${TENANT}:
    budgets: { usd_per_day: 1000000, usd_per_month: 1000000 }
    limits: { requests_per_minute: 100000000, tokens_per_minute: 1000000000, concurrent: 100000 }
    per_user:
      usd_per_day: 1000000
      usd_per_month: 1000000
      requests_per_minute: 100000000
      tokens_per_minute: 1000000000
      concurrent: 100000
`;
const COUNTERS = 10;
/** `closed`: a Redis that failed during the run would show as errors, never as local counting. */
const redisState = (url) => `
state:
  store: redis
  redis: { url: "${url}" }
  on_unavailable: closed
`;

/** The configurations: each is a Switchyard with `--workers 1`, and (unless --no-workers) the first two with `--workers 2` as well. */
const CONFIGS = [
  { id: "baseline", label: "baseline: no tenant limits", limited: false },
  { id: "memory", label: "budgets + limits, `state.store: memory`", limited: true },
  { id: "redis", label: "budgets + limits, `state.store: redis`", limited: true },
];
const WORKER_CONFIGS = ["baseline", "memory"];

/**
 * The cases, in groups whose members take turns (the first rotated every repetition). `server`:
 * `<config>-w<workers>`; `frame`: which request; `c` × `m`: h2load's connections × streams.
 */
const GROUPS = [
  {
    id: "latency",
    cases: [
      ...CONFIGS.map((config) => ({
        id: `${config.id}-1`,
        server: `${config.id}-w1`,
        frame: "hello",
        c: 1,
        m: 1,
      })),
      { id: "prose-approx-1", server: "memory-w1", frame: "prose-approx", c: 1, m: 1 },
      { id: "prose-exact-1", server: "memory-w1", frame: "prose-exact", c: 1, m: 1 },
    ],
  },
  {
    id: "throughput",
    cases: CONFIGS.map((config) => ({
      id: `${config.id}-32`,
      server: `${config.id}-w1`,
      frame: "hello",
      c: 1,
      m: 32,
    })),
  },
  ...(WORKERS
    ? [
        {
          id: "workers",
          // Several connections: the cluster primary hands connections to workers in turn.
          cases: WORKER_CONFIGS.flatMap((config) =>
            [1, 2].map((w) => ({
              id: `${config}-w${w}-8x8`,
              server: `${config}-w${w}`,
              frame: "hello",
              c: 8,
              m: 8,
            })),
          ),
        },
      ]
    : []),
];
const CASES = GROUPS.flatMap((group) => group.cases);

/** The requests: the label picks the route (and so the model), the content the prompt. */
const FRAMES = {
  hello: { label: "mock", prompt: "hello", route: "bench_mock" },
  "prose-approx": { label: "mock", prompt: "prose", route: "bench_mock" },
  "prose-exact": { label: "gpt-4o", prompt: "prose", route: "bench_gpt4o" },
};

let scratch;

// ---------------------------------------------------------------------------------------------
// Processes.

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function redisBinary() {
  const found = (process.env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, "redis-server"))
    .find((path) => spawnSync(path, ["--version"]).status === 0);
  if (!found) {
    log("redis-server not found. Install it: apt-get update && apt-get install -y redis-server");
    process.exit(2);
  }
  return found;
}

/** Sends RESP commands on one connection; resolves with the replies once `count` have arrived. */
function redisCommands(port, commands) {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, "127.0.0.1");
    let buffer = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("redis: no answer within 5 s")));
    socket.on("error", reject);
    socket.on("connect", () => {
      socket.write(
        commands
          .map(
            (args) =>
              `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`,
          )
          .join(""),
      );
    });
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      const replies = parseResp(buffer, commands.length);
      if (replies) {
        socket.end();
        resolve(replies);
      }
    });
  });
}

/** `count` RESP replies from `text`, or undefined while some are still incomplete (enough for PING, KEYS, MGET). */
function parseResp(text, count) {
  let at = 0;
  const line = () => {
    const end = text.indexOf("\r\n", at);
    if (end < 0) throw new RangeError("incomplete");
    const value = text.slice(at, end);
    at = end + 2;
    return value;
  };
  const one = () => {
    const head = line();
    const rest = head.slice(1);
    switch (head[0]) {
      case "+":
        return rest;
      case "-":
        throw new Error(`redis: ${rest}`);
      case ":":
        return Number(rest);
      case "$": {
        const n = Number(rest);
        if (n < 0) return null;
        if (text.length < at + n + 2) throw new RangeError("incomplete");
        const value = text.slice(at, at + n);
        at += n + 2;
        return value;
      }
      case "*":
        return Array.from({ length: Number(rest) }, one);
      default:
        throw new Error(`redis: cannot read ${JSON.stringify(head)}`);
    }
  };
  try {
    return Array.from({ length: count }, one);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

/** A redis-server of its own on a free loopback port, nothing persisted; kept in `children` so stopAll ends it. */
async function startRedis(binary) {
  const port = await freePort();
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"].concat([
      "--dir",
      scratch,
      "--logfile",
      "",
      "--loglevel",
      "warning",
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const entry = { name: "redis-server", child, stderr: "", exited: false, port };
  children.push(entry);
  child.stderr.on("data", (chunk) => {
    entry.stderr += chunk;
  });
  child.once("exit", () => {
    entry.exited = true;
  });
  const deadline = performance.now() + 5000;
  for (;;) {
    const pong = await redisCommands(port, [["PING"]]).catch(() => undefined);
    if (pong?.[0] === "PONG") break;
    if (entry.exited || performance.now() > deadline)
      throw new Error(`redis-server did not answer PING on port ${port}:\n${entry.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const [version] = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout.match(/v=\S+/) ?? [];
  entry.version = version ?? "?";
  return entry;
}

async function startSwitchyard(config, workers, policyPath) {
  const entry = await startServer(
    `switchyard-${config.id}-w${workers}`,
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--config",
      policyPath,
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
  const serving = entry.stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .find((line) => line.msg === "serving");
  // Every process of the server: a primary's CPU counts (it accepts connections, hands them over
  // and, with the memory store, keeps the counters every worker reserves against).
  const pids = [serving.pid, ...(serving.workers ?? [])];
  check(pids.length === (workers === 1 ? 1 : workers + 1), `${entry.name}: ${pids.length} processes`);
  // calls: answered to h2load and the sanity checks. cutOff: the most calls h2load can have left
  // in flight at its deadlines (it resets them; the server records each as `abandoned`).
  return { id: `${config.id}-w${workers}`, config, workers, entry, pids, calls: 0, cutOff: 0 };
}

/** The calls a server has handled by outcome: its switchyard_calls_total series (operator /metrics). */
async function callsByOutcome(server) {
  const response = await fetch(`http://127.0.0.1:${server.entry.operatorPort}/metrics`);
  const text = await response.text();
  check(
    response.ok && /^switchyard_calls_total\{/m.test(text),
    `${server.id}: /metrics has switchyard_calls_total`,
  );
  const outcomes = {};
  for (const line of text.split("\n").filter((l) => l.startsWith("switchyard_calls_total{"))) {
    const outcome = /outcome="([^"]*)"/.exec(line)?.[1] ?? "?";
    outcomes[outcome] = (outcomes[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return outcomes;
}

/** AdminService.GetUsage over Connect JSON on the operator listener (loopback, no token needed). */
async function usage(server) {
  const response = await fetch(
    `http://127.0.0.1:${server.entry.operatorPort}/switchyard.v1.AdminService/GetUsage`,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant: TENANT, user: USER }),
    },
  );
  const body = await response.json();
  check(response.ok, `${server.id}: GetUsage answered ${response.status} ${JSON.stringify(body)}`);
  return Object.fromEntries((body.limits ?? []).map((limit) => [limit.limit, limit]));
}

// ---------------------------------------------------------------------------------------------
// Requests and sanity.

async function buildFrames(dir) {
  const { create, toBinary, fromBinary } = await import("@bufbuild/protobuf");
  const router = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const frames = {};
  for (const [id, spec] of Object.entries(FRAMES)) {
    const message = toBinary(
      router.RouteRequestSchema,
      create(router.RouteRequestSchema, {
        messages: [{ role: Role.USER, content: PROMPTS[spec.prompt] }],
        labels: { bench: spec.label },
        tenant: TENANT,
        user: USER,
      }),
    );
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    const path = join(dir, `${id}.bin`);
    writeFileSync(path, frame);
    frames[id] = { ...spec, path };
  }
  return { frames, decode: (bytes) => fromBinary(router.RouteResponseSchema, bytes) };
}

/**
 * Each case's exact frame, sent once to its server: grpc-status 0, the route the label names,
 * the quota line a limited tenant's decision carries (and none without limits). Returns each
 * case's answer size (for checking h2load's responses) and the input tokens admission counted
 * for each frame.
 */
async function sanityCalls(servers, frames, decode) {
  const bytes = {};
  const inputTokens = {};
  for (const kase of CASES) {
    const server = servers[kase.server];
    const frame = frames[kase.frame];
    const r = await rawGrpcCall(server.entry.port, frame.path, decode);
    server.calls += 1;
    const what = `${kase.id} (${server.id})`;
    check(
      r.httpStatus === 200 && r.grpcStatus === 0,
      `${what}: HTTP ${r.httpStatus}, grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ""}`,
    );
    const decision = r.response?.decision;
    check(decision?.route === frame.route, `${what}: route ${decision?.route}, expected ${frame.route}`);
    check(decision?.attempts.length === 1, `${what}: one attempt`);
    check(decision?.estimatedCostUsd > 0, `${what}: a worst case was estimated`);
    if (server.config.limited)
      check(
        decision?.quota.startsWith(`${TENANT}: reserved up to $`),
        `${what}: the decision says what was reserved (quota "${decision?.quota}")`,
      );
    else check(decision?.quota === "", `${what}: no tenant limits, no quota line ("${decision?.quota}")`);
    bytes[kase.id] = r.dataBytes;
    if (server.config.limited) inputTokens[kase.frame] = decision.estimatedInputTokens;
  }
  // The same prose counted two ways: exactly (o200k_base) for gpt-4o, by approximation for the other.
  check(
    inputTokens["prose-exact"] !== inputTokens["prose-approx"],
    `gpt-4o counted exactly (${inputTokens["prose-exact"]} tokens), the other model by approximation (${inputTokens["prose-approx"]})`,
  );
  return { bytes, inputTokens };
}

/** Redis keys under the store's prefix, and the sum of the counters whose name matches `pattern` (in whole units). */
async function redisCounters(redis, pattern) {
  const [keys] = await redisCommands(redis.port, [["KEYS", "switchyard:*"]]);
  const matching = keys.filter((key) => pattern.test(key));
  const values = matching.length > 0 ? (await redisCommands(redis.port, [["MGET", ...matching]]))[0] : [];
  return { keys, sum: values.reduce((sum, value) => sum + Number(value ?? 0), 0) / 1e6 };
}

/**
 * countInputTokens itself, in this process, from the build (dist/src/admit/token-count.js): its
 * first call for gpt-4o (which loads gpt-tokenizer's o200k_base tables), then 7 passes of 500
 * calls per model after 2 not kept, the two models taking turns. The server cases measure the same
 * work among everything else a call does, on a box where that is noise; here it is alone.
 */
async function tokenizerInProcess() {
  const { countInputTokens } = await import("../dist/src/admit/token-count.js");
  const messages = [{ role: "user", content: PROMPTS.prose }];
  const t0 = performance.now();
  const exact = await countInputTokens("gpt-4o", messages, []);
  const firstCallMs = performance.now() - t0;
  const approx = await countInputTokens("bench-model", messages, []);
  check(exact.exact && !approx.exact, "gpt-4o is counted exactly, bench-model by approximation");
  const CALLS = 500;
  const pass = async (model) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) await countInputTokens(model, messages, []);
    const { user, system } = process.cpuUsage(cpu);
    return { wallUs: ((performance.now() - started) * 1000) / CALLS, cpuUs: (user + system) / CALLS };
  };
  const passes = { exact: [], approx: [] };
  for (let i = 0; i < 9; i++)
    for (const [kind, model] of i % 2
      ? [
          ["approx", "bench-model"],
          ["exact", "gpt-4o"],
        ]
      : [
          ["exact", "gpt-4o"],
          ["approx", "bench-model"],
        ]) {
      const r = await pass(model);
      if (i >= 2) passes[kind].push(r);
    }
  const of = (kind, key) => stat(passes[kind].map((r) => r[key]));
  return {
    firstCallMs,
    exactTokens: exact.tokens,
    approxTokens: approx.tokens,
    exactWallUs: of("exact", "wallUs"),
    exactCpuUs: of("exact", "cpuUs"),
    approxWallUs: of("approx", "wallUs"),
    approxCpuUs: of("approx", "cpuUs"),
  };
}

// ---------------------------------------------------------------------------------------------
// Load.

function h2loadArgs(server, frame, kase) {
  return [
    "-c",
    String(kase.c),
    "-m",
    String(kase.m),
    "-H",
    "content-type: application/grpc",
    "-H",
    "te: trailers",
    "-d",
    frame,
    `http://127.0.0.1:${server.entry.port}${ROUTE_PATH}`,
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

async function warmUp(kase, servers, frames, bytes) {
  const server = servers[kase.server];
  const out = await runH2load(
    ["-D", String(WARMUP_S), ...h2loadArgs(server, frames[kase.frame].path, kase)],
    undefined,
    (WARMUP_S + 30) * 1000,
  );
  const h = parseH2load(out);
  checkResponses(`${kase.id} warm-up`, h, bytes[kase.id]);
  server.calls += h.s2xx;
  server.cutOff += kase.c * kase.m;
}

async function measure(kase, servers, frames, bytes, redis) {
  const server = servers[kase.server];
  const logFile = join(scratch, `${kase.id}.tsv`);
  // h2load appends to its log file.
  rmSync(logFile, { force: true });
  const everyone = [...Object.values(servers).flatMap((s) => s.pids), redis.child.pid];
  const cpu = () => server.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = cpu();
  const redisBefore = cpuSeconds(redis.child.pid);
  const everyoneBefore = everyone.map(cpuSeconds);
  const machineBefore = machineCpu();
  const started = performance.now();
  const out = await runH2load(
    ["-D", String(DURATION_S), ...h2loadArgs(server, frames[kase.frame].path, kase)],
    logFile,
    (DURATION_S + 30) * 1000,
  );
  const wall = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const used = cpu() - before;
  const redisCpu = cpuSeconds(redis.child.pid) - redisBefore;
  const everyoneCpu = everyone.map(cpuSeconds).reduce((sum, after, i) => sum + after - everyoneBefore[i], 0);
  const h = parseH2load(out);
  checkResponses(kase.id, h, bytes[kase.id]);
  server.calls += h.s2xx;
  server.cutOff += kase.c * kase.m;
  const lat = latencies(logFile);
  // This process, h2load, every Switchyard process (the idle ones too) and redis-server are ours.
  const ours = machineAfter.ours - machineBefore.ours + everyoneCpu;
  return {
    rps: h.rps,
    requests: lat.length,
    p50Ms: percentile(lat, 50) / 1000,
    p99Ms: percentile(lat, 99) / 1000,
    cpuUsPerCall: (used * 1e6) / Math.max(1, lat.length),
    redisCpuUsPerCall: (redisCpu * 1e6) / Math.max(1, lat.length),
    // Cores busy with work that is not this benchmark (other tenants, other engineers' tests).
    otherCores: Math.max(0, (machineAfter.busy - machineBefore.busy - ours) / wall),
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const signed = (fmt) => (x) => (Number.isFinite(x) && x > 0 ? `+${fmt(x)}` : fmt(x));
const withRange = (s, fmt) =>
  `${fmt(s.median)}${s.values.length > 1 ? ` (${fmt(s.min)} … ${fmt(s.max)})` : ""}`;

/** A run during which other processes kept this many cores busy is left out, unless all were. */
const NOISY_CORES = 0.25;

function stat(values) {
  const v = values.filter(Number.isFinite);
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), values: v };
}

/** Each case's medians over the repetitions (the quiet ones, unless none was). */
function summarizeCases(runs) {
  return Object.fromEntries(
    CASES.map((kase) => {
      const all = runs.map((rep) => rep[kase.id]);
      const quiet = all.filter((r) => r.otherCores <= NOISY_CORES);
      const used = quiet.length > 0 ? quiet : all;
      const pick = (key) => stat(used.map((r) => r[key]));
      return [
        kase.id,
        {
          runs: all.length,
          runsUsed: used.length,
          rps: pick("rps"),
          p50Ms: pick("p50Ms"),
          p99Ms: pick("p99Ms"),
          cpuUsPerCall: pick("cpuUsPerCall"),
          redisCpuUsPerCall: pick("redisCpuUsPerCall"),
          otherCores: stat(all.map((r) => r.otherCores)),
        },
      ];
    }),
  );
}

/**
 * `id` against `base` within each repetition (both measured in it, back to back), then the median
 * over repetitions: differences (id − base) and ratios (id ÷ base). A repetition in which either
 * had more than NOISY_CORES of other load is left out unless every one was.
 */
function compare(runs, id, base) {
  const all = runs.map((rep) => [rep[id], rep[base]]);
  const quiet = all.filter((pair) => pair.every((r) => r.otherCores <= NOISY_CORES));
  const used = quiet.length > 0 ? quiet : all;
  const diff = (key) => stat(used.map(([a, b]) => a[key] - b[key]));
  const ratio = (key) => stat(used.map(([a, b]) => a[key] / b[key]));
  return {
    id,
    base,
    runs: all.length,
    runsUsed: used.length,
    addedP50Ms: diff("p50Ms"),
    addedP99Ms: diff("p99Ms"),
    addedCpuUs: diff("cpuUsPerCall"),
    rpsRatio: ratio("rps"),
    p50Ratio: ratio("p50Ms"),
    cpuRatio: ratio("cpuUsPerCall"),
  };
}

function comparisons(runs) {
  const out = {
    latency: ["memory", "redis"].map((c) => compare(runs, `${c}-1`, "baseline-1")),
    throughput: ["memory", "redis"].map((c) => compare(runs, `${c}-32`, "baseline-32")),
    tokenizer: compare(runs, "prose-exact-1", "prose-approx-1"),
  };
  if (WORKERS)
    out.workers = [
      ...WORKER_CONFIGS.map((c) => compare(runs, `${c}-w2-8x8`, `${c}-w1-8x8`)),
      ...[1, 2].map((w) => compare(runs, `memory-w${w}-8x8`, `baseline-w${w}-8x8`)),
    ];
  return out;
}

function markdown(meta, cases, cmp, checks) {
  const label = (id) => CONFIGS.find((c) => c.id === id)?.label ?? id;
  const used = (c) => `${c.runsUsed}/${c.runs}`;
  const lines = [];
  lines.push(`# Switchyard admission benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · Route → mock (bench/admission-policy.yaml: the mock answers at once), gRPC ` +
      `over h2c, h2load · tenant \`${TENANT}\`, user \`${USER}\` on every request · one Switchyard per ` +
      "configuration and worker count, a redis-server of the benchmark's own (nothing persisted), " +
      `${meta.sessions} sessions (fresh processes), each: warm-up ${meta.warmupS} s per case, then ` +
      `${meta.repsPerSession} repetitions × ${meta.durationS} s per case, the cases of a group taking turns ` +
      "(order rotated each repetition) · medians over repetitions; differences and ratios against the " +
      "baseline of the same repetition, their range in brackets.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; Node ${meta.node}; ${meta.h2load}; redis-server ${meta.redis}; ` +
      `git ${meta.git}${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; LOG_LEVEL=warn; ` +
      `load generator, servers and Redis on the same machine. Duration ${f0(meta.durationTotalS)} s.`,
    "",
  );

  lines.push(
    "## What admission adds to a call (1 stream)",
    "",
    "| configuration | p50 ms | p99 ms | p50 − baseline ms | p99 − baseline ms | p50 ÷ baseline | CPU µs/call | CPU − baseline µs/call | Redis CPU µs/call | other load (cores) | runs used |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const config of CONFIGS) {
    const c = cases[`${config.id}-1`];
    const k = cmp.latency.find((x) => x.id === `${config.id}-1`);
    lines.push(
      `| ${label(config.id)} | ${f3(c.p50Ms.median)} | ${f3(c.p99Ms.median)} | ` +
        `${k ? `**${withRange(k.addedP50Ms, signed(f3))}**` : ""} | ${k ? withRange(k.addedP99Ms, signed(f3)) : ""} | ` +
        `${k ? withRange(k.p50Ratio, f2) : ""} | ${f0(c.cpuUsPerCall.median)} | ${k ? withRange(k.addedCpuUs, signed(f0)) : ""} | ` +
        `${config.id === "redis" ? f0(c.redisCpuUsPerCall.median) : ""} | ${f2(c.otherCores.median)} | ${k ? used(k) : used(c)} |`,
    );
  }
  lines.push("");

  lines.push(
    "## Throughput (32 streams)",
    "",
    "| configuration | RPS | RPS ÷ baseline | CPU µs/call | CPU ÷ baseline | CPU − baseline µs/call | Redis CPU µs/call | p50 ms | other load (cores) | runs used |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const config of CONFIGS) {
    const c = cases[`${config.id}-32`];
    const k = cmp.throughput.find((x) => x.id === `${config.id}-32`);
    lines.push(
      `| ${label(config.id)} | ${f0(c.rps.median)} | ${k ? `**${withRange(k.rpsRatio, f2)}**` : ""} | ` +
        `${f0(c.cpuUsPerCall.median)} | ${k ? `**${withRange(k.cpuRatio, f2)}**` : ""} | ${k ? withRange(k.addedCpuUs, signed(f0)) : ""} | ` +
        `${config.id === "redis" ? f0(c.redisCpuUsPerCall.median) : ""} | ${f3(c.p50Ms.median)} | ${f2(c.otherCores.median)} | ${k ? used(k) : used(c)} |`,
    );
  }
  lines.push("");

  const t = cmp.tokenizer;
  const exact = cases["prose-exact-1"];
  const approx = cases["prose-approx-1"];
  lines.push(
    "## Counting a 2 KB prompt's tokens (1 stream, memory store)",
    "",
    `The ~2 KB prose prompt (${meta.proseBytes} B) to the same mock provider under two model names: \`gpt-4o\` ` +
      "(counted with gpt-tokenizer, o200k_base) and `bench-model` (the approximation, about four characters a token).",
    "",
    "| model | input tokens counted | p50 ms | p99 ms | CPU µs/call | other load (cores) |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    `| \`bench-model\` (approximation) | ${meta.inputTokens["prose-approx"]} | ${f3(approx.p50Ms.median)} | ${f3(approx.p99Ms.median)} | ${f0(approx.cpuUsPerCall.median)} | ${f2(approx.otherCores.median)} |`,
    `| \`gpt-4o\` (gpt-tokenizer) | ${meta.inputTokens["prose-exact"]} | ${f3(exact.p50Ms.median)} | ${f3(exact.p99Ms.median)} | ${f0(exact.cpuUsPerCall.median)} | ${f2(exact.otherCores.median)} |`,
    "",
    `Through the server, exact − approximation: p50 ${withRange(t.addedP50Ms, signed(f3))} ms, CPU ` +
      `${withRange(t.addedCpuUs, signed(f0))} µs/call (runs used ${used(t)}); beyond the counting, the calls ` +
      "differ only in the model's name.",
    "",
    `\`countInputTokens\` alone, in the benchmark's process after the servers stopped (7 passes × 500 calls, ` +
      `medians): **gpt-tokenizer ${f1(meta.tokenizer.exactCpuUs.median)} µs CPU per call** ` +
      `(${f1(meta.tokenizer.exactCpuUs.min)} … ${f1(meta.tokenizer.exactCpuUs.max)}; wall ${f1(meta.tokenizer.exactWallUs.median)}), ` +
      `the approximation ${f1(meta.tokenizer.approxCpuUs.median)} µs (wall ${f1(meta.tokenizer.approxWallUs.median)}); ` +
      `the first gpt-4o call, which loads the o200k_base tables, took ${f0(meta.tokenizer.firstCallMs)} ms.`,
    "",
  );

  if (cmp.workers) {
    lines.push(
      "## Workers (8 connections × 8 streams)",
      "",
      "`serve --workers 1` (the servers above) and `--workers 2` (a primary and two workers; CPU summed over " +
        "all its processes), on the baseline and on the memory store, whose counters live in the primary " +
        "and are reached over IPC.",
      "",
      "| configuration | --workers | RPS | p50 ms | p99 ms | CPU µs/call | other load (cores) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const config of WORKER_CONFIGS)
      for (const w of [1, 2]) {
        const c = cases[`${config}-w${w}-8x8`];
        lines.push(
          `| ${label(config)} | ${w} | ${f0(c.rps.median)} | ${f3(c.p50Ms.median)} | ${f3(c.p99Ms.median)} | ` +
            `${f0(c.cpuUsPerCall.median)} | ${f2(c.otherCores.median)} |`,
        );
      }
    lines.push("", "| comparison | RPS ratio | CPU/call ratio | runs used |", "| --- | ---: | ---: | ---: |");
    for (const k of cmp.workers) {
      const what =
        k.id.startsWith("memory") && k.base.startsWith("baseline")
          ? `memory store ÷ baseline, \`--workers ${k.id.match(/-w(\d)/)[1]}\``
          : `\`--workers 2\` ÷ \`--workers 1\`, ${k.id.split("-")[0]}`;
      lines.push(
        `| ${what} | **${withRange(k.rpsRatio, f2)}** | ${withRange(k.cpuRatio, f2)} | ${used(k)} |`,
      );
    }
    lines.push("");
  }

  lines.push(
    "## Checks",
    "",
    "| server | calls handled | outcomes | tenant calls in flight after the load | spent (usd_per_day used) | requests counted in Redis |",
    "| --- | ---: | --- | ---: | ---: | ---: |",
  );
  for (const c of checks)
    lines.push(
      `| ${c.server} | ${f0(c.calls)} | ${Object.entries(c.outcomes)
        .map(([k, v]) => `${k} ${f0(v)}`)
        .join(", ")} | ${c.limited ? `${c.inFlight} (user ${c.userInFlight})` : ""} | ` +
        `${c.limited ? `$${c.spentUsd.toFixed(6)}` : ""} | ${c.redisRequests === undefined ? "" : f0(c.redisRequests)} |`,
    );
  const noisy = [...Object.values(cases), ...Object.values(cmp).flat()].some((c) => c.runsUsed < c.runs);
  lines.push(
    "",
    "Every h2load response was checked (no failure, only 2xx, the DATA size of a successful answer), " +
      "every server's calls ended `ok` (none refused or failed) but those h2load reset at its deadlines " +
      "(`abandoned`, in the *outcomes* column), no call was left holding a slot, and the " +
      "Redis server's request counters add up to the calls it handled. *CPU* is the user+system time of " +
      "the case's Switchyard process(es) per call: the steadiest column; *Redis CPU* is redis-server's, " +
      "which runs on the same two cores here. *Other load*: cores kept busy by processes outside this " +
      `benchmark (median); a repetition in which either side of a comparison had more than ${NOISY_CORES} ` +
      `is left out unless all were${noisy ? " (**some were left out**: read the ranges with care)" : ""}. ` +
      'See bench/README.md, "Admission".',
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench:admission", { noBuild: opts["no-build"] });
  const redisPath = redisBinary();
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-admission-"));
  const { frames, decode } = await buildFrames(scratch);
  const basePolicy = readFileSync(join(BENCH, "admission-policy.yaml"), "utf8");

  const runs = [];
  const checks = [];
  let inputTokens;
  let redisVersion;
  for (let session = 0; session < SESSIONS; session++) {
    const dir = join(scratch, `session-${session + 1}`);
    mkdirSync(dir);
    const redis = await startRedis(redisPath);
    redisVersion = redis.version;
    const policies = {
      baseline: basePolicy,
      memory: `${basePolicy}${TENANT_BLOCK}`,
      redis: `${basePolicy}${TENANT_BLOCK}${redisState(`redis://127.0.0.1:${redis.port}`)}`,
    };
    log(`session ${session + 1}/${SESSIONS}: redis-server on ${redis.port}, starting the Switchyards…`);
    // One at a time: several Node processes loading at once on a busy box can take over 15 s each.
    const servers = {};
    for (const config of CONFIGS)
      for (const workers of WORKERS && WORKER_CONFIGS.includes(config.id) ? [1, 2] : [1]) {
        const path = join(dir, `${config.id}.yaml`);
        writeFileSync(path, policies[config.id]);
        const server = await startSwitchyard(config, workers, path);
        servers[server.id] = server;
      }
    const sanity = await sanityCalls(servers, frames, decode);
    check(
      inputTokens === undefined || JSON.stringify(inputTokens) === JSON.stringify(sanity.inputTokens),
      "the same prompts are counted the same in every session",
    );
    inputTokens = sanity.inputTokens;
    const afterSanity = await redisCounters(redis, /:requests:/);
    check(
      afterSanity.keys.length >= COUNTERS,
      `the Redis configuration's counters are in Redis (${afterSanity.keys.length} keys: ${afterSanity.keys.join(", ")})`,
    );
    log(
      `sanity: every case answers ${Object.entries(sanity.bytes)
        .map(([k, v]) => `${k} ${v} B`)
        .join(", ")}; prose counted ${inputTokens["prose-exact"]} tokens (gpt-4o) and ` +
        `${inputTokens["prose-approx"]} (approximation); ${afterSanity.keys.length} counters in Redis`,
    );

    log(`warm-up: ${CASES.length} cases × ${WARMUP_S} s`);
    for (const kase of CASES) await warmUp(kase, servers, frames, sanity.bytes);

    for (let rep = 0; rep < REPS; rep++) {
      const n = runs.length;
      const results = {};
      for (const group of GROUPS) {
        // The cases take turns, the first one rotating, so drift hits them all alike.
        const order = group.cases.map((_, i) => group.cases[(i + n) % group.cases.length]);
        for (const kase of order) {
          const r = await measure(kase, servers, frames, sanity.bytes, redis);
          results[kase.id] = { session: session + 1, ...r };
          log(
            `session ${session + 1} rep ${rep + 1}/${REPS} ${kase.id.padEnd(16)} ` +
              `${f0(r.rps).padStart(6)} req/s  p50 ${f3(r.p50Ms)} ms  p99 ${f3(r.p99Ms)} ms  ` +
              `cpu ${f0(r.cpuUsPerCall)} µs/call  redis ${f0(r.redisCpuUsPerCall)}  other ${f2(r.otherCores)}`,
          );
        }
      }
      runs.push(results);
    }

    for (const entry of children)
      if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
    // Calls h2load left in flight at its deadline finish and settle.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const server of Object.values(servers)) {
      const outcomes = await callsByOutcome(server);
      const calls = Object.values(outcomes).reduce((a, b) => a + b, 0);
      check(
        calls >= server.calls && calls <= server.calls + server.cutOff,
        `${server.id}: ${calls} calls counted for ${server.calls} answered (up to ${server.cutOff} cut off)`,
      );
      // Nothing refused or failed: the limits are high enough never to refuse. Calls h2load reset
      // at its deadline are `abandoned` (settled like any other).
      check(
        Object.keys(outcomes).every((outcome) => outcome === "ok" || outcome === "abandoned") &&
          (outcomes.ok ?? 0) >= server.calls &&
          (outcomes.abandoned ?? 0) <= server.cutOff,
        `${server.id}: every call answered ok but those cut off at h2load's deadlines (${JSON.stringify(outcomes)}, ${server.calls} answered, up to ${server.cutOff} cut off)`,
      );
      const row = {
        server: `${server.id} (session ${session + 1})`,
        calls,
        outcomes,
        limited: server.config.limited,
      };
      if (server.config.limited) {
        const limits = await usage(server);
        const inFlight = limits[`tenants.${TENANT}.limits.concurrent`]?.used;
        const userInFlight = limits[`tenants.${TENANT}.per_user.concurrent`]?.used;
        const spent = limits[`tenants.${TENANT}.budgets.usd_per_day`]?.used;
        check(
          inFlight === 0 && userInFlight === 0,
          `${server.id}: no slot left held (${inFlight}, user ${userInFlight})`,
        );
        check(spent > 0, `${server.id}: the calls were charged (usd_per_day used ${spent})`);
        Object.assign(row, { inFlight, userInFlight, spentUsd: spent });
      }
      if (server.config.id === "redis") {
        // Every call reserved a request on the tenant's counter in Redis and on its user's: the
        // per-minute counters (none has expired yet) add up to the calls handled.
        const tenantRequests = await redisCounters(redis, /^switchyard:\{bench\}:requests:/);
        const userRequests = await redisCounters(redis, /^switchyard:\{bench\}:user:u1:requests:/);
        check(
          tenantRequests.sum === calls && userRequests.sum === calls,
          `${server.id}: Redis counted ${tenantRequests.sum} requests (user ${userRequests.sum}) for ${calls} calls`,
        );
        row.redisRequests = tenantRequests.sum;
      }
      checks.push(row);
    }
    await stopAll();
    children.length = 0;
  }

  log("countInputTokens in this process…");
  const tokenizer = await tokenizerInProcess();
  check(
    tokenizer.exactTokens === inputTokens["prose-exact"] &&
      tokenizer.approxTokens === inputTokens["prose-approx"],
    `countInputTokens here (${tokenizer.exactTokens}, ${tokenizer.approxTokens}) agrees with the servers' decisions`,
  );

  const now = new Date();
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:admission",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    sessions: SESSIONS,
    repsPerSession: REPS,
    reps: SESSIONS * REPS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    workers: WORKERS,
    proseBytes: Buffer.byteLength(PROMPTS.prose),
    inputTokens,
    tokenizer,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    h2load: pre.h2loadVersion,
    redis: redisVersion,
    git: process.env.BENCH_GIT ?? sourceRevision(ROOT),
    distStale: pre.distStale,
    durationTotalS: (performance.now() - startedAt) / 1000,
  };
  const cases = summarizeCases(runs);
  const cmp = comparisons(runs);
  const md = markdown(meta, cases, cmp, checks);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"] && WORKERS) {
    writeResults(`${meta.date}-admission`, md, { meta, cases, comparisons: cmp, checks, runs });
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
