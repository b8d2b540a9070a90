/**
 * Test helper, run by test/state/primary/: holds a memory store and serves it over this process's
 * IPC channel (as the `serve --workers N` primary serves its workers), from the built dist/.
 * With `cluster N`: forks N cluster workers that each make `reserves` concurrent reservations of
 * 3 against a limit of 100 through the primary store, then prints what every worker was granted
 * and the counter's final value as one JSON line.
 */
import cluster from "node:cluster";
import { connectChannel, primaryChannel } from "../../dist/src/cluster/ipc.js";
import { createMemoryStore } from "../../dist/src/state/memory/memory-store.js";
import { createPrimaryStore, serveStateStore } from "../../dist/src/state/primary/primary-store.js";
import { stateKey } from "../../dist/src/state/store.js";

const [mode, workerCount = "2", reserves = "200"] = process.argv.slice(2);
const key = stateKey("tenant-cluster", "requests", "minute");

if (mode === "serve") {
  connectChannel(primaryChannel(), serveStateStore(createMemoryStore()), { timeoutMs: 2000 });
} else if (cluster.isPrimary) {
  const store = createMemoryStore();
  cluster.setupPrimary({ serialization: "advanced" });
  const granted = [];
  for (let index = 0; index < Number(workerCount); index += 1) {
    const worker = cluster.fork();
    connectChannel(
      {
        send: (message, failed) => worker.send(message, (error) => error && failed(error)),
        listen(listener) {
          worker.on("message", listener);
          return () => worker.off("message", listener);
        },
      },
      { ...serveStateStore(store), done: (count) => granted.push({ pid: worker.process.pid, count }) },
      { timeoutMs: 2000 },
    );
  }
  let exited = 0;
  cluster.on("exit", async () => {
    exited += 1;
    if (exited < Number(workerCount)) return;
    process.stdout.write(`${JSON.stringify({ granted, value: await store.get(key) })}\n`);
  });
} else {
  const link = connectChannel(primaryChannel(), {}, { timeoutMs: 2000 });
  const store = createPrimaryStore((kind, body) => link.request(kind, body));
  // Each worker waits for a common start so that both really reserve at once.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(process.env.START_AT) - Date.now())));
  const results = await Promise.all(
    Array.from({ length: Number(reserves) }, () => store.reserve(key, 3, 100, 60_000)),
  );
  await link.request("done", results.filter((result) => result.granted).length);
  process.exit(0);
}
