import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CLI_MAIN, PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";

// Each test spawns the compiled CLI (a whole Node process, every module loaded) one or more times:
// on a busy two-core machine a spawn alone can take seconds.
vi.setConfig({ testTimeout: 60_000 });

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PROJECT_NODE,
      [file, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 15_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Every stderr line, parsed: a line that is not JSON fails the test. */
function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
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

describe("serve when it cannot serve", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-serve-fail-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses an unknown LOG_LEVEL as a usage error, without a stack", async () => {
    const result = await run(CLI_MAIN, ["serve", "--port", "0", "--operator-port", "0"], {
      LOG_LEVEL: "bogus",
    });
    expect(result).toMatchObject({
      code: 2,
      stderr: 'LOG_LEVEL: "bogus" is not one of fatal, error, warn, info, debug, trace, silent\n',
    });
  });

  it("says an invalid policy as one JSON log line with every issue, and exits 1", async () => {
    const policy = join(dir, "bad.yaml");
    await writeFile(policy, "providers: {}\nroutes: []\nbogus: 1\n");
    const result = await run(CLI_MAIN, ["serve", "--config", policy, "--port", "0", "--operator-port", "0"]);
    expect(result.code).toBe(1);
    const [line, ...rest] = jsonLines(result.stderr);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 60, msg: "invalid policy; not serving", source: policy });
    expect(line?.issues).toEqual(expect.arrayContaining([expect.stringContaining("bogus")]));
  });

  it("says a port already in use as a JSON log line, and exits 1", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const result = await run(CLI_MAIN, ["serve", "--port", String(port), "--operator-port", "0"]);
      expect(result.code).toBe(1);
      const lines = jsonLines(result.stderr);
      expect(lines.at(-1)).toMatchObject({ level: 60, msg: "cannot serve" });
      expect(String(lines.at(-1)?.reason)).toContain("EADDRINUSE");
    } finally {
      taken.close();
    }
  });
});

describe("serve --limit", () => {
  it("knows only the limits it has, not names every object inherits", async () => {
    for (const name of ["constructor", "toString", "__proto__"]) {
      const result = await run(CLI_MAIN, ["serve", "--limit", `${name}=5`]);
      expect(result.code, name).toBe(2);
      expect(result.stderr).toContain(`--limit: unknown limit "${name}"`);
    }
  });
});

describe("switchyard explain", () => {
  it("names a bad field of --request by its JSON path, as the server does", async () => {
    const typo = await run(CLI_MAIN, [
      "explain",
      "--request",
      '{"messages":[{"role":"ROLE_USER","content":"hi"}],"dataClas":"pii"}',
    ]);
    expect(typo).toMatchObject({ code: 1, stderr: 'dataClas: unknown field (did you mean "dataClass"?)\n' });
    const range = await run(CLI_MAIN, [
      "explain",
      "--request",
      '{"messages":[{"role":"ROLE_USER","content":"hi"}],"params":{"maxTokens":-1}}',
    ]);
    expect(range.stderr).toBe("params.maxTokens: must be a whole number from 0 to 4294967295, got -1\n");
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
