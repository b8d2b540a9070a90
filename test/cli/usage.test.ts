import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_MAIN, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PROJECT_NODE,
      [file, ...args],
      { env: { PATH: process.env.PATH ?? "" } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("switchyard help", () => {
  for (const args of [["help"], ["--help"], ["serve", "--help"], ["check", "-h"], ["explain", "--help"]]) {
    it(`prints the usage and exits 0 for \`${args.join(" ")}\``, async () => {
      const result = await run(CLI_MAIN, args);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout).toMatch(/^usage:\n {2}switchyard serve/);
    });
  }

  it("exits 2 with the usage for no command or an unknown one", async () => {
    expect((await run(CLI_MAIN, [])).code).toBe(2);
    const unknown = await run(CLI_MAIN, ["serv"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "serv"\nusage:/);
  });
});

describe("the package's bin before a build", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-bin-"));
    await mkdir(join(dir, "bin"));
    await copyFile(join(PROJECT_ROOT, "bin", "switchyard.js"), join(dir, "bin", "switchyard.js"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("says in one line how to build, instead of a module-not-found stack", async () => {
    const result = await run(join(dir, "bin", "switchyard.js"), ["serve"]);
    expect(result).toMatchObject({
      code: 1,
      stdout: "",
      stderr: "switchyard is not built yet: run `npm run build` (or `npm start`) first\n",
    });
  });
});
