// Preloaded into the Switchyard under test by bench/failover.mjs (`node --import`): measures how
// late its event loop runs, which on a busy box is what sets the p99 of a call (a hedge timer
// that fires late, an answer read late). Switchyard's code is untouched. On SIGUSR2 it writes one
// JSON line to stderr, {"msg":"bench-loop-delay","p50Ms":…,"p99Ms":…,"maxMs":…,"samples":N},
// and starts over. Delays are how much later than its 10 ms interval a timer ran (time-sampled:
// p99 is "1 % of the time the loop was at least this late").
import { monitorEventLoopDelay } from "node:perf_hooks";

const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

const late = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

process.on("SIGUSR2", () => {
  const line = {
    msg: "bench-loop-delay",
    p50Ms: late(histogram.percentile(50)),
    p99Ms: late(histogram.percentile(99)),
    maxMs: late(histogram.max),
    samples: histogram.count,
  };
  histogram.reset();
  process.stderr.write(`${JSON.stringify(line)}\n`);
});
