import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore } from "../../src/config/policy-store.js";
import type { StreamEvent } from "../../src/core/types.js";
import type { CallScope, CallState, Step, StepName, StepObserver } from "../../src/pipeline/call-state.js";
import { conduct } from "../../src/pipeline/conductor.js";
import { createPipeline } from "../../src/pipeline/pipeline.js";
import { createDecisionLog } from "../../src/record/decision-log.js";
import { createMemoryStore } from "../../src/state/memory/memory-store.js";
import { collect, rejectionOf } from "../helpers/async.js";
import { createFakeClock, type FakeClock } from "../helpers/fake-clock.js";
import { call, request } from "../helpers/pipeline.js";
import { createScriptedAdapter } from "../helpers/scripted-adapter.js";

const POLICY = parsePolicy(
  `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m }
`,
  { source: "conductor.test.yaml", env: {} },
);

/** Observer lines: "start:identify", "end:identify:0ms", "end:execute:5ms:error". */
function recordingObserver(): StepObserver & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    stepStarted(step) {
      seen.push(`start:${step}`);
    },
    stepEnded(step, _scope, outcome) {
      seen.push(`end:${step}:${outcome.durationMs}ms${outcome.error === undefined ? "" : ":error"}`);
    },
  };
}

/** A logger whose lines are kept, parsed. */
function keptLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino(sink), lines };
}

function callFor(options: { dryRun?: boolean } = {}) {
  const clock = createFakeClock();
  const observer = recordingObserver();
  const { logger, lines } = keptLogger();
  const scope: CallScope = {
    call: call(),
    clock,
    logger,
    lease: createPolicyStore(POLICY, () => createScriptedAdapter()).acquire(),
    store: createMemoryStore({ clock }),
    observer,
    dryRun: options.dryRun ?? false,
    deliver: true,
  };
  const state: CallState = { request: request(), consumed: [], abandoned: false };
  return { clock, observer, lines, scope, state };
}

const delta = (content: string): StreamEvent => ({ type: "delta", content, toolCalls: [] });

/** A step that notes in `ran` that it ran; `does` is what it does besides. */
function step(
  name: StepName,
  ran: string[],
  options: { effects?: boolean; always?: boolean; does?: (state: CallState) => void | Promise<void> } = {},
): Step {
  return {
    name,
    effects: options.effects ?? false,
    ...(options.always && { always: true }),
    async run(state) {
      ran.push(name);
      await options.does?.(state);
    },
  };
}

/** A step that yields `events`, moving the clock `ms` before each. */
function streaming(
  name: StepName,
  clock: FakeClock,
  events: StreamEvent[],
  ms = 0,
  closed?: { value: boolean },
) {
  return {
    name,
    effects: true,
    async *run() {
      try {
        for (const event of events) {
          await clock.advance(ms);
          yield event;
        }
      } finally {
        if (closed) closed.value = true;
      }
    },
  } satisfies Step;
}

describe("conduct", () => {
  it("runs the steps in order, telling the observer before and after each, with durations from the clock", async () => {
    const { clock, observer, scope, state } = callFor();
    const ran: string[] = [];
    const steps: Step[] = [
      { name: "identify", effects: false, run: () => void ran.push("identify") },
      step("classify", ran, { does: () => clock.advance(25) }),
      streaming("execute", clock, [delta("a"), delta("b")], 5),
      step("settle", ran, { effects: true, always: true }),
    ];
    const events = await collect(conduct(steps, state, scope));

    expect(events).toEqual([delta("a"), delta("b")]);
    expect(ran).toEqual(["identify", "classify", "settle"]);
    expect(observer.seen).toEqual([
      "start:identify",
      "end:identify:0ms",
      "start:classify",
      "end:classify:25ms",
      "start:execute",
      "end:execute:10ms",
      "start:settle",
      "end:settle:0ms",
    ]);
    expect(state).toMatchObject({ abandoned: false });
    expect(state.failure).toBeUndefined();
  });

  it("skips the steps with effects in a dry run, those marked always included", async () => {
    const { observer, scope, state } = callFor({ dryRun: true });
    const ran: string[] = [];
    await collect(
      conduct(
        [
          step("identify", ran),
          step("admit", ran),
          step("execute", ran, { effects: true }),
          step("settle", ran, { effects: true, always: true }),
          step("record", ran, { effects: true, always: true }),
        ],
        state,
        scope,
      ),
    );
    expect(ran).toEqual(["identify", "admit"]);
    expect(observer.seen.filter((line) => line.startsWith("start:"))).toEqual([
      "start:identify",
      "start:admit",
    ]);
  });

  it("after a step throws, still runs the always steps (which see the failure), then rethrows it", async () => {
    const { observer, scope, state } = callFor();
    const ran: string[] = [];
    const boom = new Error("boom");
    let seenBySettle: unknown;
    const error = await rejectionOf(() =>
      collect(
        conduct(
          [
            step("identify", ran),
            step("decide", ran, {
              does: () => {
                throw boom;
              },
            }),
            step("execute", ran, { effects: true }),
            step("settle", ran, {
              effects: true,
              always: true,
              does: (seen) => {
                seenBySettle = seen.failure;
              },
            }),
            step("record", ran, { effects: true, always: true }),
          ],
          state,
          scope,
        ),
      ),
    );

    expect(error).toBe(boom);
    expect(ran).toEqual(["identify", "decide", "settle", "record"]);
    expect(state.failure).toBe(boom);
    expect(seenBySettle).toBe(boom);
    expect(state.abandoned).toBe(false);
    expect(observer.seen).toContain("end:decide:0ms:error");
    expect(observer.seen.slice(-4)).toEqual([
      "start:settle",
      "end:settle:0ms",
      "start:record",
      "end:record:0ms",
    ]);
  });

  it("runs the always steps when the caller abandons the stream, and marks the call abandoned", async () => {
    const { scope, state } = callFor();
    const ran: string[] = [];
    const closed = { value: false };
    const received: StreamEvent[] = [];
    for await (const event of conduct(
      [
        streaming("execute", scope.clock as FakeClock, [delta("a"), delta("b")], 0, closed),
        step("classify", ran),
        step("settle", ran, { effects: true, always: true }),
        step("record", ran, { effects: true, always: true }),
      ],
      state,
      scope,
    )) {
      received.push(event);
      break;
    }

    expect(received).toEqual([delta("a")]);
    expect(closed.value).toBe(true);
    expect(ran).toEqual(["settle", "record"]);
    expect(state.abandoned).toBe(true);
    expect(state.failure).toBeUndefined();
  });

  it("logs an error inside an always step, runs the next one, and rethrows the call's own failure", async () => {
    const { observer, lines, scope, state } = callFor();
    const ran: string[] = [];
    const boom = new Error("boom");
    const error = await rejectionOf(() =>
      collect(
        conduct(
          [
            step("execute", ran, {
              effects: true,
              does: () => {
                throw boom;
              },
            }),
            step("settle", ran, {
              effects: true,
              always: true,
              does: () => {
                throw new Error("settle broke");
              },
            }),
            step("record", ran, { effects: true, always: true }),
          ],
          state,
          scope,
        ),
      ),
    );

    expect(error).toBe(boom);
    expect(ran).toEqual(["execute", "settle", "record"]);
    expect(observer.seen).toContain("end:settle:0ms:error");
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "step failed",
        step: "settle",
        traceId: scope.call.traceId,
        err: expect.objectContaining({ message: "settle broke" }),
      }),
    ]);
  });

  it("does not raise an always step's error after an abandoned stream", async () => {
    const { lines, scope, state } = callFor();
    const generator = conduct(
      [
        streaming("execute", scope.clock as FakeClock, [delta("a"), delta("b")]),
        step("record", [], {
          effects: true,
          always: true,
          does: () => {
            throw new Error("record broke");
          },
        }),
      ],
      state,
      scope,
    );
    await generator.next();
    await expect(generator.return()).resolves.toEqual({ done: true, value: undefined });
    expect(state.abandoned).toBe(true);
    expect(lines.map((line) => line.step)).toEqual(["record"]);
  });
});

describe("pipeline.classify (a dry run)", () => {
  it("runs only identify, classify, decide, guard and admit, and sends or records nothing", async () => {
    const built: string[] = [];
    const policies = createPolicyStore(POLICY, (provider) => {
      built.push(provider.name);
      return createScriptedAdapter();
    });
    const decisions = createDecisionLog();
    const observer = recordingObserver();
    const clock = createFakeClock();
    const pipeline = createPipeline({
      policies,
      decisions,
      store: createMemoryStore({ clock }),
      logger: pino({ level: "silent" }),
      clock,
      observers: [observer],
    });
    const result = await pipeline.classify(request({ task: "chat" }), call());

    expect(observer.seen.filter((line) => line.startsWith("start:"))).toEqual([
      "start:identify",
      "start:classify",
      "start:decide",
      "start:guard",
      "start:admit",
    ]);
    expect(result.decision).toMatchObject({ route: "r", target: "local/m", dryRun: true, attempts: [] });
    expect(decisions.size).toBe(0);
    expect(built).toEqual([]);
  });
});

describe("pipeline.route", () => {
  it("runs all eight steps in order, each told to every observer", async () => {
    const adapter = createScriptedAdapter();
    const first = recordingObserver();
    const second = recordingObserver();
    const clock = createFakeClock();
    const pipeline = createPipeline({
      policies: createPolicyStore(POLICY, () => adapter),
      decisions: createDecisionLog(),
      store: createMemoryStore({ clock }),
      logger: pino({ level: "silent" }),
      clock,
      observers: [first, second],
    });
    const answered = pipeline.route(request(), call());
    const upstream = await adapter.next();
    upstream.say("hi");
    upstream.finish();
    expect((await answered).message.content).toBe("hi");

    const started = ["identify", "classify", "decide", "guard", "admit", "execute", "settle", "record"].map(
      (name) => `start:${name}`,
    );
    expect(first.seen.filter((line) => line.startsWith("start:"))).toEqual(started);
    expect(second.seen).toEqual(first.seen);
  });
});
