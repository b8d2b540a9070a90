import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const BUF = join(ROOT, "node_modules/.bin/buf");

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(relative(dir, path), await readFile(path, "utf8"));
    }
  return out;
}

describe("the contract", () => {
  it("passes buf lint with the STANDARD rules", async () => {
    await expect(run(BUF, ["lint"], { cwd: ROOT })).resolves.toMatchObject({ stdout: "" });
  });

  it("has gen/ exactly as buf generate makes it from proto/ (run `npm run generate` when this fails)", async () => {
    const out = await mkdtemp(join(tmpdir(), "switchyard-gen-"));
    try {
      await run(BUF, ["generate", "--output", out], { cwd: ROOT });
      const fresh = await filesUnder(join(out, "gen"));
      const committed = await filesUnder(join(ROOT, "gen"));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [path, text] of fresh) expect(committed.get(path), `gen/${path} is stale`).toBe(text);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
