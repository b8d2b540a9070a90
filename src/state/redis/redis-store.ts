import { Redis } from "ioredis";
import type { Logger } from "pino";
import { type Clock, systemClock } from "../../core/clock.js";
import { StateUnavailableError } from "../../core/errors.js";
import { createMemoryStore } from "../memory/memory-store.js";
import {
  type AddItem,
  checkWindow,
  distinctKeys,
  fromUnits,
  type Reservation,
  type Reservations,
  type ReserveItem,
  type StateKey,
  type StateStore,
  toUnits,
} from "../store.js";

/**
 * Check-and-add on several counters in one step, all or none. KEYS: the counters; ARGV, three per
 * key in order: amount, limit (whole millionths), window (ms). Every counter is checked before
 * any is written. A new key is created with its window (SET PX); an existing one keeps the expiry
 * its first write gave it (INCRBY leaves the TTL alone). Returns {1, 0, value…} when granted (the
 * values after), {0, i, value…} when the i-th (from 1) would pass its limit (the values as they
 * stand).
 */
const RESERVE_ALL = `
local current = {}
for i = 1, #KEYS do current[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for i = 1, #KEYS do
  if current[i] + tonumber(ARGV[3 * i - 2]) > tonumber(ARGV[3 * i - 1]) then
    local refused = {0, i}
    for j = 1, #KEYS do refused[j + 2] = current[j] end
    return refused
  end
end
local granted = {1, 0}
for i = 1, #KEYS do
  local amount = ARGV[3 * i - 2]
  if redis.call('EXISTS', KEYS[i]) == 1 then
    granted[i + 2] = redis.call('INCRBY', KEYS[i], amount)
  else
    redis.call('SET', KEYS[i], amount, 'PX', ARGV[3 * i])
    granted[i + 2] = tonumber(amount)
  end
end
return granted
`;

/**
 * Add to several counters, each with its window set only on the write that creates the key.
 * KEYS: the counters; ARGV, two per key in order: amount (whole millionths), window (ms). Returns
 * the values after.
 */
const ADD_ALL = `
local values = {}
for i = 1, #KEYS do
  local amount = ARGV[2 * i - 1]
  if redis.call('EXISTS', KEYS[i]) == 1 then
    values[i] = redis.call('INCRBY', KEYS[i], amount)
  else
    redis.call('SET', KEYS[i], amount, 'PX', ARGV[2 * i])
    values[i] = tonumber(amount)
  end
end
return values
`;

/**
 * Raise: KEYS[1] set to max(its value, ARGV[1]), expiring at the later of its expiry and ARGV[2]
 * ms from now. Values stay the strings they were written as (no Lua float formatting). Returns
 * the value after, as a string.
 */
const RAISE = `
local value = ARGV[1]
local window = tonumber(ARGV[2])
local current = redis.call('GET', KEYS[1])
if current then
  if tonumber(current) >= tonumber(value) then value = current end
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > window then window = ttl end
end
redis.call('SET', KEYS[1], value, 'PX', window)
return value
`;

interface Scripts {
  /** The key count, the keys, then amount, limit and window for each. */
  switchyardReserveAll(count: number, ...keysThenArguments: Array<string | number>): Promise<number[]>;
  /** The key count, the keys, then amount and window for each. */
  switchyardAddAll(count: number, ...keysThenArguments: Array<string | number>): Promise<number[]>;
  switchyardRaise(key: string, value: number, windowMs: number): Promise<string>;
}

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`; never logged with its password. */
  url: string;
  /** Put before every key; default `switchyard:`. */
  keyPrefix?: string;
  /**
   * What a call gets while Redis cannot be reached: `closed` refuses reserve, get and raise with
   * StateUnavailableError; `open` answers them from a local in-memory store.
   */
  onUnavailable: "open" | "closed";
  /** Longest wait for one command (and for the first connection); default 500 ms. */
  commandTimeoutMs?: number;
  /** While Redis is unreachable, how often it is tried again besides reconnects; default 1000 ms. */
  probeIntervalMs?: number;
  /** Most distinct keys with settlements waiting for Redis to return; default 10,000. */
  maxQueuedKeys?: number;
  logger: Logger;
  clock?: Clock;
}

/** A settlement (or, failing open, a local reservation) that Redis has not seen yet. */
interface Queued {
  units: number;
  windowMs: number;
  /** When it was first made (clock ms): its window is counted from there. */
  since: number;
}

/**
 * The StateStore on Redis, shared by every process and replica pointed at it. Each operation is
 * one Lua script (EVALSHA, loaded again by ioredis after NOSCRIPT), so check-and-add is atomic
 * across replicas. Counters are integers in millionths (store.ts): INCRBY is exact where
 * INCRBYFLOAT would drift and print `0.30000000000000004`. Keys are `<prefix>{scope}:…`; the
 * braces make the scope the Redis Cluster hash tag.
 *
 * It never crashes or hangs on Redis: a command waits at most `commandTimeoutMs`; while Redis is
 * unreachable nothing waits on it (no offline queue, no resend) and ioredis reconnects with
 * backoff by itself. An outage is logged once when it starts and once when it ends. Meanwhile:
 * - reserve(All), get and raise refuse with StateUnavailableError (`closed`) or answer from a
 *   local memory store (`open`: local limits keep working);
 * - add(All) (a call's settlement) always lands: it is applied locally and kept, summed per key,
 *   until Redis is back, then replayed before the outage is declared over. Reservations granted
 *   locally (`open`) are kept the same way, so a later settlement that returns part of one adds
 *   up. Only when `maxQueuedKeys` keys are already waiting is a new key's settlement refused
 *   (`closed`: StateUnavailableError for the whole batch, though its items that could be kept
 *   still reach Redis later) or kept only locally (`open`, logged as lost).
 *
 * A command that timed out may still have been applied by Redis; it is kept and replayed all the
 * same, so a settlement can be applied twice, never lost. That errs on the safe side for what a
 * call used beyond its reservation, not for what it gives back: a give-back applied twice lowers
 * the counters (spend, a slot in flight) below the truth until their window ends.
 *
 * Windows and amounts are checked (RangeError) before anything is sent: Redis does not undo a
 * script's earlier writes when a later command of it fails.
 */
export function createRedisStore(options: RedisStoreOptions): StateStore {
  const clock = options.clock ?? systemClock;
  const prefix = options.keyPrefix ?? "switchyard:";
  const commandTimeoutMs = options.commandTimeoutMs ?? 500;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  const maxQueuedKeys = options.maxQueuedKeys ?? 10_000;
  const where = redactedUrl(options.url);
  const log = options.logger.child({ component: "state", redis: where });

  const client = new Redis(options.url, {
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
    // Fail at once while disconnected instead of queueing: a queued command could be sent after
    // its caller was told it failed, and applied twice.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Commands issued in the same tick (different calls' reservations and settlements) go in one
    // write and one round trip.
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000) + Math.floor(Math.random() * 100),
    scripts: {
      switchyardReserveAll: { lua: RESERVE_ALL },
      switchyardAddAll: { lua: ADD_ALL },
      switchyardRaise: { lua: RAISE, numberOfKeys: 1 },
    },
  });
  const scripts = client as unknown as Scripts;
  const local = createMemoryStore({ clock });
  const pending = new Map<StateKey, Queued>();

  let closed = false;
  let down = false;
  let recovering = false;
  let probe: NodeJS.Timeout | undefined;
  let droppedKeys = 0;

  const markDown = (reason: unknown): void => {
    if (down || closed) return;
    down = true;
    droppedKeys = 0;
    log.warn(
      { reason: describe(reason), onUnavailable: options.onUnavailable },
      options.onUnavailable === "closed"
        ? "Redis unreachable: calls that need shared state are refused until it is back"
        : "Redis unreachable: limits are kept in this process only until it is back",
    );
    probe = setInterval(() => void recover(), probeIntervalMs);
    probe.unref();
  };

  /** Replays what is kept, then declares the outage over; leaves it on at the first failure. */
  const recover = async (): Promise<void> => {
    if (!down || recovering || closed || client.status !== "ready") return;
    recovering = true;
    try {
      await client.ping();
      let replayed = 0;
      // Settlements still arriving during the replay are kept and replayed too: the outage is
      // over only once nothing is waiting.
      while (pending.size > 0) replayed += await replay();
      down = false;
      clearInterval(probe);
      log.info({ replayed }, "Redis reachable again: shared state restored");
    } catch {
      // Still unreachable; the next reconnect or probe tries again.
    } finally {
      recovering = false;
    }
  };

  const replay = async (): Promise<number> => {
    let replayed = 0;
    for (const [key, entry] of [...pending]) {
      pending.delete(key);
      const left = Math.ceil(entry.windowMs - (clock.now() - entry.since));
      // Its window has ended: whatever counter it would have joined has expired too.
      if (left <= 0) continue;
      try {
        await scripts.switchyardAddAll(1, prefix + key, entry.units, left);
        replayed += 1;
      } catch (error) {
        keep(key, entry.units, entry.windowMs, entry.since);
        throw error;
      }
    }
    return replayed;
  };

  const keep = (key: StateKey, units: number, windowMs: number, since = clock.now()): boolean => {
    const queued = pending.get(key);
    if (queued) {
      queued.units += units;
      queued.since = Math.min(queued.since, since);
      return true;
    }
    if (pending.size >= maxQueuedKeys) return false;
    pending.set(key, { units, windowMs, since });
    return true;
  };

  /** Failing open with the kept settlements at their bound: said once per outage. */
  const lost = (): void => {
    droppedKeys += 1;
    if (droppedKeys === 1)
      log.error(
        { maxQueuedKeys },
        "settlements waiting for Redis reached their bound: further keys are counted in this process only",
      );
  };

  client.on("error", (error: unknown) => markDown(error));
  client.on("close", () => markDown("connection closed"));
  client.on("ready", () => void recover());

  /** Waits for the connection to be ready, at most the command timeout. */
  const ready = (): Promise<boolean> => {
    if (client.status === "ready") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        client.off("ready", onReady);
        resolve(result);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), commandTimeoutMs);
      client.on("ready", onReady);
    });
  };

  const UNAVAILABLE = Symbol("unavailable");
  /** The command's reply, or UNAVAILABLE (at once while an outage is on). */
  const run = async <T>(command: () => Promise<T>): Promise<T | typeof UNAVAILABLE> => {
    if (closed) throw new Error("the state store is closed");
    if (down) return UNAVAILABLE;
    if (!(await ready())) {
      markDown("not connected");
      return UNAVAILABLE;
    }
    try {
      return await command();
    } catch (error) {
      markDown(error);
      return UNAVAILABLE;
    }
  };

  const refuse = (): never => {
    throw new StateUnavailableError({ cause: new Error(`Redis at ${where} is unreachable`) });
  };

  const reserveAll = async (items: readonly ReserveItem[]): Promise<Reservations> => {
    distinctKeys(items);
    const asked = items.map((item) => ({
      units: toUnits(item.amount),
      limit: toUnits(item.limit),
      window: windowOf(item.windowMs),
    }));
    if (items.length === 0) return { granted: true, values: [] };
    const reply = await run(() =>
      scripts.switchyardReserveAll(
        items.length,
        ...items.map((item) => prefix + item.key),
        ...asked.flatMap(({ units, limit, window }) => [units, limit, window]),
      ),
    );
    if (reply !== UNAVAILABLE) {
      const [granted, refused, ...values] = reply.map(Number);
      return {
        granted: granted === 1,
        values: values.map(fromUnits),
        ...(granted !== 1 && { refusedAt: (refused ?? 1) - 1 }),
      };
    }
    if (options.onUnavailable === "closed") refuse();
    const reservations = await local.reserveAll(items);
    // Redis must see them too, or the settlements that later return part of them would undercount.
    if (reservations.granted)
      for (const [index, item] of items.entries())
        if (!keep(item.key, asked[index]?.units ?? 0, asked[index]?.window ?? 1)) lost();
    return reservations;
  };

  const addAll = async (items: readonly AddItem[]): Promise<number[]> => {
    distinctKeys(items);
    const asked = items.map((item) => ({ units: toUnits(item.amount), window: windowOf(item.windowMs) }));
    if (items.length === 0) return [];
    const reply = await run(() =>
      scripts.switchyardAddAll(
        items.length,
        ...items.map((item) => prefix + item.key),
        ...asked.flatMap(({ units, window }) => [units, window]),
      ),
    );
    if (reply !== UNAVAILABLE) return reply.map((value) => fromUnits(Number(value)));
    // Every settlement is kept for Redis (up to the bound) and counted locally meanwhile.
    const unkept = items.filter(
      (item, index) => !keep(item.key, asked[index]?.units ?? 0, asked[index]?.window ?? 1),
    );
    if (unkept.length > 0) {
      if (options.onUnavailable === "closed") refuse();
      lost();
    }
    return local.addAll(items);
  };

  return {
    async add(key, amount, windowMs) {
      return (await addAll([{ key, amount, windowMs }]))[0] ?? 0;
    },

    addAll,

    async reserve(key, amount, limit, windowMs): Promise<Reservation> {
      const { granted, values } = await reserveAll([{ key, amount, limit, windowMs }]);
      return { granted, value: values[0] ?? 0 };
    },

    reserveAll,

    // Not kept for replay: a deadline missed during an outage is mostly over once Redis is back,
    // and a replica that still sees the target failing publishes it again.
    async raise(key, value, windowMs) {
      const [units, window] = [toUnits(value), windowOf(windowMs)];
      const reply = await run(() => scripts.switchyardRaise(prefix + key, units, window));
      if (reply !== UNAVAILABLE) return fromUnits(Number(reply));
      if (options.onUnavailable === "closed") refuse();
      return local.raise(key, value, windowMs);
    },

    async get(key) {
      const reply = await run(() => client.get(prefix + key));
      if (reply !== UNAVAILABLE) return reply === null ? 0 : fromUnits(Number(reply));
      if (options.onUnavailable === "closed") refuse();
      return local.get(key);
    },

    async close() {
      if (closed) return;
      if (down) await recover();
      else if (pending.size > 0) await replay().catch(() => undefined);
      closed = true;
      clearInterval(probe);
      if (pending.size > 0)
        log.error({ keys: pending.size }, "closing with settlements Redis never received: they are lost");
      if (client.status === "ready") await client.quit().catch(() => undefined);
      client.disconnect();
      await local.close();
    },
  };
}

/** PX takes whole milliseconds, at least 1 (RangeError for a window that is not a number of them). */
function windowOf(windowMs: number): number {
  checkWindow(windowMs);
  return Math.max(1, Math.ceil(windowMs));
}

/** The URL with any user name and password taken out, for logs and error causes. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "(an unparsable Redis URL)";
  }
}

/** An error's class and message, never its properties (ioredis attaches the command's arguments). */
function describe(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}
