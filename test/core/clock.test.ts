import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/core/clock.js";

describe("systemClock", () => {
  it("never fires a timer before now() has reached its delay (Node's timers may run a hair early)", async () => {
    const shortfalls = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) =>
          new Promise<number>((resolve) => {
            const ms = 1 + (i % 7);
            const started = systemClock.now();
            systemClock.startTimer(ms, () => resolve(Math.max(0, ms - (systemClock.now() - started))));
          }),
      ),
    );
    expect(shortfalls.filter((shortfall) => shortfall > 0)).toEqual([]);
  });

  it("restarts its delay from now", async () => {
    const started = systemClock.now();
    let firedAt = 0;
    const fired = new Promise<void>((resolve) => {
      const timer = systemClock.startTimer(20, () => {
        firedAt = systemClock.now();
        resolve();
      });
      setTimeout(() => timer.restart(), 10);
    });
    await fired;
    expect(firedAt - started).toBeGreaterThanOrEqual(30);
  });
});
