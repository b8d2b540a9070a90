/**
 * What the benchmarks share (every bench/*.mjs that measures): their preconditions, the processes
 * under test and their CPU, h2load and its output, a raw gRPC call for sanity checks,
 * percentiles, a CPU profile's hot spots, how a run starts and ends and where its results go. One
 * process runs one benchmark, so the children it started are kept here.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect as connectHttp2 } from "node:http2";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureBuilt } from "./build-check.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NODE = process.execPath;
export const ROUTE_PATH = "/switchyard.v1.RouterService/Route";

/** Every process startServer started, with its name, port and stderr. */
export const children = [];

export function log(line) {
  process.stderr.write(`${line}\n`);
}

/**
 * Records a run: its report as bench/results/<name>.md and its data as <name>.json, the JSON in the
 * repository's format so `npm run lint` stays green.
 */
export function writeResults(name, md, data) {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const base = join(dir, name);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, `${JSON.stringify(data, null, 2)}\n`);
  spawnSync(join(ROOT, "node_modules/.bin/biome"), ["format", "--write", `${base}.json`], { cwd: ROOT });
  log(`wrote ${relative(ROOT, base)}.md and .json`);
}

/**
 * Runs a benchmark's `main`: Ctrl-C kills the processes it started; a failure is logged with its
 * stack, sets exit code 1 and stops every process; `cleanup` (its scratch files) runs last either way.
 */
export function runMain(main, cleanup = () => {}) {
  process.once("SIGINT", () => {
    for (const { child } of children) child.kill("SIGKILL");
    process.exit(130);
  });
  main()
    .catch(async (error) => {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
      await stopAll();
    })
    .finally(cleanup);
}

export function check(condition, what) {
  if (!condition) throw new Error(`sanity check failed: ${what}`);
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

/** Busy and total CPU seconds of the whole machine, and of this process plus its reaped children (h2load). */
export function machineCpu() {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const self = readFileSync("/proc/self/stat", "utf8");
  const f = self.slice(self.lastIndexOf(")") + 2).split(" ");
  const ours = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  return { busy: (total - idle) / 100, total: total / 100, ours };
}

/**
 * Exits unless h2load (unless `h2load: false`) and Node 24 are there (`script`: the npm script to
 * suggest); builds dist/ when it is stale (or, with `noBuild`, warns). Returns h2load's version
 * and the stale file count.
 */
export function preflight(script, { noBuild, h2load = true }) {
  const h2 = h2load ? spawnSync("h2load", ["--version"], { encoding: "utf8" }) : { stdout: "" };
  if (h2.error) {
    log("h2load not found. Install it: apt-get update && apt-get install -y nghttp2-client");
    process.exit(2);
  }
  if (Number(process.versions.node.split(".")[0]) < 24) {
    log(
      `Node ${process.versions.node}: run through npm (npm run ${script}) so Node 24 from node_modules is used`,
    );
    process.exit(2);
  }
  const distStale = ensureBuilt(ROOT, { noBuild, log });
  return { h2loadVersion: h2.stdout.trim(), distStale };
}

/** Spawns a server; resolves once it prints its port (the fakes on stdout, Switchyard's `serving` line on stderr). */
export function startServer(name, args, env = {}) {
  const child = spawn(NODE, args, {
    cwd: ROOT,
    // One Switchyard process unless a benchmark asks for workers (--workers wins over the variable):
    // the CPU columns read the one pid the `serving` line names.
    env: { ...process.env, SWITCHYARD_WORKERS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const entry = { name, child, stderr: "", exited: false };
  children.push(entry);
  child.once("exit", () => {
    entry.exited = true;
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within 15 s:\n${entry.stderr}`)),
      15_000,
    );
    const ready = (port) => {
      clearTimeout(timer);
      entry.port = Number(port);
      resolve(entry);
    };
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = /listening on [\d.]+:(\d+)/.exec(stdout);
      if (match) ready(match[1]);
    });
    child.stderr.on("data", (chunk) => {
      entry.stderr += chunk;
      if (entry.port !== undefined) return;
      const serving = entry.stderr
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line))
        .find((line) => line.msg === "serving");
      if (serving) {
        entry.operatorPort = serving.operatorPort;
        ready(serving.port);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${entry.stderr}`));
    });
  });
}

export async function stopAll() {
  await Promise.all(
    children.map(
      ({ child, exited }) =>
        new Promise((resolve) => {
          if (exited || child.exitCode !== null) return resolve();
          const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
          child.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

export function runH2load(args, logFile, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn("h2load", [...args, ...(logFile ? ["--log-file", logFile] : [])], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(guard);
      if (code !== 0) return reject(new Error(`h2load ${args.join(" ")} exited ${code}:\n${out}`));
      resolve(out);
    });
  });
}

/** The counts of h2load's summary (its run time may be printed in s or ms: only req/s is kept). */
export function parseH2load(out) {
  const num = (re) => {
    const m = re.exec(out);
    if (!m) throw new Error(`cannot parse h2load output (${re}):\n${out}`);
    return m.slice(1).map(Number);
  };
  const [rps] = num(/finished in [\d.]+m?s, ([\d.]+) req\/s/);
  const [total, , done, succeeded, failed, errored, timeout] = num(
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
  );
  const [s2xx, s3xx, s4xx, s5xx] = num(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/);
  const [dataBytes] = num(/traffic: .*?, .*?, \S+ \((\d+)\) data/);
  return { rps, total, done, succeeded, failed, errored, timeout, s2xx, s3xx, s4xx, s5xx, dataBytes };
}

/** Per-request latencies in microseconds from h2load's --log-file (third column). */
export function latencies(logFile) {
  const values = [];
  for (const line of readFileSync(logFile, "utf8").split("\n")) {
    const cols = line.split("\t");
    if (cols.length >= 3) values.push(Number(cols[2]));
  }
  return values.sort((a, b) => a - b);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Sends the exact frame h2load will send, over h2c; returns grpc-status, the decoded answer and DATA bytes. */
export function rawGrpcCall(port, framePath, decode) {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": ROUTE_PATH,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let headers = {};
    let trailers = {};
    const chunks = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (chunk) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      session.close();
      const body = Buffer.concat(chunks);
      const status = trailers["grpc-status"] ?? headers["grpc-status"];
      const message = trailers["grpc-message"] ?? headers["grpc-message"];
      resolve({
        httpStatus: headers[":status"],
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: message,
        dataBytes: body.length,
        response: decode && body.length >= 5 ? decode(body.subarray(5, 5 + body.readUInt32BE(1))) : undefined,
      });
    });
    stream.end(readFileSync(framePath));
  });
}

/** The top self-time areas (packages, src/ folders, node: modules) and functions of a .cpuprofile file. */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnSelf = new Map();
  const areaSelf = new Map();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const url = callFrame.url.replace(`file://${ROOT}`, "");
    const key = `${callFrame.functionName || "(anonymous)"} ${url ? `${url}:${callFrame.lineNumber + 1}` : ""}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const area = !url
      ? callFrame.functionName.startsWith("(")
        ? callFrame.functionName
        : "(native/builtin)"
      : url.startsWith("node:")
        ? `node:${url.slice(5).split("/")[0]}`
        : url.includes("/node_modules/")
          ? url
              .split("/node_modules/")[1]
              .split("/")
              .slice(0, url.includes("/node_modules/@") ? 2 : 1)
              .join("/")
          : url.split("/").slice(0, 4).join("/");
    areaSelf.set(area, (areaSelf.get(area) ?? 0) + us);
  }
  const fmt = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`)
      .join("\n");
  return `self time by area:\n${fmt(areaSelf, 15)}\nself time by function:\n${fmt(fnSelf, top)}`;
}
