import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StateUnavailableError } from "../../../src/core/errors.js";
import {
  createRedisStore,
  type RedisStoreOptions,
  redactedUrl,
} from "../../../src/state/redis/redis-store.js";
import { type StateStore, stateKey } from "../../../src/state/store.js";
import { type RedisServer, redisServerAvailable, startRedisServer } from "../../helpers/redis-server.js";
import { describeStateStore } from "../../helpers/state-store-spec.js";

const MINUTE = 60_000;
/** No store call may take longer than this, Redis up, down or hung. */
const CALL_BOUND_MS = 1500;

const haveRedis = redisServerAvailable();
if (!haveRedis) console.warn("redis-server is not installed: the Redis store suites are skipped");

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>>; raw: string[] } {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line !== "") {
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines, raw };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The call's outcome, failing the test if it takes longer than `CALL_BOUND_MS`. */
async function bounded<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a store call took over ${CALL_BOUND_MS} ms`)), CALL_BOUND_MS);
  });
  try {
    return await Promise.race([call, hung]);
  } finally {
    clearTimeout(timer);
  }
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(25);
  }
}

describe.skipIf(!haveRedis)("createRedisStore", () => {
  let server: RedisServer;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url, { lazyConnect: true });
    await raw.connect();
  });
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  describeStateStore(
    "createRedisStore (as a StateStore)",
    () => ({
      store: createRedisStore({
        url: server.url,
        onUnavailable: "closed",
        logger: pino({ level: "silent" }),
      }),
      elapse: (ms) => sleep(ms + 20),
    }),
    // Wide enough that a loaded machine does not see a window end between two steps of one case.
    { window: 400 },
  );

  const stores: StateStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  const open = (options: Partial<RedisStoreOptions> = {}): StateStore => {
    const store = createRedisStore({
      url: server.url,
      onUnavailable: "closed",
      logger: pino({ level: "silent" }),
      ...options,
    });
    stores.push(store);
    return store;
  };

  it("keeps counters under the prefix with the scope as hash tag, in whole millionths, expiring with the window", async () => {
    const store = open();
    await store.add(stateKey("acme", "usd", "day"), 1.25, MINUTE);
    expect(await raw.get("switchyard:{acme}:usd:day")).toBe("1250000");
    const ttl = await raw.pttl("switchyard:{acme}:usd:day");
    expect(ttl).toBeGreaterThan(MINUTE - 5000);
    expect(ttl).toBeLessThanOrEqual(MINUTE);

    await open({ keyPrefix: "other:" }).reserve(stateKey("acme", "rpm"), 1, 10, MINUTE);
    expect(await raw.get("other:{acme}:rpm")).toBe("1000000");
  });

  it("reserves a call's counters in one script that writes none of them when one is refused", async () => {
    const store = open();
    const [rpm, usd] = [stateKey("globex", "rpm"), stateKey("globex", "usd")];
    const refused = await store.reserveAll([
      { key: rpm, amount: 1, limit: 10, windowMs: MINUTE },
      { key: usd, amount: 2, limit: 1, windowMs: MINUTE },
    ]);
    expect(refused).toMatchObject({ granted: false, refusedAt: 1 });
    // Not even created at 0: nothing of a refused call reaches Redis.
    expect(await raw.exists("switchyard:{globex}:rpm", "switchyard:{globex}:usd")).toBe(0);
    await store.reserveAll([
      { key: rpm, amount: 1, limit: 10, windowMs: MINUTE },
      { key: usd, amount: 0.5, limit: 1, windowMs: 2 * MINUTE },
    ]);
    expect(await raw.mget("switchyard:{globex}:rpm", "switchyard:{globex}:usd")).toEqual([
      "1000000",
      "500000",
    ]);
    // Each key created with its own window.
    expect(await raw.pttl("switchyard:{globex}:usd")).toBeGreaterThan(MINUTE);
  });

  it("shares counters between stores, as replicas share one Redis", async () => {
    const [a, b] = [open(), open()];
    const key = stateKey(`shared-${Date.now()}`, "rpm");
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) => (index % 2 ? a : b).reserve(key, 1, 60, MINUTE)),
    );
    expect(results.filter((result) => result.granted)).toHaveLength(60);
    expect(await a.get(key)).toBe(60);
  });

  it("redacts the credentials of a URL", () => {
    expect(redactedUrl("redis://user:hunter2@cache:6380/2")).toBe("redis://cache:6380/2");
    expect(redactedUrl("not a url")).not.toContain("not a url");
  });
});

describe.skipIf(!haveRedis)("createRedisStore when Redis goes away", () => {
  let server: RedisServer;
  let raw: Redis;
  const stores: StateStore[] = [];
  beforeAll(async () => {
    server = await startRedisServer({ password: "s3cret-pass" });
  });
  afterEach(async () => {
    server.resume();
    await server.start();
    for (const store of stores.splice(0)) await store.close();
    raw?.disconnect();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const open = (onUnavailable: "open" | "closed", extra: Partial<RedisStoreOptions> = {}) => {
    const { logger, lines, raw: rawLines } = capturingLogger();
    const store = createRedisStore({
      url: server.url,
      onUnavailable,
      logger,
      commandTimeoutMs: 300,
      probeIntervalMs: 100,
      ...extra,
    });
    stores.push(store);
    return { store, lines, rawLines };
  };
  const connectRaw = async () => {
    raw = new Redis(server.url, { lazyConnect: true });
    await raw.connect();
    return raw;
  };

  it("closed: refuses promptly with StateUnavailableError after kill -9, recovers by itself, and lands every settlement", async () => {
    const { store, lines, rawLines } = open("closed");
    const key = stateKey("acme", "usd", "day");
    await store.reserve(key, 2, 10, MINUTE);

    // Calls in flight when the server dies end promptly, each one way or the other.
    const inFlight = Array.from({ length: 50 }, () =>
      bounded(store.reserve(key, 0.01, 10, MINUTE)).catch((e) => e),
    );
    await server.kill();
    const outcomes = await Promise.all(inFlight);
    for (const outcome of outcomes)
      if (outcome instanceof Error) expect(outcome).toBeInstanceOf(StateUnavailableError);

    for (let index = 0; index < 20; index += 1) {
      await expect(bounded(store.reserve(key, 1, 10, MINUTE))).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(bounded(store.get(key))).rejects.toBeInstanceOf(StateUnavailableError);
    }
    // Settlements of calls admitted before the outage are kept, not refused.
    await bounded(store.add(key, -0.5, MINUTE));
    await bounded(store.add(key, -0.25, MINUTE));
    await bounded(store.add(stateKey("acme", "tokens", "minute"), 300, MINUTE));

    await server.start();
    await eventually(async () => (await store.get(key).catch(() => undefined)) !== undefined);
    // The restarted server kept nothing (no persistence here): what is there is what was kept.
    const redis = await connectRaw();
    expect(await redis.get("switchyard:{acme}:usd:day")).toBe("-750000");
    expect(await redis.get("switchyard:{acme}:tokens:minute")).toBe("300000000");
    expect(await store.reserve(key, 1, 10, MINUTE)).toMatchObject({ granted: true });

    // One warning for the outage, one line for its end, whatever the number of calls.
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    expect(lines.filter((line) => String(line.msg).startsWith("Redis reachable again"))).toEqual([
      expect.objectContaining({ replayed: 2 }),
    ]);
    expect(rawLines.join("\n")).not.toContain("s3cret-pass");
    expect(lines[0]).toMatchObject({ redis: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:\d+$/) });
  }, 30_000);

  it("open: keeps answering from local counters, limits included, and replays them and every settlement once Redis is back", async () => {
    const { store, lines } = open("open");
    const key = stateKey("acme", "rpm");
    await store.reserve(key, 3, 5, MINUTE);
    await server.kill();

    const local = [];
    for (let index = 0; index < 8; index += 1) local.push(await bounded(store.reserve(key, 1, 5, MINUTE)));
    // This process alone enforces the limit meanwhile (it knows only what it counted itself).
    expect(local.filter((result) => result.granted)).toHaveLength(5);
    expect(await bounded(store.add(key, -2, MINUTE))).toBe(3);
    expect(await bounded(store.get(key))).toBe(3);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);

    await server.start();
    await eventually(() => lines.some((line) => String(line.msg).startsWith("Redis reachable again")));
    const redis = await connectRaw();
    // The restarted server kept nothing: 5 reserved locally, 2 returned.
    expect(await redis.get("switchyard:{acme}:rpm")).toBe("3000000");
    expect(await store.get(key)).toBe(3);
  }, 30_000);

  it("starts while Redis is down without hanging, and connects by itself when it comes up", async () => {
    await server.kill();
    const { store } = open("closed");
    const key = stateKey("acme", "rpm");
    await expect(bounded(store.reserve(key, 1, 5, MINUTE))).rejects.toBeInstanceOf(StateUnavailableError);
    await server.start();
    await eventually(
      async () => (await store.reserve(key, 1, 5, MINUTE).catch(() => undefined))?.granted === true,
    );
  }, 30_000);

  it("keeps settlements for a bounded number of keys: beyond it closed refuses them and open logs their loss", async () => {
    const closed = open("closed", { maxQueuedKeys: 2 });
    const opened = open("open", { maxQueuedKeys: 2 });
    await closed.store.get(stateKey("t", "warm"));
    await opened.store.get(stateKey("t", "warm"));
    await server.kill();
    for (const { store } of [closed, opened]) {
      await store.add(stateKey("t", "a"), 1, MINUTE);
      await store.add(stateKey("t", "b"), 1, MINUTE);
      // The same key again is summed into what is already kept.
      await store.add(stateKey("t", "a"), 1, MINUTE);
    }
    await expect(closed.store.add(stateKey("t", "c"), 1, MINUTE)).rejects.toBeInstanceOf(
      StateUnavailableError,
    );
    expect(await opened.store.add(stateKey("t", "c"), 1, MINUTE)).toBe(1);
    expect(opened.lines.filter((line) => line.level === 50)).toHaveLength(1);
  }, 30_000);

  it("notices a hung Redis through the command timeout, and recovers when it answers again", async () => {
    const { store, lines } = open("closed");
    const key = stateKey("acme", "rpm");
    await store.reserve(key, 1, 5, MINUTE);
    server.pause();
    await expect(bounded(store.reserve(key, 1, 5, MINUTE))).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(bounded(store.reserve(key, 1, 5, MINUTE))).rejects.toBeInstanceOf(StateUnavailableError);
    expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
    server.resume();
    await eventually(() => lines.some((line) => String(line.msg).startsWith("Redis reachable again")));
    // The first refused reservation had reached the server, which ran it once it woke up: a
    // command that timed out may still count (never the other way round), as documented.
    expect(await store.reserve(key, 1, 5, MINUTE)).toEqual({ granted: true, value: 3 });
  }, 30_000);

  it("closes without hanging while Redis is down", async () => {
    const { store } = open("closed");
    await store.get(stateKey("t", "warm"));
    await server.kill();
    await bounded(store.add(stateKey("t", "k"), 1, MINUTE));
    stores.splice(stores.indexOf(store), 1);
    await bounded(store.close());
  }, 30_000);
});
