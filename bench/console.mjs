// Console benchmark: how fast the operator console (served by the operator listener under
// /console/) loads in headless chromium on loopback, per page, cold (a fresh browser context: empty
// cache) and warm (a reload in the same context), against a baseline measured in the same run: a
// navigation to /metrics on the same listener (a same-server request that is not the console).
// See bench/README.md ("The console").
//
//   npm run bench:console                            # ~1 min, writes bench/results/<date>-console.{md,json}
//   npm run bench:console -- --reps 5 --no-write     # quick look, records nothing
//
// Options: --reps N (10 per page and mode, after one unrecorded round) --no-build --no-write
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sourceRevision } from "./build-check.mjs";
import {
  check,
  children,
  log,
  median,
  percentile,
  preflight,
  rawGrpcCall,
  runMain,
  startServer,
  stopAll,
  writeResults,
} from "./harness.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = join(ROOT, "bench");

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "10" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const REPS = Number(opts.reps);
if (!(Number.isInteger(REPS) && REPS >= 1)) throw new Error("--reps: a whole number >= 1");

/** The recorded calls the pages show: plain calls to the mock and calls that fail over to it. */
const MOCK_CALLS = 8;
const FAILOVER_CALLS = 3;
const CALLS = MOCK_CALLS + FAILOVER_CALLS;
/** What bench/console-policy.yaml names. */
const TARGETS = ["bench_mock/bench-model", "down/gpt-4o-mini"];
const ROUTES = ["bench_mock", "failover", "unmatched"];
const VIEWPORT = { width: 1280, height: 800 };
/** Per visit: the navigation, the content and the load event. */
const VISIT_TIMEOUT_MS = 15_000;

let scratch;

// ---------------------------------------------------------------------------------------------
// Preconditions.

function chromiumBinary() {
  for (const candidate of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"])
    if (candidate && existsSync(candidate)) return candidate;
  const which = spawnSync("which", ["chromium"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  log("chromium not found. Install it: apt-get update && apt-get install -y chromium");
  process.exit(2);
}

/**
 * The console bundle (dist/console, written by console/build.mjs) is older than a console/
 * source: build-check.mjs looks at src/ and gen/ only. Returns the stale file count.
 */
function consoleStale() {
  const index = join(ROOT, "dist/console/index.html");
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = readdirSync(join(ROOT, "console"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  return sources.filter((file) => statSync(file).mtimeMs > built).length;
}

function ensureConsoleBuilt() {
  const stale = consoleStale();
  if (stale === 0) return 0;
  if (opts["no-build"]) {
    log(
      `warning: dist/console is older than ${stale} console/ file(s); --no-build given, measuring it as it is`,
    );
    return stale;
  }
  log("dist/console is stale: npm run build");
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) {
    log("build failed; fix it, or measure the existing dist/ with --no-build");
    process.exit(1);
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The server and its recorded calls.

async function buildFrames(dir) {
  const { create, toBinary, fromBinary } = await import("@bufbuild/protobuf");
  const router = await import("../dist/gen/switchyard/v1/router_pb.js");
  const { Role } = await import("../dist/gen/switchyard/v1/types_pb.js");
  const frame = (bench) => {
    const message = toBinary(
      router.RouteRequestSchema,
      create(router.RouteRequestSchema, {
        messages: [{ role: Role.USER, content: "hello" }],
        labels: { bench },
      }),
    );
    const bytes = Buffer.alloc(5 + message.length);
    bytes.writeUInt32BE(message.length, 1);
    bytes.set(message, 5);
    const path = join(dir, `${bench}.bin`);
    writeFileSync(path, bytes);
    return path;
  };
  return {
    mock: frame("mock"),
    failover: frame("failover"),
    decode: (bytes) => fromBinary(router.RouteResponseSchema, bytes),
  };
}

/** Makes the recorded calls, checks each answer, and returns the call id of the last failover. */
async function recordCalls(server, frames) {
  let failoverCallId;
  for (let i = 0; i < CALLS; i++) {
    // The failovers spread among the plain calls, the last call a failover.
    const failover = i % 4 === 2 || i === CALLS - 1;
    const r = await rawGrpcCall(server.port, failover ? frames.failover : frames.mock, frames.decode);
    check(
      r.httpStatus === 200 && r.grpcStatus === 0,
      `call ${i + 1}: grpc-status ${r.grpcStatus} ${r.grpcMessage ?? ""}`,
    );
    const decision = r.response?.decision;
    check(decision?.target === TARGETS[0], `call ${i + 1}: served by ${decision?.target}`);
    check(
      decision?.attempts.length === (failover ? 2 : 1),
      `call ${i + 1}: ${decision?.attempts.length} attempts (${failover ? "a failover" : "a plain call"})`,
    );
    if (failover) failoverCallId = decision.callId;
  }
  return failoverCallId;
}

// ---------------------------------------------------------------------------------------------
// The browser side.

/**
 * Runs in the page before any of its scripts (an init script): watches the DOM and notes, in
 * ms since navigation start (performance.now()), when the page's content is first there and
 * visible. `spec`: { selector, count } (at least count visible elements) or { text } (the body
 * holds it).
 */
function probe(spec) {
  const state = { contentMs: undefined };
  window.__consoleBench = state;
  const shown = () => {
    if (spec.text) return document.body?.textContent?.includes(spec.text) ?? false;
    const found = document.querySelectorAll(spec.selector);
    return found.length >= spec.count && [...found].every((element) => element.checkVisibility());
  };
  const look = () => {
    if (state.contentMs !== undefined || !shown()) return;
    state.contentMs = performance.now();
    observer.disconnect();
  };
  const observer = new MutationObserver(look);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
  addEventListener("DOMContentLoaded", look);
  addEventListener("load", look);
}

/** In the page, once content and load are there: navigation timing, what was transferred, what is shown. */
function collect(spec) {
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const api = resources.filter((r) => r.initiatorType === "fetch" || r.initiatorType === "xmlhttprequest");
  const sum = (list, key) => list.reduce((total, r) => total + r[key], 0);
  const shown = spec.selector
    ? [...document.querySelectorAll(spec.selector)].map((e) => e.getAttribute("data-target") ?? e.textContent)
    : [];
  return {
    contentMs: window.__consoleBench.contentMs,
    responseEndMs: nav.responseEnd,
    domContentLoadedMs: nav.domContentLoadedEventEnd,
    loadMs: nav.loadEventEnd,
    navigationType: nav.type,
    requests: 1 + resources.length,
    apiRequests: api.length,
    // transferSize: headers + (encoded) body fetched over the network; 0 from the cache.
    transferBytes: nav.transferSize + sum(resources, "transferSize"),
    documentAndAssetsBytes: nav.transferSize + sum(resources, "transferSize") - sum(api, "transferSize"),
    apiBytes: sum(api, "transferSize"),
    decodedBytes: nav.decodedBodySize + sum(resources, "decodedBodySize"),
    shown,
    hasText: spec.text ? document.body.textContent.includes(spec.text) : undefined,
  };
}

/** The pages measured, each with what its content is and what a visit must have shown. */
function pages(operatorUrl, failoverCallId) {
  const consoleUrl = `${operatorUrl}/console/`;
  return [
    {
      id: "metrics",
      label: "baseline: `GET /metrics` (same listener, not the console)",
      url: `${operatorUrl}/metrics`,
      content: "the exposition text",
      spec: { text: "switchyard_calls_total" },
      verify: (r) => r.hasText === true,
    },
    {
      id: "decisions",
      label: "Decisions (`#/decisions`)",
      url: `${consoleUrl}#/decisions`,
      content: `all ${CALLS} rows of the list`,
      spec: { selector: "table.decisions tbody tr", count: CALLS },
      verify: (r) =>
        r.shown.length === CALLS && r.shown.filter((t) => t.includes(failoverCallId)).length === 1,
    },
    {
      id: "decision",
      label: "a decision (`#/decisions/<call>`, a failover)",
      url: `${consoleUrl}#/decisions/${encodeURIComponent(failoverCallId)}`,
      content: "the timeline's 2 attempts",
      spec: { selector: ".timeline > li", count: 2 },
      verify: (r) => r.shown.join(",") === [TARGETS[1], TARGETS[0]].join(","),
    },
    {
      id: "targets",
      label: "Targets (`#/targets`)",
      url: `${consoleUrl}#/targets`,
      content: `the table's ${TARGETS.length} rows`,
      spec: { selector: "table.targets tbody tr[data-target]", count: TARGETS.length },
      verify: (r) => [...r.shown].sort().join(",") === TARGETS.join(","),
    },
    {
      id: "policy",
      label: "Policy (`#/policy`)",
      url: `${consoleUrl}#/policy`,
      content: `the ${ROUTES.length} routes`,
      spec: { selector: "ol.routes > li > a", count: ROUTES.length },
      verify: (r) => r.shown.join(",") === ROUTES.join(","),
    },
  ];
}

/** Navigates (goto or reload), waits for the content and the load event, collects, checks. */
async function visit(page, target, navigate, mode, problems) {
  await navigate();
  await page.waitForFunction(
    () =>
      window.__consoleBench?.contentMs !== undefined &&
      (performance.getEntriesByType("navigation")[0]?.loadEventEnd ?? 0) > 0,
    null,
    { timeout: VISIT_TIMEOUT_MS },
  );
  const r = await page.evaluate(collect, target.spec);
  check(
    target.verify(r),
    `${target.id} (${mode}) did not show ${target.content}: ${JSON.stringify(r.shown)}`,
  );
  check(
    r.navigationType === (mode === "cold" ? "navigate" : "reload"),
    `${target.id} (${mode}): a ${r.navigationType} navigation`,
  );
  check(problems.length === 0, `${target.id} (${mode}): ${problems.join("; ")}`);
  return r;
}

/** One page, cold then warm: a fresh context (empty cache), a visit, a reload in the same context. */
async function measurePage(browser, target) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addInitScript(probe, target.spec);
    const page = await context.newPage();
    const problems = [];
    // Chromium asks for /favicon.ico for a document without an icon (the /metrics text; the
    // console names a data: icon): its 404 is not the page's.
    const favicon = (url) => new URL(url).pathname === "/favicon.ico";
    page.on("console", (message) => {
      if (message.type() === "error" && !favicon(message.location().url || "about:blank"))
        problems.push(`console error: ${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("requestfailed", (request) =>
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`),
    );
    page.on("response", (response) => {
      if (response.status() >= 400 && !favicon(response.url()))
        problems.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    const cold = await visit(page, target, () => page.goto(target.url), "cold", problems);
    const warm = await visit(page, target, () => page.reload(), "warm", problems);
    return { cold, warm };
  } finally {
    await context.close();
  }
}

/** GET /metrics from Node (undici, keep-alive): the listener's own time, no browser. */
async function nodeMetricsFetch(operatorUrl, n) {
  const times = [];
  for (let i = 0; i < n + 3; i++) {
    const started = performance.now();
    const response = await fetch(`${operatorUrl}/metrics`);
    const text = await response.text();
    const ms = performance.now() - started;
    check(response.ok && text.includes("switchyard_calls_total"), "GET /metrics from Node");
    if (i >= 3) times.push(ms);
  }
  return times;
}

// ---------------------------------------------------------------------------------------------
// Report.

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const kb = (x) => (Number.isFinite(x) ? (x / 1024).toFixed(1) : "–");
const sorted = (values) => values.filter(Number.isFinite).sort((a, b) => a - b);
const stat = (values) => ({ median: median(values), p90: percentile(sorted(values), 90), n: values.length });

function summarize(targets, runs) {
  const rows = [];
  for (const mode of ["cold", "warm"])
    for (const target of targets) {
      const mine = runs.map((rep) => rep[target.id][mode]);
      const base = runs.map((rep) => rep.metrics[mode]);
      const of = (key) => stat(mine.map((r) => r[key]));
      rows.push({
        id: target.id,
        label: target.label,
        content: target.content,
        mode,
        loadMs: of("loadMs"),
        contentMs: of("contentMs"),
        responseEndMs: of("responseEndMs"),
        // Paired within the repetition: this page's content − /metrics' load, seconds apart.
        overMetricsMs: stat(mine.map((r, i) => r.contentMs - base[i].loadMs)),
        requests: of("requests"),
        apiRequests: of("apiRequests"),
        transferBytes: of("transferBytes"),
        documentAndAssetsBytes: of("documentAndAssetsBytes"),
        apiBytes: of("apiBytes"),
        decodedBytes: of("decodedBytes"),
      });
    }
  return rows;
}

function markdown(meta, rows) {
  const lines = [];
  lines.push(`# Switchyard console benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · \`switchyard serve --config bench/console-policy.yaml\` (dist/, ` +
      `operator listener on loopback without a token) with ${CALLS} recorded calls (${MOCK_CALLS} to the mock, ` +
      `${FAILOVER_CALLS} failing over from a fake answering 503 to the mock) · headless ${meta.browser}, ` +
      `viewport ${VIEWPORT.width}×${VIEWPORT.height} · per page and repetition: a fresh browser context ` +
      "(empty cache) navigates to the page (**cold**), then reloads it in the same context (**warm**) · " +
      `${meta.reps} repetitions after one unrecorded round, the pages' order rotated each repetition · ` +
      "times in ms from navigation start; median and p90 over the repetitions.",
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before start ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; Node ${meta.node}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; LOG_LEVEL=warn. Duration ` +
      `${f0(meta.durationTotalS)} s.`,
    "",
  );
  for (const mode of ["cold", "warm"]) {
    lines.push(
      `## ${mode === "cold" ? "Cold: a fresh context, nothing cached" : "Warm: a reload in the same context"}`,
      "",
      "| page | content (first time it is all in the page and visible) | content p50 | content p90 | load event p50 | load event p90 | content − /metrics load, p50 | requests (of them API) | transferred KiB (document + assets / API) | decoded KiB |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const r of rows.filter((row) => row.mode === mode)) {
      const base = r.id === "metrics";
      const bold = (s) => (base ? s : `**${s}**`);
      lines.push(
        `| ${r.label} | ${r.content} | ${bold(f1(r.contentMs.median))} | ${f1(r.contentMs.p90)} | ` +
          `${f1(r.loadMs.median)} | ${f1(r.loadMs.p90)} | ${base ? "" : `+${f1(r.overMetricsMs.median)}`} | ` +
          `${f0(r.requests.median)} (${f0(r.apiRequests.median)}) | ` +
          `${kb(r.transferBytes.median)} (${kb(r.documentAndAssetsBytes.median)} / ${kb(r.apiBytes.median)}) | ` +
          `${kb(r.decodedBytes.median)} |`,
      );
    }
    lines.push("");
  }
  lines.push(
    `\`GET /metrics\` from Node (undici, keep-alive, no browser), ${meta.nodeMetrics.n} requests: median ` +
      `${meta.nodeMetrics.median.toFixed(2)} ms, p90 ${meta.nodeMetrics.p90.toFixed(2)} ms.`,
    "",
    "*Content*: the first moment (a MutationObserver installed before the page's own scripts) at which " +
      "the page's content is in the DOM and visible: every row of the Decisions list, both attempts of the " +
      "failover's timeline, every target's row, every route of the policy; for /metrics, the exposition " +
      "text. The console's API calls (Connect over HTTP/1.1, to AdminService on the same listener) start " +
      "after its script has run, so the content comes after the load event. *Load event*: " +
      "`loadEventEnd` of the navigation. *Content − /metrics load*: per repetition, this page's content " +
      "time minus the /metrics navigation's load time (same browser, same listener, seconds apart): what " +
      "the console adds to a plain request on this machine. *Transferred*: Resource Timing " +
      "`transferSize` of the document and every resource fetched by the time the content showed " +
      "(headers included; 0 for what came from the cache), the console's assets gzipped; *decoded*: " +
      "their sizes unpacked. Every visit was checked: the content named above (the rows' call ids, " +
      "targets and routes), the navigation type, no console error, no page error, no failed request, " +
      "no HTTP status ≥ 400. See bench/README.md.",
    "",
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const startedAt = performance.now();
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const executablePath = chromiumBinary();
  const pre = preflight("bench:console", { noBuild: opts["no-build"], h2load: false });
  const consoleStaleFiles = ensureConsoleBuilt();
  scratch = mkdtempSync(join(tmpdir(), "switchyard-bench-console-"));
  const frames = await buildFrames(scratch);

  log("starting the failing fake and Switchyard…");
  const down = await startServer("fake-down", [join(BENCH, "fake-openai.mjs"), "--status", "503"]);
  const server = await startServer(
    "switchyard",
    [
      join(ROOT, "dist/src/cli/main.js"),
      "serve",
      "--config",
      join(BENCH, "console-policy.yaml"),
      "--port",
      "0",
      "--operator-port",
      "0",
      "--log-format",
      "json",
    ],
    { LOG_LEVEL: "warn", BENCH_DOWN_URL: `http://127.0.0.1:${down.port}/v1` },
  );
  const operatorUrl = `http://127.0.0.1:${server.operatorPort}`;
  const failoverCallId = await recordCalls(server, frames);
  const downStats = await (await fetch(`http://127.0.0.1:${down.port}/stats`)).json();
  check(downStats.failed === FAILOVER_CALLS, `the failing fake refused ${downStats.failed} calls`);
  log(`sanity: ${CALLS} calls recorded (${FAILOVER_CALLS} failed over, the last ${failoverCallId})`);

  const { chromium } = await import("playwright-core");
  // As test/helpers/chromium.ts: run as root in a container, where chromium's sandbox cannot start.
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const targets = pages(operatorUrl, failoverCallId);
  const runs = [];
  try {
    // Round 0 is not recorded: the first contexts pay chromium's and the server's start-up.
    for (let rep = 0; rep <= REPS; rep++) {
      const results = {};
      const order = targets.map((_, i) => targets[(i + rep) % targets.length]);
      for (const target of order) results[target.id] = await measurePage(browser, target);
      if (rep === 0) {
        log("warm-up round done: every page showed its content, cold and warm");
        continue;
      }
      runs.push(results);
      log(
        `rep ${rep}/${REPS} ${targets
          .map((t) => `${t.id} ${f0(results[t.id].cold.contentMs)}/${f0(results[t.id].warm.contentMs)}`)
          .join("  ")} ms (content cold/warm)`,
      );
    }
  } finally {
    await browser.close();
  }
  const nodeTimes = await nodeMetricsFetch(operatorUrl, REPS);
  for (const entry of children)
    if (entry.exited) throw new Error(`${entry.name} died during the benchmark:\n${entry.stderr}`);
  await stopAll();
  children.length = 0;

  const now = new Date();
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:console",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    reps: REPS,
    calls: CALLS,
    failoverCalls: FAILOVER_CALLS,
    failoverCallId,
    browser: `${browser.browserType().name()} ${browser.version()}`,
    viewport: VIEWPORT,
    nodeMetrics: stat(nodeTimes),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    git: process.env.BENCH_GIT ?? sourceRevision(ROOT),
    distStale: pre.distStale + consoleStaleFiles,
    durationTotalS: (performance.now() - startedAt) / 1000,
  };
  const rows = summarize(targets, runs);
  const md = markdown(meta, rows);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"]) {
    writeResults(`${meta.date}-console`, md, { meta, rows, runs, nodeMetricsMs: nodeTimes });
  }
}

runMain(main, () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
