import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../../src/state/memory/memory-store.js";
import { createFakeClock } from "../../helpers/fake-clock.js";

const MINUTE = 60_000;

describe("createMemoryStore", () => {
  it("reads 0 for a key never written", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    expect(await store.get("nothing")).toBe(0);
  });

  it("adds to a counter and returns the new value, going negative when told to", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    expect(await store.add("k", 5, MINUTE)).toBe(5);
    expect(await store.add("k", -8, MINUTE)).toBe(-3);
    expect(await store.get("k")).toBe(-3);
  });

  it("forgets a counter when its window, counted from its first write, has passed", async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock });
    await store.add("k", 1, MINUTE);
    await clock.advance(MINUTE - 1);
    // A later write does not extend the window: windows are fixed.
    await store.add("k", 1, MINUTE);
    expect(await store.get("k")).toBe(2);
    await clock.advance(1);
    expect(await store.get("k")).toBe(0);
    // The next write opens a new window at 0.
    expect(await store.add("k", 4, MINUTE)).toBe(4);
    await clock.advance(MINUTE - 1);
    expect(await store.get("k")).toBe(4);
  });

  it("keeps keys apart, each in its own window", async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock });
    await store.add("short", 1, 1000);
    await store.add("long", 1, MINUTE);
    await clock.advance(1000);
    expect([await store.get("short"), await store.get("long")]).toEqual([0, 1]);
  });

  it("reserves only when the whole amount fits under the limit, and leaves the counter alone otherwise", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    expect(await store.reserve("budget", 60, 100, MINUTE)).toEqual({ granted: true, value: 60 });
    expect(await store.reserve("budget", 41, 100, MINUTE)).toEqual({ granted: false, value: 60 });
    expect(await store.get("budget")).toBe(60);
    // Exactly at the limit is allowed.
    expect(await store.reserve("budget", 40, 100, MINUTE)).toEqual({ granted: true, value: 100 });
    expect(await store.reserve("budget", 1, 100, MINUTE)).toEqual({ granted: false, value: 100 });
  });

  it("never lets concurrent reservations together pass the limit", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.reserve("k", 3, 10, MINUTE)));
    expect(results.filter((result) => result.granted)).toHaveLength(3);
    expect(await store.get("k")).toBe(9);
  });

  it("reserves again once the window has expired", async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock });
    await store.reserve("k", 10, 10, MINUTE);
    expect((await store.reserve("k", 1, 10, MINUTE)).granted).toBe(false);
    await clock.advance(MINUTE);
    expect(await store.reserve("k", 1, 10, MINUTE)).toEqual({ granted: true, value: 1 });
  });

  it("drops expired counters in its sweep without changing any live value", async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock, sweepEvery: 2 });
    await store.add("old", 1, 1000);
    await clock.advance(1000);
    await store.add("new", 1, MINUTE);
    await store.add("new", 1, MINUTE);
    expect([await store.get("old"), await store.get("new")]).toEqual([0, 2]);
  });

  it("is empty after close", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    await store.add("k", 1, MINUTE);
    await store.close();
    expect(await store.get("k")).toBe(0);
  });
});
