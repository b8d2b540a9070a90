import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEvalSinks } from "../../src/telemetry/eval-sink.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-eval-sink-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function linesOf(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

describe("createEvalSinks", () => {
  it("returns no logger for the discard sink", async () => {
    const sinks = createEvalSinks();
    expect(sinks.logger({ kind: "discard" })).toBeUndefined();
    await sinks.close();
  });

  it("writes JSON lines to the file sink, creating its directory, flushed by close()", async () => {
    const path = join(dir, "nested", "eval.jsonl");
    const sinks = createEvalSinks();
    const logger = sinks.logger({ kind: "file", path });
    logger?.info({ traceId: "t1", route: "default" }, "call");
    logger?.info({ traceId: "t2" }, "call");
    await sinks.close();
    expect(await linesOf(path)).toEqual([
      expect.objectContaining({
        msg: "call",
        traceId: "t1",
        route: "default",
        service: "switchyard",
        sink: "eval",
      }),
      expect.objectContaining({ msg: "call", traceId: "t2", service: "switchyard", sink: "eval" }),
    ]);
  });

  it("flushes lines written just before close(), also when the file was not open yet", async () => {
    const path = join(dir, "eval.jsonl");
    const sinks = createEvalSinks();
    const logger = sinks.logger({ kind: "file", path });
    for (let index = 0; index < 100; index++) logger?.info({ index }, "line");
    await sinks.close();
    expect((await linesOf(path)).map((line) => line.index)).toEqual([...Array(100).keys()]);
  });

  it("keeps one writer per destination", async () => {
    const sinks = createEvalSinks();
    const path = join(dir, "eval.jsonl");
    const first = sinks.logger({ kind: "file", path });
    expect(sinks.logger({ kind: "file", path })).toBe(first);
    expect(sinks.logger({ kind: "file", path: join(dir, "other.jsonl") })).not.toBe(first);
    first?.info("one");
    await sinks.close();
  });

  it("opens the file again after close() for a sink used anew (a reload)", async () => {
    const path = join(dir, "eval.jsonl");
    const sinks = createEvalSinks();
    sinks.logger({ kind: "file", path })?.info("before");
    await sinks.close();
    sinks.logger({ kind: "file", path })?.info("after");
    await sinks.close();
    expect((await linesOf(path)).map((line) => line.msg)).toEqual(["before", "after"]);
  });

  it("returns a logger for stdout, closed without closing the process's stdout", async () => {
    const sinks = createEvalSinks();
    expect(sinks.logger({ kind: "stdout" })).toBeDefined();
    await sinks.close();
  });

  it("reports a file that cannot be created once, discards from then on, and closes", async () => {
    const blocker = join(dir, "a-file");
    await writeFile(blocker, "not a directory");
    const warnings: Record<string, unknown>[] = [];
    const log = pino(
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
            warnings.push(JSON.parse(line));
          callback();
        },
      }),
    );
    const sinks = createEvalSinks(log);
    const sink = { kind: "file" as const, path: join(blocker, "eval.jsonl") };
    sinks.logger(sink)?.info("lost");
    await expect.poll(() => warnings.length).toBe(1);
    expect(warnings[0]).toMatchObject({ level: 40, msg: "eval sink failed; its lines are dropped" });
    expect(sinks.logger(sink)).toBeUndefined();
    await sinks.close();
    expect(warnings).toHaveLength(1);
  });
});
