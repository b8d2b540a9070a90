import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { type ClientTool, missingTools, skipForMissing } from "../helpers/client-tools.js";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const BUF = join(ROOT, "node_modules/.bin/buf");

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []))
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out.set(relative(dir, path), await readFile(path, "utf8"));
    }
  return out;
}

/**
 * Runs `buf generate` with `template` into a temp dir and expects each of `outputs` (folders
 * relative to the root) to hold exactly what is committed.
 */
async function expectCommittedAsGenerated(template: string, outputs: string[]): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), "switchyard-gen-"));
  try {
    await run(BUF, ["generate", "--template", template, "--output", out], { cwd: ROOT });
    for (const output of outputs) {
      const fresh = await filesUnder(join(out, output));
      const committed = await filesUnder(join(ROOT, output));
      expect(fresh.size, `buf generate wrote nothing to ${output}`).toBeGreaterThan(0);
      expect([...committed.keys()].sort(), `files in ${output}`).toEqual([...fresh.keys()].sort());
      for (const [path, text] of fresh) expect(committed.get(path), `${output}/${path} is stale`).toBe(text);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

describe("the contract", () => {
  it("passes buf lint with the STANDARD rules", async () => {
    await expect(run(BUF, ["lint"], { cwd: ROOT })).resolves.toMatchObject({ stdout: "" });
  });

  it("has gen/ exactly as buf generate makes it from proto/ (run `npm run generate` when this fails)", async () => {
    await expectCommittedAsGenerated("buf.gen.yaml", ["gen"]);
  });
});

const CLIENT_GENERATORS: ClientTool[] = [
  "protobuf-compiler",
  "protobuf-compiler-grpc",
  "protoc-gen-go",
  "protoc-gen-go-grpc",
];
const missing = missingTools(CLIENT_GENERATORS);

describe.skipIf(skipForMissing(missing))("the Python and Go clients' stubs", () => {
  it("have their generators installed (.ci/run installs them)", () => {
    expect(missing).toEqual([]);
  });

  it("are exactly as buf generate makes them from proto/ (run `npm run generate` when this fails)", async () => {
    await expectCommittedAsGenerated("buf.gen.clients.yaml", ["clients/python/gen", "clients/go/gen"]);
  });
});
