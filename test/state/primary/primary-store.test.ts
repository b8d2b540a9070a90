import { type ChildProcess, execFile, fork } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChannel } from "../../../src/cluster/ipc.js";
import { StateUnavailableError } from "../../../src/core/errors.js";
import { createPrimaryStore } from "../../../src/state/primary/primary-store.js";
import { stateKey } from "../../../src/state/store.js";
import { ensureBuilt, PROJECT_NODE, PROJECT_ROOT } from "../../helpers/build.js";
import { describeStateStore } from "../../helpers/state-store-spec.js";

const HELPER = join(PROJECT_ROOT, "test", "helpers", "state-primary.mjs");

let primary: ChildProcess;
let link: ReturnType<typeof connectChannel>;

beforeAll(async () => {
  await ensureBuilt();
  // A real process holding the memory store, reached over Node's IPC channel as a worker reaches
  // the `serve --workers N` primary.
  primary = fork(HELPER, ["serve"], { execPath: PROJECT_NODE, serialization: "advanced", stdio: "inherit" });
  link = connectChannel(
    {
      send: (message, failed) => primary.send(message as object, (error) => error && failed(error)),
      listen(listener) {
        primary.on("message", listener);
        return () => primary.off("message", listener);
      },
    },
    {},
    { timeoutMs: 2000 },
  );
}, 120_000);

afterAll(() => {
  link?.stop();
  primary?.kill();
});

describeStateStore(
  "createPrimaryStore (as a StateStore, over IPC to another process)",
  () => ({
    store: createPrimaryStore((kind, body) => link.request(kind, body)),
    elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 20)),
  }),
  { window: 300 },
);

describe("createPrimaryStore", () => {
  it("refuses as unavailable when the primary does not answer in time, and never hangs", async () => {
    const silent = createPrimaryStore(() => Promise.reject(new Error("no answer within 2000 ms")));
    await expect(silent.reserve(stateKey("t", "k"), 1, 10, 60_000)).rejects.toThrow(StateUnavailableError);
    await expect(silent.get(stateKey("t", "k"))).rejects.toThrow(StateUnavailableError);
  });

  it("holds one limit across two cluster workers reserving against it at once", async () => {
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        PROJECT_NODE,
        [HELPER, "cluster", "2", "200"],
        { cwd: PROJECT_ROOT, timeout: 60_000, env: { ...process.env, START_AT: String(Date.now() + 3000) } },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const { granted, value } = JSON.parse(output) as {
      granted: { pid: number; count: number }[];
      value: number;
    };
    expect(new Set(granted.map((worker) => worker.pid)).size).toBe(2);
    // 400 reservations of 3 against 100: exactly 33 fit, whichever worker made them.
    expect(granted.reduce((sum, worker) => sum + worker.count, 0)).toBe(33);
    expect(value).toBe(99);
  }, 90_000);
});
