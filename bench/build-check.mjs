// Shared by the benchmarks (bench/run.mjs, bench/detect.mjs): they measure the built service in
// dist/, so a source newer than its compiled output would be a benchmark of old code.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** Sources (src/, gen/) of the checkout at `root` whose compiled dist/ file is missing or older. */
export function staleOutputs(root) {
  const stale = [];
  for (const dir of ["src", "gen"]) {
    for (const file of walk(join(root, dir))) {
      if (!file.endsWith(".ts") || file.endsWith(".d.ts")) continue;
      const out = join(root, "dist", relative(root, file)).replace(/\.ts$/, ".js");
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(file).mtimeMs)
        stale.push(relative(root, file));
    }
  }
  return stale;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/**
 * Runs `npm run build` when dist/ is stale; with `noBuild`, warns instead. Exits the process if
 * the build fails. Returns how many stale files were benchmarked as they are (0 when built).
 */
export function ensureBuilt(root, { noBuild, log }) {
  const stale = staleOutputs(root);
  if (stale.length === 0) return 0;
  if (noBuild) {
    log(`warning: dist/ is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(", ")}…);`);
    log("         --no-build given, benchmarking dist/ as it is");
    return stale.length;
  }
  log(`dist/ is stale (${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ", …" : ""}): npm run build`);
  // The build's output goes to stderr: stdout is the benchmark's report.
  const build = spawnSync("npm", ["run", "build"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) {
    log("build failed; fix it, or benchmark the existing dist/ with --no-build");
    process.exit(1);
  }
  return 0;
}

/**
 * The revision of the checkout at `root` (`git describe --always --dirty`), or `fallback` when it
 * has no .git (callers let BENCH_GIT name the source of an exported tree, a git archive).
 */
export function sourceRevision(root, fallback = "unknown") {
  return (
    spawnSync("git", ["describe", "--always", "--dirty"], { cwd: root, encoding: "utf8" }).stdout?.trim() ||
    fallback
  );
}
