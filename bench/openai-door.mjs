// OpenAI door benchmark: what a caller pays for calling the fake OpenAI server through
// Switchyard's OpenAI-compatible door (POST /v1/chat/completions on the router's port) instead
// of directly, both measured in the same run. See bench/README.md ("The OpenAI door").
//
//   npm run bench:openai-door                 # ~2 min, writes bench/results/<date>-openai-door.{md,json}
//   npm run bench:openai-door -- --reps 3 --duration 1 --stream-calls 20 --no-write   # quick look
//
// Options: --reps N (5; unary repetitions, each case --duration s) --duration S (2) --warmup S (1,
//          per case) --stream-reps N (3) --stream-calls N (50 per side and repetition)
//          --chunks N (20) --gap-ms M (5; between two chunks of the stream) --no-build --no-write
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
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
  runH2load,
  runMain,
  startServer,
  stopAll,
  writeResults,
} from "./harness.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");
const FAKE_REPLY = "Hello from the fake OpenAI server.";
const MODEL = "gpt-4o-mini";
const COMPLETIONS = "/v1/chat/completions";

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    duration: { type: "string", default: "2" },
    warmup: { type: "string", default: "1" },
    "stream-reps": { type: "string", default: "3" },
    "stream-calls": { type: "string", default: "50" },
    chunks: { type: "string", default: "20" },
    "gap-ms": { type: "string", default: "5" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const REPS = Number(opts.reps);
const DURATION_S = Number(opts.duration);
const WARMUP_S = Number(opts.warmup);
const STREAM_REPS = Number(opts["stream-reps"]);
const STREAM_CALLS = Number(opts["stream-calls"]);
const CHUNKS = Number(opts.chunks);
const GAP_MS = Number(opts["gap-ms"]);
if (
  // h2load's -D takes whole seconds.
  ![REPS, STREAM_REPS, STREAM_CALLS, CHUNKS, DURATION_S].every((n) => Number.isInteger(n) && n >= 1) ||
  !(Number.isInteger(WARMUP_S) && WARMUP_S >= 0 && GAP_MS >= 0)
)
  throw new Error(
    "--reps, --stream-reps, --stream-calls, --chunks, --duration >= 1; --warmup >= 0 (whole numbers); --gap-ms >= 0",
  );

/** The same bytes go to the fake and to the door: the route matches `"model": "gpt-4o-mini"`. */
const UNARY_BODY = { model: MODEL, messages: [{ role: "user", content: "hello" }] };
/** bench/fake-openai.mjs answers `pace N G` with N chunks G ms apart, also through the door. */
const STREAM_BODY = {
  model: MODEL,
  messages: [{ role: "user", content: `pace ${CHUNKS} ${GAP_MS}` }],
  stream: true,
  stream_options: { include_usage: true },
};

/** Unary cases: h2load --h1, c connections with one request at a time each (as SDK pools do). */
const CONCURRENCIES = [1, 64];
const SIDES = ["direct", "door"];

let scratch;

// ---------------------------------------------------------------------------------------------
// One HTTP/1.1 call, for the sanity checks and the stream measurement.

/**
 * POSTs `body` over `agent` and reads the answer: status, headers, the body, and the times (ms,
 * performance.now()) from just before the request to the response headers, its first body byte
 * and its end.
 */
function post(port, body, agent) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: COMPLETIONS,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const headersMs = performance.now() - started;
        let firstByteMs;
        const chunks = [];
        res.on("data", (chunk) => {
          firstByteMs ??= performance.now() - started;
          chunks.push(chunk);
        });
        res.once("error", reject);
        res.once("end", () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
            headersMs,
            firstByteMs,
            lastByteMs: performance.now() - started,
          }),
        );
      },
    );
    req.once("error", reject);
    req.end(payload);
  });
}

/** The content deltas of an OpenAI event stream, and whether it ended with `[DONE]`. */
function readEvents(text) {
  const data = text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
  const done = data.at(-1) === "[DONE]";
  const chunks = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d));
  const deltas = chunks
    .map((c) => c.choices?.[0]?.delta?.content)
    .filter((c) => typeof c === "string" && c !== "");
  return { deltas, done, usage: chunks.find((c) => c.usage)?.usage };
}

async function fakeCompletions(port) {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  return (await response.json()).completions;
}

// ---------------------------------------------------------------------------------------------
// Sanity: both sides answer the exact bodies with what they should, before any load.

async function sanity(ports) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sizes = {};
  for (const side of SIDES) {
    const r = await post(ports[side], UNARY_BODY, agent);
    check(r.status === 200, `${side} unary: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    const completion = JSON.parse(r.text);
    check(
      completion.object === "chat.completion" && completion.choices?.[0]?.message?.content === FAKE_REPLY,
      `${side} unary: answered ${r.text.slice(0, 300)}`,
    );
    check(completion.model === MODEL, `${side} unary: model ${completion.model}`);
    if (side === "door")
      check(
        r.headers["x-switchyard-route"] === "door" && r.headers["x-switchyard-target"] === `fake/${MODEL}`,
        `door unary: route ${r.headers["x-switchyard-route"]}, target ${r.headers["x-switchyard-target"]}`,
      );
    sizes[side] = Buffer.byteLength(r.text);

    const s = await post(ports[side], STREAM_BODY, agent);
    check(s.status === 200, `${side} stream: HTTP ${s.status} ${s.text.slice(0, 300)}`);
    check(
      String(s.headers["content-type"]).startsWith("text/event-stream"),
      `${side} stream: ${s.headers["content-type"]}`,
    );
    const events = readEvents(s.text);
    const words = events.deltas.join("").trim().split(/\s+/);
    check(
      events.done && words.length === CHUNKS && events.usage?.completion_tokens === CHUNKS,
      `${side} stream: ${words.length} words of ${CHUNKS}, [DONE] ${events.done}, usage ${JSON.stringify(events.usage)}`,
    );
    // One delta per upstream chunk: the door neither merges nor splits them.
    check(
      events.deltas.length === CHUNKS,
      `${side} stream: ${events.deltas.length} content chunks of ${CHUNKS}`,
    );
  }
  agent.destroy();
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Unary load: h2load --h1.

/** One h2load run of a unary case; throws unless every response was the successful answer. */
async function runUnary(testCase, ctx, seconds, measured) {
  const { servers, bodyFile, sizes } = ctx;
  const port = servers[testCase.side === "door" ? "switchyard" : "fake"].port;
  const pids = (testCase.side === "door" ? [servers.switchyard, servers.fake] : [servers.fake]).map(
    (s) => s.child.pid,
  );
  const logFile = measured ? join(scratch, `${testCase.id}.tsv`) : undefined;
  // h2load appends to its log file.
  if (logFile) rmSync(logFile, { force: true });
  const fakeBefore = await fakeCompletions(servers.fake.port);
  const cpuBefore = pids.map(cpuSeconds);
  const machineBefore = machineCpu();
  const started = performance.now();
  const out = await runH2load(
    [
      "--h1",
      "-D",
      String(seconds),
      "-c",
      String(testCase.c),
      "-m",
      "1",
      "-H",
      "content-type: application/json",
      "-d",
      bodyFile,
      `http://127.0.0.1:${port}${COMPLETIONS}`,
    ],
    logFile,
    (seconds + 30) * 1000,
  );
  const wall = (performance.now() - started) / 1000;
  const machineAfter = machineCpu();
  const cpu = pids.map(cpuSeconds).map((after, i) => after - cpuBefore[i]);
  const h = parseH2load(out);

  const problems = [];
  if (h.failed + h.errored + h.timeout > 0)
    problems.push(`${h.failed + h.errored + h.timeout} failed/errored`);
  if (h.s3xx + h.s4xx + h.s5xx > 0) problems.push(`non-2xx: ${h.s3xx + h.s4xx + h.s5xx}`);
  const expected = sizes[testCase.side];
  const perResponse = h.s2xx > 0 ? h.dataBytes / h.s2xx : 0;
  if (!(Math.abs(perResponse - expected) <= expected * 0.15))
    problems.push(`DATA ${perResponse.toFixed(0)} B/response, the answer is ~${expected} B (errors?)`);
  const reached = (await fakeCompletions(servers.fake.port)) - fakeBefore;
  if (reached < h.s2xx) problems.push(`only ${reached} of ${h.s2xx} answers came from the fake`);
  if (problems.length > 0)
    throw new Error(`${testCase.id}: responses not all successful: ${problems.join("; ")}`);
  if (!measured) return undefined;

  const lat = latencies(logFile);
  const ours = machineAfter.ours - machineBefore.ours + cpu.reduce((a, b) => a + b, 0);
  return {
    rps: h.rps,
    requests: lat.length,
    p50Ms: percentile(lat, 50) / 1000,
    p99Ms: percentile(lat, 99) / 1000,
    switchyardCpuUsPerReq: testCase.side === "door" ? (cpu[0] * 1e6) / lat.length : 0,
    fakeCpuUsPerReq: (cpu.at(-1) * 1e6) / lat.length,
    // Cores busy with work that is not this benchmark (other tenants, other engineers' tests).
    otherCores: Math.max(0, (machineAfter.busy - machineBefore.busy - ours) / wall),
  };
}

// ---------------------------------------------------------------------------------------------
// Streams: a Node client, one call at a time per side, the sides alternating call by call.

/**
 * `calls` streams per side, direct and door alternating (who goes first alternates too), each
 * side over its own keep-alive connection. Returns the sorted times per side.
 */
async function runStreams(ports, calls, agents) {
  const times = Object.fromEntries(SIDES.map((side) => [side, { firstByteMs: [], lastByteMs: [] }]));
  for (let i = 0; i < calls; i++) {
    const order = i % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const side of order) {
      const r = await post(ports[side], STREAM_BODY, agents[side]);
      const events = readEvents(r.text);
      if (r.status !== 200 || !events.done || events.deltas.length !== CHUNKS)
        throw new Error(
          `${side} stream: HTTP ${r.status}, ${events.deltas.length} chunks, [DONE] ${events.done}`,
        );
      times[side].firstByteMs.push(r.firstByteMs);
      times[side].lastByteMs.push(r.lastByteMs);
    }
  }
  for (const side of SIDES) for (const list of Object.values(times[side])) list.sort((a, b) => a - b);
  return times;
}

// ---------------------------------------------------------------------------------------------
// Report.

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const signed = (x, fmt) => (Number.isFinite(x) && x > 0 ? `+${fmt(x)}` : fmt(x));
const range = (values, fmt) => `${fmt(Math.min(...values))} … ${fmt(Math.max(...values))}`;

/** A repetition during which other processes kept this many cores busy is flagged. */
const NOISY_CORES = 0.25;

/** Per repetition: door − direct and door ÷ direct; then medians over repetitions, with ranges. */
function summarize(unaryRuns, streamRuns) {
  const pairs = (c, fn) => unaryRuns.map((rep) => fn(rep[`door-${c}`], rep[`direct-${c}`]));
  const stat = (values) => ({ median: median(values), values });
  const unary = Object.fromEntries(
    CONCURRENCIES.map((c) => [
      c,
      {
        direct: {
          p50Ms: stat(unaryRuns.map((rep) => rep[`direct-${c}`].p50Ms)),
          p99Ms: stat(unaryRuns.map((rep) => rep[`direct-${c}`].p99Ms)),
          rps: stat(unaryRuns.map((rep) => rep[`direct-${c}`].rps)),
          fakeCpuUsPerReq: stat(unaryRuns.map((rep) => rep[`direct-${c}`].fakeCpuUsPerReq)),
          otherCores: stat(unaryRuns.map((rep) => rep[`direct-${c}`].otherCores)),
        },
        door: {
          p50Ms: stat(unaryRuns.map((rep) => rep[`door-${c}`].p50Ms)),
          p99Ms: stat(unaryRuns.map((rep) => rep[`door-${c}`].p99Ms)),
          rps: stat(unaryRuns.map((rep) => rep[`door-${c}`].rps)),
          switchyardCpuUsPerReq: stat(unaryRuns.map((rep) => rep[`door-${c}`].switchyardCpuUsPerReq)),
          fakeCpuUsPerReq: stat(unaryRuns.map((rep) => rep[`door-${c}`].fakeCpuUsPerReq)),
          otherCores: stat(unaryRuns.map((rep) => rep[`door-${c}`].otherCores)),
        },
        addedP50Ms: stat(pairs(c, (door, direct) => door.p50Ms - direct.p50Ms)),
        addedP99Ms: stat(pairs(c, (door, direct) => door.p99Ms - direct.p99Ms)),
        ratioP50: stat(pairs(c, (door, direct) => door.p50Ms / direct.p50Ms)),
        ratioP99: stat(pairs(c, (door, direct) => door.p99Ms / direct.p99Ms)),
        ratioRps: stat(pairs(c, (door, direct) => door.rps / direct.rps)),
      },
    ]),
  );
  const streamPick = (side, key, p) => streamRuns.map((rep) => percentile(rep[side][key], p));
  const streamPair = (key, p) =>
    streamRuns.map((rep) => percentile(rep.door[key], p) - percentile(rep.direct[key], p));
  const stream = Object.fromEntries(
    ["firstByteMs", "lastByteMs"].map((key) => [
      key,
      Object.fromEntries(
        [50, 90].map((p) => [
          `p${p}`,
          {
            direct: stat(streamPick("direct", key, p)),
            door: stat(streamPick("door", key, p)),
            added: stat(streamPair(key, p)),
          },
        ]),
      ),
    ]),
  );
  return { unary, stream };
}

function markdown(meta, { unary, stream }) {
  const lines = [];
  lines.push(`# Switchyard OpenAI door benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · unary: h2load --h1 (HTTP/1.1 keep-alive, one request at a time per ` +
      `connection), ${meta.reps} repetitions × ${meta.durationS} s per case after ${meta.warmupS} s of warm-up, ` +
      "direct and door back to back within a repetition (which goes first alternates) · streams: a Node " +
      `client, ${meta.streamReps} repetitions × ${meta.streamCalls} calls per side, direct and door alternating ` +
      `call by call, each over its own keep-alive connection, ${meta.chunks} chunks ${meta.gapMs} ms apart · ` +
      "medians over repetitions of per-repetition numbers, the range in brackets.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; Node ${meta.node}; ${meta.h2load}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; Switchyard ` +
      "`dist/src/cli/main.js serve --config bench/openai-door-policy.yaml`, LOG_LEVEL=warn, against one " +
      "`bench/fake-openai.mjs`; load generator, Switchyard and the fake on the same machine. Duration " +
      `${f0(meta.durationTotalS)} s.`,
    "",
    "## Unary `POST /v1/chat/completions`",
    "",
    "Direct: the body to the fake, which answers JSON. Door: the same body to Switchyard, which calls " +
      "the fake with `stream: true` (as it always does) and assembles the JSON answer.",
    "",
    "| connections | direct p50 ms | door p50 ms | added p50 ms | p50 ratio | direct p99 ms | door p99 ms | added p99 ms | p99 ratio | direct RPS | door RPS | RPS ratio door ÷ direct | Switchyard CPU µs/req | other load (cores) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const c of CONCURRENCIES) {
    const u = unary[c];
    lines.push(
      `| ${c} | ${f3(u.direct.p50Ms.median)} | ${f3(u.door.p50Ms.median)} | ` +
        `**${signed(u.addedP50Ms.median, f3)}** (${range(u.addedP50Ms.values, f3)}) | ${f2(u.ratioP50.median)} | ` +
        `${f3(u.direct.p99Ms.median)} | ${f3(u.door.p99Ms.median)} | ` +
        `**${signed(u.addedP99Ms.median, f3)}** (${range(u.addedP99Ms.values, f3)}) | ${f2(u.ratioP99.median)} | ` +
        `${f0(u.direct.rps.median)} | ${f0(u.door.rps.median)} | ` +
        `**${f2(u.ratioRps.median)}** (${range(u.ratioRps.values, f2)}) | ` +
        `${f0(u.door.switchyardCpuUsPerReq.median)} | ` +
        `${f2(u.direct.otherCores.median)} / ${f2(u.door.otherCores.median)} |`,
    );
  }
  lines.push(
    "",
    `## Stream of ${meta.chunks} chunks, ${meta.gapMs} ms apart`,
    "",
    "Time from sending the request to the first byte of the answer's body (the first chunk: the fake " +
      "writes its first token at once, the door writes its headers and first chunk when that token " +
      "arrives) and to its last byte (after `[DONE]`), as a Node client sees it:",
    "",
    "| | direct ms | door ms | added ms |",
    "| --- | ---: | ---: | ---: |",
  );
  for (const [key, what] of [
    ["firstByteMs", "first byte"],
    ["lastByteMs", "last byte"],
  ])
    for (const p of ["p50", "p90"]) {
      const s = stream[key][p];
      lines.push(
        `| ${what}, ${p} | ${f3(s.direct.median)} | ${f3(s.door.median)} | ` +
          `**${signed(s.added.median, f3)}** (${range(s.added.values, f3)}) |`,
      );
    }
  const noisy = CONCURRENCIES.some((c) =>
    [...unary[c].direct.otherCores.values, ...unary[c].door.otherCores.values].some((x) => x > NOISY_CORES),
  );
  lines.push(
    "",
    "Added = door − direct within a repetition (its cases ran back to back against the same processes), " +
      "then the median over repetitions; ratios likewise. *Switchyard CPU* is its process's user+system " +
      "time per request. *Other load* (direct / door) is the cores kept busy by processes outside this " +
      `benchmark, median over repetitions${noisy ? `; **some repetitions had more than ${NOISY_CORES}**, read their ranges with care` : ""}. ` +
      "See bench/README.md.",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench:openai-door", { noBuild: opts["no-build"] });
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-openai-door-"));
  const bodyFile = join(scratch, "unary.json");
  writeFileSync(bodyFile, JSON.stringify(UNARY_BODY));

  log("starting the fake and Switchyard…");
  const fake = await startServer("fake-openai", [join(BENCH, "fake-openai.mjs")]);
  const switchyard = await startServer(
    "switchyard",
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--config",
      join(BENCH, "openai-door-policy.yaml"),
      "--port",
      "0",
      "--operator-port",
      "0",
      "--log-format",
      "json",
    ],
    { LOG_LEVEL: "warn", BENCH_FAKE_OPENAI_URL: `http://127.0.0.1:${fake.port}/v1` },
  );
  const servers = { fake, switchyard };
  const ports = { direct: fake.port, door: switchyard.port };
  const sizes = await sanity(ports);
  log(
    `sanity: unary answers ${sizes.direct} B direct, ${sizes.door} B through the door; ` +
      `streams of ${CHUNKS} chunks end with [DONE] both ways`,
  );
  const ctx = { servers, bodyFile, sizes };
  const cases = CONCURRENCIES.flatMap((c) => SIDES.map((side) => ({ id: `${side}-${c}`, side, c })));

  if (WARMUP_S > 0) {
    log(`warm-up: ${cases.length} cases × ${WARMUP_S} s`);
    for (const testCase of cases) await runUnary(testCase, ctx, WARMUP_S, false);
  }
  const unaryRuns = [];
  for (let rep = 0; rep < REPS; rep++) {
    const result = {};
    for (const c of CONCURRENCIES) {
      // Direct and door back to back, so a noisy stretch hits both; who goes first alternates.
      const order = rep % 2 === 0 ? SIDES : [...SIDES].reverse();
      for (const side of order)
        result[`${side}-${c}`] = await runUnary({ id: `${side}-${c}`, side, c }, ctx, DURATION_S, true);
      const d = result[`direct-${c}`];
      const o = result[`door-${c}`];
      log(
        `rep ${rep + 1}/${REPS} c=${String(c).padStart(2)}  p50 ${f3(d.p50Ms)} → ${f3(o.p50Ms)} ms  ` +
          `p99 ${f3(d.p99Ms)} → ${f3(o.p99Ms)} ms  RPS ${f0(d.rps)} → ${f0(o.rps)}  ` +
          `other ${f2(d.otherCores)}/${f2(o.otherCores)}`,
      );
    }
    unaryRuns.push(result);
  }

  const agents = Object.fromEntries(
    SIDES.map((side) => [side, new Agent({ keepAlive: true, maxSockets: 1 })]),
  );
  log(`streams: warm-up ${Math.min(10, STREAM_CALLS)} calls per side`);
  await runStreams(ports, Math.min(10, STREAM_CALLS), agents);
  const streamRuns = [];
  for (let rep = 0; rep < STREAM_REPS; rep++) {
    const times = await runStreams(ports, STREAM_CALLS, agents);
    log(
      `stream rep ${rep + 1}/${STREAM_REPS}  first byte p50 ${f3(percentile(times.direct.firstByteMs, 50))} → ` +
        `${f3(percentile(times.door.firstByteMs, 50))} ms  last byte p50 ${f3(percentile(times.direct.lastByteMs, 50))} → ` +
        `${f3(percentile(times.door.lastByteMs, 50))} ms`,
    );
    streamRuns.push(times);
  }
  for (const agent of Object.values(agents)) agent.destroy();

  for (const entry of children)
    if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
  await stopAll();

  const now = new Date();
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:openai-door",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    reps: REPS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    streamReps: STREAM_REPS,
    streamCalls: STREAM_CALLS,
    chunks: CHUNKS,
    gapMs: GAP_MS,
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
  const summary = summarize(unaryRuns, streamRuns);
  const md = markdown(meta, summary);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"]) {
    writeResults(`${meta.date}-openai-door`, md, { meta, ...summary, unaryRuns, streamRuns });
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
