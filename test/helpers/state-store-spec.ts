import { afterEach, describe, expect, it } from "vitest";
import { type StateStore, stateKey } from "../../src/state/store.js";

const MINUTE = 60_000;

export interface StoreUnderTest {
  store: StateStore;
  /** Lets `ms` of the store's time pass (a fake clock's advance, or a real wait). */
  elapse(ms: number): Promise<void>;
}

let keys = 0;
/** A scope no other test of this process has used (a Redis server outlives one test). */
function freshScope(): string {
  keys += 1;
  return `tenant-${process.pid}-${keys}`;
}

/** A key no other test of this process has used. */
function fresh(name = "k") {
  return stateKey(freshScope(), name);
}

/**
 * What any StateStore does: the memory store and the Redis store run the same cases. `window`
 * is the short window (ms) the expiry cases use: a real server needs real time to pass.
 */
export function describeStateStore(
  name: string,
  make: () => Promise<StoreUnderTest> | StoreUnderTest,
  options: { window: number },
): void {
  describe(name, () => {
    const opened: StateStore[] = [];
    const open = async () => {
      const made = await make();
      opened.push(made.store);
      return made;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    const { window } = options;

    it("reads 0 for a key never written", async () => {
      const { store } = await open();
      expect(await store.get(fresh())).toBe(0);
    });

    it("adds to a counter and returns the new value, going negative when told to", async () => {
      const { store } = await open();
      const key = fresh();
      expect(await store.add(key, 5, MINUTE)).toBe(5);
      expect(await store.add(key, -8, MINUTE)).toBe(-3);
      expect(await store.get(key)).toBe(-3);
    });

    it("counts fractional amounts (dollars) exactly to the millionth, with no float drift", async () => {
      const { store } = await open();
      const key = fresh("usd");
      await store.add(key, 0.1, MINUTE);
      expect(await store.add(key, 0.2, MINUTE)).toBe(0.3);
      for (let index = 0; index < 7; index += 1) await store.add(key, 0.1, MINUTE);
      expect(await store.get(key)).toBe(1);
      expect(await store.add(key, 0.0000014, MINUTE)).toBe(1.000001);
      expect(await store.reserve(key, 0.000999, 1.001, MINUTE)).toEqual({ granted: true, value: 1.001 });
      expect((await store.reserve(key, 0.000001, 1.001, MINUTE)).granted).toBe(false);
    });

    it("refuses an amount it cannot count exactly", async () => {
      const { store } = await open();
      await expect(store.add(fresh(), Number.POSITIVE_INFINITY, MINUTE)).rejects.toThrow(RangeError);
      await expect(store.reserve(fresh(), 1, 1e12, MINUTE)).rejects.toThrow(RangeError);
    });

    it("forgets a counter when its window, counted from its first write, has passed", async () => {
      const { store, elapse } = await open();
      const key = fresh();
      await store.add(key, 1, window);
      await elapse(window / 2);
      // A later write does not extend the window: windows are fixed.
      await store.add(key, 1, window);
      expect(await store.get(key)).toBe(2);
      await elapse(window / 2);
      expect(await store.get(key)).toBe(0);
      // The next write opens a new window at 0.
      expect(await store.add(key, 4, window)).toBe(4);
      expect(await store.get(key)).toBe(4);
    });

    it("keeps keys apart, each in its own window", async () => {
      const { store, elapse } = await open();
      const [short, long] = [fresh("short"), fresh("long")];
      await store.add(short, 1, window);
      await store.add(long, 1, MINUTE);
      await elapse(window);
      expect([await store.get(short), await store.get(long)]).toEqual([0, 1]);
    });

    it("keeps apart keys whose parts only look alike once joined", async () => {
      const { store } = await open();
      await store.add(stateKey(`a-${process.pid}:b`, "c"), 1, MINUTE);
      expect(await store.get(stateKey(`a-${process.pid}`, "b:c"))).toBe(0);
      expect(await store.get(stateKey(`a-${process.pid}:b`, "c"))).toBe(1);
    });

    it("reserves only when the whole amount fits under the limit, and leaves the counter alone otherwise", async () => {
      const { store } = await open();
      const key = fresh("budget");
      expect(await store.reserve(key, 60, 100, MINUTE)).toEqual({ granted: true, value: 60 });
      expect(await store.reserve(key, 41, 100, MINUTE)).toEqual({ granted: false, value: 60 });
      expect(await store.get(key)).toBe(60);
      // Exactly at the limit is allowed.
      expect(await store.reserve(key, 40, 100, MINUTE)).toEqual({ granted: true, value: 100 });
      expect(await store.reserve(key, 1, 100, MINUTE)).toEqual({ granted: false, value: 100 });
    });

    it("refuses a first reservation larger than the limit without creating the counter", async () => {
      const { store } = await open();
      const key = fresh();
      expect(await store.reserve(key, 11, 10, MINUTE)).toEqual({ granted: false, value: 0 });
      expect(await store.get(key)).toBe(0);
    });

    it("never lets 200 concurrent reservations together pass the limit", async () => {
      const { store } = await open();
      const key = fresh();
      const results = await Promise.all(
        Array.from({ length: 200 }, () => store.reserve(key, 3, 100, MINUTE)),
      );
      expect(results.filter((result) => result.granted)).toHaveLength(33);
      expect(Math.max(...results.map((result) => result.value))).toBe(99);
      expect(await store.get(key)).toBe(99);

      const dollars = fresh("usd");
      const spent = await Promise.all(
        Array.from({ length: 200 }, () => store.reserve(dollars, 0.01, 1, MINUTE)),
      );
      expect(spent.filter((result) => result.granted)).toHaveLength(100);
      expect(await store.get(dollars)).toBe(1);
    });

    it("adds to several counters in one step, each created with its own window", async () => {
      const { store, elapse } = await open();
      const scope = freshScope();
      const [short, long] = [stateKey(scope, "short"), stateKey(scope, "long")];
      await store.add(long, 2, MINUTE);
      expect(
        await store.addAll([
          { key: short, amount: 0.25, windowMs: window },
          { key: long, amount: -0.5, windowMs: MINUTE },
        ]),
      ).toEqual([0.25, 1.5]);
      expect(await store.addAll([])).toEqual([]);
      await expect(
        store.addAll([
          { key: short, amount: 1, windowMs: window },
          { key: long, amount: Number.NaN, windowMs: MINUTE },
        ]),
      ).rejects.toThrow(RangeError);
      // Nothing of a refused batch was added.
      expect(await store.get(short)).toBe(0.25);
      await elapse(window);
      expect([await store.get(short), await store.get(long)]).toEqual([0, 1.5]);
    });

    it("reserves on several counters all or none: a refusal on one takes nothing from the others", async () => {
      const { store } = await open();
      const scope = freshScope();
      const [requests, dollars] = [stateKey(scope, "requests"), stateKey(scope, "usd")];
      const ask = (usd: number) => [
        { key: requests, amount: 1, limit: 10, windowMs: MINUTE },
        { key: dollars, amount: usd, limit: 1, windowMs: MINUTE },
      ];
      expect(await store.reserveAll(ask(0.75))).toEqual({ granted: true, values: [1, 0.75] });
      // The dollars would pass their limit: the request counter is not touched either.
      expect(await store.reserveAll(ask(0.5))).toEqual({ granted: false, values: [1, 0.75], refusedAt: 1 });
      expect([await store.get(requests), await store.get(dollars)]).toEqual([1, 0.75]);
      expect(await store.reserveAll(ask(0.25))).toEqual({ granted: true, values: [2, 1] });
      // The first counter to refuse is named; nothing is created for a refusal.
      const fresh2 = stateKey(scope, "tokens");
      expect(
        await store.reserveAll([
          { key: fresh2, amount: 5, limit: 100, windowMs: MINUTE },
          { key: requests, amount: 9, limit: 10, windowMs: MINUTE },
        ]),
      ).toEqual({ granted: false, values: [0, 2], refusedAt: 1 });
      expect(await store.get(fresh2)).toBe(0);
      expect(await store.reserveAll([])).toEqual({ granted: true, values: [] });
      await expect(
        store.reserveAll([
          { key: fresh2, amount: 1, limit: 10, windowMs: MINUTE },
          { key: dollars, amount: 1e12, limit: 1e13, windowMs: MINUTE },
        ]),
      ).rejects.toThrow(RangeError);
      expect(await store.get(fresh2)).toBe(0);
      // A key twice would be checked against its limit for each amount alone.
      await expect(
        store.reserveAll([
          { key: fresh2, amount: 6, limit: 10, windowMs: MINUTE },
          { key: fresh2, amount: 6, limit: 10, windowMs: MINUTE },
        ]),
      ).rejects.toThrow(RangeError);
      await expect(store.reserve(fresh2, 1, 10, Number.NaN)).rejects.toThrow(RangeError);
      expect(await store.get(fresh2)).toBe(0);
    });

    it("never lets 200 concurrent multi-counter reservations pass any limit, nor refuse one that fits", async () => {
      const { store } = await open();
      const scope = freshScope();
      const [requests, dollars] = [stateKey(scope, "requests"), stateKey(scope, "usd")];
      // Requests run out after 50; dollars would allow 100.
      const results = await Promise.all(
        Array.from({ length: 200 }, () =>
          store.reserveAll([
            { key: requests, amount: 1, limit: 50, windowMs: MINUTE },
            { key: dollars, amount: 0.01, limit: 1, windowMs: MINUTE },
          ]),
        ),
      );
      // Exactly the 50 that fit, every refusal named on requests, and the dollars holding the 50
      // granted calls' amounts and nothing of the 150 refused.
      expect(results.filter((result) => result.granted)).toHaveLength(50);
      expect(results.filter((result) => !result.granted).every((result) => result.refusedAt === 0)).toBe(
        true,
      );
      expect([await store.get(requests), await store.get(dollars)]).toEqual([50, 0.5]);
    });

    it("reserves again once the window has expired", async () => {
      const { store, elapse } = await open();
      const key = fresh();
      await store.reserve(key, 10, 10, window);
      expect((await store.reserve(key, 1, 10, window)).granted).toBe(false);
      await elapse(window);
      expect(await store.reserve(key, 1, 10, window)).toEqual({ granted: true, value: 1 });
    });

    it("raises a value to the larger of the two, and never lowers it", async () => {
      const { store } = await open();
      const key = fresh("until");
      // An epoch time in seconds to the millisecond, as shared breaker state keeps it.
      expect(await store.raise(key, 1_795_000_000.123, MINUTE)).toBe(1_795_000_000.123);
      expect(await store.raise(key, 1_795_000_000.122, MINUTE)).toBe(1_795_000_000.123);
      expect(await store.raise(key, 1_795_000_001.5, MINUTE)).toBe(1_795_000_001.5);
      expect(await store.get(key)).toBe(1_795_000_001.5);
      await expect(store.raise(key, Number.POSITIVE_INFINITY, MINUTE)).rejects.toThrow(RangeError);
    });

    it("keeps a raised key for the longest window any raise asked for, counted from that raise", async () => {
      const { store, elapse } = await open();
      const key = fresh("until");
      await store.raise(key, 1, window);
      await elapse(window / 2);
      // Unlike add, a later raise moves the expiry: its period ends later than the first one's.
      await store.raise(key, 1, window);
      // A shorter window never cuts a longer one short.
      await store.raise(key, 2, 1);
      await elapse(window / 2);
      expect(await store.get(key)).toBe(2);
      await elapse(window / 2);
      expect(await store.get(key)).toBe(0);
    });
  });
}
