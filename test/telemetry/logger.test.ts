import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { PROJECT_NODE, PROJECT_ROOT } from "../helpers/build.js";

/** What a process logging one line with createLogger(options) writes to stderr. */
function loggedBy(options: string): Promise<string> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(`${PROJECT_ROOT}dist/src/telemetry/logger.js`)});
    const logger = createLogger(${options});
    logger.info({ port: 50051 }, "serving");
    logger.flush?.();`;
  return new Promise((resolve, reject) => {
    execFile(PROJECT_NODE, ["--input-type=module", "-e", script], (error, _stdout, stderr) =>
      error ? reject(error) : resolve(stderr),
    );
  });
}

describe("createLogger", () => {
  it("writes JSON lines when stderr is not a terminal", async () => {
    const line = JSON.parse((await loggedBy("{}")).trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: "serving", port: 50051, service: "switchyard" });
  });

  it("writes readable lines in the pretty format, as on a terminal", async () => {
    const text = await loggedBy('{ format: "pretty" }');
    expect(() => JSON.parse(text.trim())).toThrow();
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colours are stripped to read the words
    const plain = text.replace(/\u001b\[[0-9;]*m/g, "");
    expect(plain).toMatch(/INFO.*serving/);
    expect(plain).toContain("port: 50051");
  });
});
