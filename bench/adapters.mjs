// Provider adapter benchmark: what each adapter's own code costs per streamed chunk and per unary
// call, against a bare undici request reading the same bytes, all in one run. See bench/README.md
// ("Provider adapters").
//
//   npm run bench:adapters                      # ~1 min, writes bench/results/<date>-adapters.{md,json}
//   npm run bench:adapters -- --reps 3 --no-write        # quick look, records nothing
//   npm run bench:adapters -- --kinds bedrock --cpu-prof --no-write   # where one adapter's time goes
//
// Options: --reps N (7) --warmup-reps N (2; whole repetitions, not recorded) --chunks N (200; the
//          long stream) --unary-chunks N (10; the short answer) --stream-calls N (30 long streams
//          per side and repetition) --unary-calls N (200) --decode-streams N (100; in-process)
//          --kinds a,b (all) --no-build --no-write
//          --cpu-prof (after the repetitions, profiles each adapter on its long streams and prints
//          the hot spots; the profiles are kept in $TMPDIR/switchyard-bench-profiles/)
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { request } from "undici";
import { sourceRevision } from "./build-check.mjs";
import {
  check,
  children,
  cpuSeconds,
  log,
  machineCpu,
  median,
  preflight,
  runMain,
  startServer,
  stopAll,
  summarizeProfile,
  writeResults,
} from "./harness.mjs";
import { answerText, KINDS, wireEvents } from "./wire-bodies.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "7" },
    "warmup-reps": { type: "string", default: "2" },
    chunks: { type: "string", default: "200" },
    "unary-chunks": { type: "string", default: "10" },
    "stream-calls": { type: "string", default: "30" },
    "unary-calls": { type: "string", default: "200" },
    "decode-streams": { type: "string", default: "100" },
    kinds: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const REPS = Number(opts.reps);
const WARMUP_REPS = Number(opts["warmup-reps"]);
const CHUNKS = Number(opts.chunks);
const UNARY_CHUNKS = Number(opts["unary-chunks"]);
const STREAM_CALLS = Number(opts["stream-calls"]);
const UNARY_CALLS = Number(opts["unary-calls"]);
const DECODE_STREAMS = Number(opts["decode-streams"]);
const SELECTED = opts.kinds === undefined ? KINDS : opts.kinds.split(",");
if (
  ![REPS, CHUNKS, UNARY_CHUNKS, STREAM_CALLS, UNARY_CALLS, DECODE_STREAMS].every(
    (n) => Number.isInteger(n) && n >= 1,
  ) ||
  !(Number.isInteger(WARMUP_REPS) && WARMUP_REPS >= 0) ||
  !(CHUNKS > UNARY_CHUNKS)
)
  throw new Error(
    "--reps, --chunks, --unary-chunks, --stream-calls, --unary-calls, --decode-streams >= 1, " +
      "--warmup-reps >= 0 (whole numbers), --chunks > --unary-chunks",
  );
for (const kind of SELECTED) if (!KINDS.includes(kind)) throw new Error(`--kinds: unknown kind ${kind}`);

/** A module of the build, by its path under dist/src/providers/. */
const built = (path) => import(pathToFileURL(join(ROOT, "dist/src/providers", path)).href);

/** AWS's documented example credentials (as test/fakes/fake-bedrock-server.ts; never valid). */
const AWS_EXAMPLE = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

/**
 * Per kind: the model a call names, how its adapter is built on a base URL (`http://…/<kind>/<n>`,
 * which selects the answer bench/wire-server.mjs sends), and its decoder (the function the adapter
 * feeds the body to).
 */
const SPECS = {
  "openai-compatible": {
    model: "gpt-4o-mini",
    decoder: ["openai/from-openai-response.js", "decodeOpenAiStream"],
    async create(base) {
      const { createOpenAiAdapter } = await built("openai/adapter.js");
      return createOpenAiAdapter({ ...http(`${base}/v1`), maxTokensField: "max_tokens" });
    },
  },
  anthropic: {
    model: "claude-sonnet-4-5",
    decoder: ["anthropic/from-anthropic-response.js", "decodeAnthropicStream"],
    async create(base) {
      const { createAnthropicAdapter } = await built("anthropic/adapter.js");
      return createAnthropicAdapter(http(base));
    },
  },
  gemini: {
    model: "gemini-2.5-flash",
    decoder: ["gemini/from-gemini-response.js", "decodeGeminiStream"],
    async create(base) {
      const { createGeminiAdapter } = await built("gemini/adapter.js");
      return createGeminiAdapter({ ...http(`${base}/v1beta`), schemaFormat: "openapi" });
    },
  },
  bedrock: {
    model: "anthropic.claude-3-5-haiku-20241022-v1:0",
    decoder: ["bedrock/from-bedrock-response.js", "decodeBedrockStream"],
    async create(base) {
      const { createBedrockAdapter } = await built("bedrock/adapter.js");
      const { apiKey: _, ...settings } = http(base);
      return createBedrockAdapter({ ...settings, region: "us-east-1", credentials: AWS_EXAMPLE });
    },
  },
  ollama: {
    model: "llama3.2",
    decoder: ["ollama/from-ollama-response.js", "decodeOllamaStream"],
    async create(base) {
      const { createOllamaAdapter } = await built("ollama/adapter.js");
      return createOllamaAdapter(http(base));
    },
  },
};

/** The shared HTTP settings, as a policy with only `base_url` and `api_key` parses to. */
function http(baseUrl) {
  return {
    name: "bench",
    baseUrl,
    apiKey: "bench-key",
    headers: {},
    maxConnections: 64,
    connectTimeoutMs: 2000,
  };
}

const MESSAGES = [{ role: "user", content: "hello" }];
/** What the baseline posts: the OpenAI adapter's request for the same call (the others' are as small). */
const BARE_BODY = JSON.stringify({
  model: "gpt-4o-mini",
  messages: MESSAGES,
  stream: true,
  stream_options: { include_usage: true },
});

// ---------------------------------------------------------------------------------------------
// One call of each side.

/** A call as the pipeline makes it: its own signal (a long-lived one would collect AbortSignal.any's dependants). */
function providerCall(model) {
  return { model, messages: MESSAGES, tools: [], stop: [], signal: new AbortController().signal };
}

/** One adapter call, its parts counted (text deltas and ends); throws unless it is the whole answer. */
async function adapterCall(adapter, model, chunks) {
  let deltas = 0;
  let ends = 0;
  for await (const part of adapter.stream(providerCall(model))) {
    if (part.type === "text-delta") deltas += 1;
    else if (part.type === "response-end") ends += 1;
  }
  if (deltas !== chunks || ends !== 1)
    throw new Error(`adapter: ${deltas} text deltas of ${chunks}, ${ends} ends`);
}

/** The baseline: the same URL through a bare undici request on the same kind of pool, bytes counted. */
async function bareCall(pool, url, bytes) {
  const { statusCode, body } = await request(url, {
    dispatcher: pool,
    method: "POST",
    headers: { "content-type": "application/json", accept: "*/*" },
    body: BARE_BODY,
  });
  let read = 0;
  for await (const piece of body) read += piece.length;
  if (statusCode !== 200 || read !== bytes)
    throw new Error(`bare: HTTP ${statusCode}, ${read} B of ${bytes}`);
}

/** The events of a body, one piece each: as a stream paced by its model arrives. */
async function* pieces(events) {
  for (const event of events) yield event;
}

async function decodeCall(decode, events, chunks) {
  let deltas = 0;
  let ends = 0;
  for await (const part of decode(pieces(events))) {
    if (part.type === "text-delta") deltas += 1;
    else if (part.type === "response-end") ends += 1;
  }
  if (deltas !== chunks || ends !== 1)
    throw new Error(`decoder: ${deltas} text deltas of ${chunks}, ${ends} ends`);
}

async function bareDecodeCall(events, bytes) {
  let read = 0;
  for await (const piece of pieces(events)) read += piece.length;
  if (read !== bytes) throw new Error(`bare pieces: ${read} B of ${bytes}`);
}

/** Runs `call` `times` times, one after the other: wall and CPU (this process, user + system) in µs. */
async function timed(call, times) {
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < times; i++) await call();
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs, cpuUs: cpu.user + cpu.system };
}

// ---------------------------------------------------------------------------------------------
// Sanity: every adapter and decoder makes the whole answer of the prepared bytes.

async function sanity(kind, target) {
  for (const [chunks, adapter] of [
    [CHUNKS, target.longAdapter],
    [UNARY_CHUNKS, target.shortAdapter],
  ]) {
    let text = "";
    let end;
    let usage;
    for await (const part of adapter.stream(providerCall(SPECS[kind].model))) {
      if (part.type === "text-delta") text += part.delta;
      else if (part.type === "usage") usage = part.usage;
      else if (part.type === "response-end") {
        end = part;
        usage = part.usage ?? usage;
      }
    }
    check(
      text === answerText(chunks),
      `${kind} adapter, ${chunks} chunks: answered ${JSON.stringify(text.slice(0, 80))}…`,
    );
    check(end?.finishReason === "stop", `${kind} adapter: finish ${end?.finishReason}`);
    check(usage?.outputTokens === chunks, `${kind} adapter: usage ${JSON.stringify(usage)}`);
  }
  let text = "";
  for await (const part of target.decode(pieces(target.longEvents)))
    if (part.type === "text-delta") text += part.delta;
  check(text === answerText(CHUNKS), `${kind} decoder: answered ${JSON.stringify(text.slice(0, 80))}…`);
}

// ---------------------------------------------------------------------------------------------
// One repetition of one kind: each pair of sides back to back, who goes first alternating.

async function runKind(kind, target, rep) {
  const pair = async (bare, adapter, times) => {
    const order = rep % 2 === 0 ? ["bare", "adapter"] : ["adapter", "bare"];
    const out = {};
    for (const side of order) out[side] = await timed(side === "bare" ? bare : adapter, times);
    return out;
  };
  const model = SPECS[kind].model;
  return {
    stream: await pair(
      () => bareCall(target.pool, `${target.longBase}/bare`, target.longBytes),
      () => adapterCall(target.longAdapter, model, CHUNKS),
      STREAM_CALLS,
    ),
    unary: await pair(
      () => bareCall(target.pool, `${target.shortBase}/bare`, target.shortBytes),
      () => adapterCall(target.shortAdapter, model, UNARY_CHUNKS),
      UNARY_CALLS,
    ),
    decode: await pair(
      () => bareDecodeCall(target.longEvents, target.longBytes),
      () => decodeCall(target.decode, target.longEvents, CHUNKS),
      DECODE_STREAMS,
    ),
  };
}

/** Per repetition, in µs: per chunk (HTTP and in-process), per unary call, and the marginal chunk. */
function derive(run) {
  const perChunk = (m, calls) => m / (calls * CHUNKS);
  const s = run.stream;
  const u = run.unary;
  const d = run.decode;
  const streamCpu = {
    bare: perChunk(s.bare.cpuUs, STREAM_CALLS),
    adapter: perChunk(s.adapter.cpuUs, STREAM_CALLS),
  };
  const streamWall = {
    bare: perChunk(s.bare.wallUs, STREAM_CALLS),
    adapter: perChunk(s.adapter.wallUs, STREAM_CALLS),
  };
  const unaryWall = { bare: u.bare.wallUs / UNARY_CALLS, adapter: u.adapter.wallUs / UNARY_CALLS };
  const unaryCpu = { bare: u.bare.cpuUs / UNARY_CALLS, adapter: u.adapter.cpuUs / UNARY_CALLS };
  const decodeCpu = {
    bare: perChunk(d.bare.cpuUs, DECODE_STREAMS),
    adapter: perChunk(d.adapter.cpuUs, DECODE_STREAMS),
  };
  // A long call less a short one, per extra chunk: the fixed per-call costs cancel out.
  const extra = CHUNKS - UNARY_CHUNKS;
  const marginal = (side) => (s[side].cpuUs / STREAM_CALLS - u[side].cpuUs / UNARY_CALLS) / extra;
  return {
    streamCpu: {
      ...streamCpu,
      own: streamCpu.adapter - streamCpu.bare,
      ratio: streamCpu.adapter / streamCpu.bare,
    },
    streamWall: {
      ...streamWall,
      own: streamWall.adapter - streamWall.bare,
      ratio: streamWall.adapter / streamWall.bare,
    },
    marginalCpu: {
      bare: marginal("bare"),
      adapter: marginal("adapter"),
      own: marginal("adapter") - marginal("bare"),
    },
    unaryWall: {
      ...unaryWall,
      own: unaryWall.adapter - unaryWall.bare,
      ratio: unaryWall.adapter / unaryWall.bare,
    },
    unaryCpu: { ...unaryCpu, own: unaryCpu.adapter - unaryCpu.bare, ratio: unaryCpu.adapter / unaryCpu.bare },
    decodeCpu: { ...decodeCpu, own: decodeCpu.adapter - decodeCpu.bare },
  };
}

/** Medians over repetitions of every derived number, with the values. */
function summarize(derived) {
  const out = {};
  for (const [group, numbers] of Object.entries(derived[0])) {
    out[group] = {};
    for (const key of Object.keys(numbers)) {
      const values = derived.map((d) => d[group][key]);
      out[group][key] = { median: median(values), values };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report.

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const range = (values, fmt) => `${fmt(Math.min(...values))} … ${fmt(Math.max(...values))}`;
const NOISY_CORES = 0.25;

function markdown(meta, summaries, sizes) {
  const lines = [];
  lines.push(`# Switchyard provider adapter benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · one Node process calls each adapter (built \`dist/\`) and a bare ` +
      "undici request against `bench/wire-server.mjs` (its own process, 127.0.0.1, keep-alive), which " +
      "answers every call at once with the prepared bytes of bench/wire-bodies.mjs; calls one at a time; " +
      `${meta.reps} repetitions after ${meta.warmupReps} unrecorded, each kind's sides back to back ` +
      "(who goes first alternates); medians over repetitions of per-repetition numbers, the range of the " +
      "adapter's own cost in brackets.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; other load during the repetitions ${f2(meta.otherCores.median)} ` +
      `cores (median; ${range(meta.otherCores.values, f2)}); Node ${meta.node}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}. Duration ${f0(meta.durationTotalS)} s.`,
    "",
    `Per kind, the answer is ${meta.chunks} text chunks (the long stream, ${meta.streamCalls} calls per side ` +
      `and repetition) or ${meta.unaryChunks} (the unary call, ${meta.unaryCalls} calls), plus that wire's ` +
      "start, finish, usage and end events. *Own* is adapter − bare within a repetition.",
    "",
    `## Per streamed chunk, over HTTP (${meta.chunks}-chunk stream, served at once)`,
    "",
    "CPU of this process per text chunk (user + system; the server's is not in it), the whole call " +
      "divided by its chunks; *marginal* is (a long call − a short call) ÷ the chunks between them, " +
      "so request, response headers and the first/last events drop out; *wall* is elapsed time.",
    "",
    "| kind | body bytes / chunk | bare CPU µs/chunk | adapter CPU µs/chunk | **own CPU µs/chunk** | ratio | own marginal CPU µs/chunk | bare wall µs/chunk | adapter wall µs/chunk | own wall µs/chunk |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [kind, s] of Object.entries(summaries))
    lines.push(
      `| ${kind} | ${f0(sizes[kind].long / meta.chunks)} | ${f2(s.streamCpu.bare.median)} | ` +
        `${f2(s.streamCpu.adapter.median)} | **${f2(s.streamCpu.own.median)}** (${range(s.streamCpu.own.values, f2)}) | ` +
        `${f1(s.streamCpu.ratio.median)} | ${f2(s.marginalCpu.own.median)} (${range(s.marginalCpu.own.values, f2)}) | ` +
        `${f2(s.streamWall.bare.median)} | ${f2(s.streamWall.adapter.median)} | ${f2(s.streamWall.own.median)} |`,
    );
  lines.push(
    "",
    `## Per streamed chunk, in process (the decoder alone, ${meta.chunks}-chunk stream, one piece per event)`,
    "",
    "The exported `decode<Kind>Stream` of the adapter's `from-<kind>-response.ts` fed the same bytes as " +
      "an async iterable, one piece per event (as a stream paced by its model arrives); bare: the same " +
      "pieces iterated and counted. No HTTP, no request.",
    "",
    "| kind | bare CPU µs/chunk | decoder CPU µs/chunk | **own CPU µs/chunk** |",
    "| --- | ---: | ---: | ---: |",
  );
  for (const [kind, s] of Object.entries(summaries))
    lines.push(
      `| ${kind} | ${f2(s.decodeCpu.bare.median)} | ${f2(s.decodeCpu.adapter.median)} | ` +
        `**${f2(s.decodeCpu.own.median)}** (${range(s.decodeCpu.own.values, f2)}) |`,
    );
  lines.push(
    "",
    `## Per unary call (${meta.unaryChunks}-chunk answer, one call at a time)`,
    "",
    "The whole adapter call (build the request, sign it for Bedrock, POST, read and decode the answer " +
      "to its end) against the bare request of the same bytes: wall time per call (what one call waits, " +
      "the server's and the loopback's time included on both sides) and this process's CPU per call.",
    "",
    "| kind | body bytes | bare wall µs/call | adapter wall µs/call | **own wall µs/call** | ratio | bare CPU µs/call | adapter CPU µs/call | **own CPU µs/call** | ratio |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [kind, s] of Object.entries(summaries))
    lines.push(
      `| ${kind} | ${f0(sizes[kind].short)} | ${f0(s.unaryWall.bare.median)} | ${f0(s.unaryWall.adapter.median)} | ` +
        `**${f0(s.unaryWall.own.median)}** (${range(s.unaryWall.own.values, f0)}) | ${f2(s.unaryWall.ratio.median)} | ` +
        `${f0(s.unaryCpu.bare.median)} | ${f0(s.unaryCpu.adapter.median)} | ` +
        `**${f0(s.unaryCpu.own.median)}** (${range(s.unaryCpu.own.values, f0)}) | ${f2(s.unaryCpu.ratio.median)} |`,
    );
  lines.push(
    "",
    `Other load is the cores kept busy by processes outside this benchmark (steal included)` +
      `${meta.otherCores.values.some((x) => x > NOISY_CORES) ? `; **some repetitions had more than ${NOISY_CORES}**, read the ranges with care` : ""}. ` +
      "See bench/README.md.",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

/**
 * Profiles each adapter (node:inspector) on long streams, then on unary calls; keeps the profiles
 * and prints their hot spots.
 */
async function profile(targets, timestamp) {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  const keptDir = join(tmpdir(), "switchyard-bench-profiles");
  mkdirSync(keptDir, { recursive: true });
  for (const [kind, target] of Object.entries(targets)) {
    for (const [what, calls, adapter, chunks] of [
      ["stream", STREAM_CALLS * 5, target.longAdapter, CHUNKS],
      ["unary", UNARY_CALLS * 2, target.shortAdapter, UNARY_CHUNKS],
    ]) {
      await session.post("Profiler.start");
      for (let i = 0; i < calls; i++) await adapterCall(adapter, SPECS[kind].model, chunks);
      const { profile: result } = await session.post("Profiler.stop");
      const kept = join(keptDir, `${timestamp.replace(/[:.]/g, "-")}-adapter-${kind}-${what}.cpuprofile`);
      writeFileSync(kept, JSON.stringify(result));
      process.stdout.write(`\n${kind} adapter, ${calls} calls of ${chunks} chunks (${kept}):\n`);
      process.stdout.write(`${summarizeProfile(kept, 20)}\n`);
    }
  }
  session.disconnect();
}

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const pre = preflight("bench:adapters", { noBuild: opts["no-build"], h2load: false });
  const { createKeepAlivePool } = await built("http/keep-alive-pool.js");

  log("starting the wire server…");
  const server = await startServer("wire-server", [join(BENCH, "wire-server.mjs")]);
  const origin = `http://127.0.0.1:${server.port}`;
  const targets = {};
  const sizes = {};
  for (const kind of SELECTED) {
    const spec = SPECS[kind];
    const longBase = `${origin}/${kind}/${CHUNKS}`;
    const shortBase = `${origin}/${kind}/${UNARY_CHUNKS}`;
    const longEvents = wireEvents(kind, CHUNKS);
    const shortEvents = wireEvents(kind, UNARY_CHUNKS);
    const [module, name] = spec.decoder;
    targets[kind] = {
      longBase,
      shortBase,
      longAdapter: await spec.create(longBase),
      shortAdapter: await spec.create(shortBase),
      // The baseline's pool is the adapters' own (http/keep-alive-pool.ts), on the same settings.
      pool: createKeepAlivePool(http(origin)),
      decode: (await built(module))[name],
      longEvents,
      longBytes: longEvents.reduce((n, e) => n + e.length, 0),
      shortBytes: shortEvents.reduce((n, e) => n + e.length, 0),
    };
    sizes[kind] = { long: targets[kind].longBytes, short: targets[kind].shortBytes };
    await sanity(kind, targets[kind]);
  }
  log(`sanity: every adapter and decoder reads its ${CHUNKS}- and ${UNARY_CHUNKS}-chunk answers whole`);

  const runs = [];
  const otherCores = [];
  for (let rep = -WARMUP_REPS; rep < REPS; rep++) {
    const machineBefore = machineCpu();
    const serverBefore = cpuSeconds(server.child.pid);
    const t0 = performance.now();
    const result = {};
    // The kinds take turns going first.
    const offset = ((rep % SELECTED.length) + SELECTED.length) % SELECTED.length;
    const order = [...SELECTED.slice(offset), ...SELECTED.slice(0, offset)];
    for (const kind of order) result[kind] = await runKind(kind, targets[kind], rep);
    const wall = (performance.now() - t0) / 1000;
    const machineAfter = machineCpu();
    const ours = machineAfter.ours - machineBefore.ours + cpuSeconds(server.child.pid) - serverBefore;
    const other = Math.max(0, (machineAfter.busy - machineBefore.busy - ours) / wall);
    if (rep < 0) {
      log(`warm-up ${rep + WARMUP_REPS + 1}/${WARMUP_REPS} (${f1(wall)} s)`);
      continue;
    }
    runs.push(result);
    otherCores.push(other);
    log(
      `rep ${rep + 1}/${REPS} (${f1(wall)} s, other load ${f2(other)})  own CPU µs/chunk: ` +
        SELECTED.map((kind) => `${kind} ${f2(derive(result[kind]).streamCpu.own)}`).join(", "),
    );
  }

  for (const entry of children)
    if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);

  const now = new Date();
  if (opts["cpu-prof"]) await profile(targets, now.toISOString());
  for (const target of Object.values(targets)) {
    await Promise.all([target.longAdapter.close(), target.shortAdapter.close(), target.pool.close()]);
  }
  await stopAll();

  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:adapters",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    reps: REPS,
    warmupReps: WARMUP_REPS,
    chunks: CHUNKS,
    unaryChunks: UNARY_CHUNKS,
    streamCalls: STREAM_CALLS,
    unaryCalls: UNARY_CALLS,
    decodeStreams: DECODE_STREAMS,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    otherCores: { median: median(otherCores), values: otherCores },
    node: process.versions.node,
    git: process.env.BENCH_GIT ?? sourceRevision(ROOT),
    distStale: pre.distStale,
    durationTotalS: (performance.now() - startedAt) / 1000,
  };
  const summaries = Object.fromEntries(
    SELECTED.map((kind) => [kind, summarize(runs.map((run) => derive(run[kind])))]),
  );
  const md = markdown(meta, summaries, sizes);
  process.stdout.write(`\n${md}\n`);

  // A subset of the kinds is a quick look, not a record.
  if (!opts["no-write"] && opts.kinds === undefined) {
    writeResults(`${meta.date}-adapters`, md, { meta, sizes, summaries, runs });
  }
}

runMain(main);
