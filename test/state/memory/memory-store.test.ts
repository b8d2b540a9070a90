import { describe, expect, it } from "vitest";
import { createMemoryStore } from "../../../src/state/memory/memory-store.js";
import { stateKey } from "../../../src/state/store.js";
import { createFakeClock } from "../../helpers/fake-clock.js";
import { describeStateStore } from "../../helpers/state-store-spec.js";

const MINUTE = 60_000;

describeStateStore(
  "createMemoryStore (as a StateStore)",
  () => {
    const clock = createFakeClock();
    return { store: createMemoryStore({ clock }), elapse: (ms) => clock.advance(ms) };
  },
  { window: 1000 },
);

describe("createMemoryStore", () => {
  it("drops expired counters in its sweep without changing any live value", async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock, sweepEvery: 2 });
    const [old, young] = [stateKey("t", "old"), stateKey("t", "new")];
    await store.add(old, 1, 1000);
    await clock.advance(1000);
    await store.add(young, 1, MINUTE);
    await store.add(young, 1, MINUTE);
    expect([await store.get(old), await store.get(young)]).toEqual([0, 2]);
  });

  it("is empty after close", async () => {
    const store = createMemoryStore({ clock: createFakeClock() });
    const key = stateKey("t", "k");
    await store.add(key, 1, MINUTE);
    await store.close();
    expect(await store.get(key)).toBe(0);
  });
});
