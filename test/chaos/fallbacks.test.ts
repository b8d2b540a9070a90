import { afterEach, describe, expect, it } from "vitest";
import { AttemptOutcome, ErrorClass, FinishReason } from "../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REPLY } from "../fakes/fake-openai-server.js";
import { always, type Chaos, settlesWithin, startChaos, streamed } from "../helpers/chaos.js";
import { userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback" | "cheap"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

const CHAT = userRequest("hello", { task: "chat" });
const FIXED_ANSWER = "The assistant is unavailable right now; please try again in a few minutes.";

describe("the degrade ladder", () => {
  const start = () =>
    startChaos(
      ["primary", "fallback", "cheap"],
      (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { max_attempts: 1 }
    degrade:
      target: { provider: cheap, model: m3 }
      answer: "${FIXED_ANSWER}"
`,
    );

  it("every target down: the degrade target answers; that down too: the fixed answer", async () => {
    chaos = await start();
    const { primary, fallback, cheap } = chaos.fakes;
    always(primary, { type: "error", status: 503 });
    always(fallback, { type: "error", status: 500 });

    const degraded = await chaos.router.route(CHAT);
    expect(degraded.message?.content).toBe(DEFAULT_REPLY);
    expect(degraded.decision).toMatchObject({
      target: "cheap/m3",
      degraded: true,
      degradeRung: "target cheap/m3",
    });
    expect(degraded.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.OVERLOADED },
      { target: "fallback/m2", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.SERVER },
      { target: "cheap/m3", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(cheap.requests).toHaveLength(1);

    always(cheap, { type: "error", status: 503 });
    const fixed = await chaos.router.route(CHAT);
    expect(fixed.message?.content).toBe(FIXED_ANSWER);
    expect(fixed.finishReason).toBe(FinishReason.DEGRADED);
    expect(fixed.decision).toMatchObject({ target: "", degraded: true, degradeRung: "answer" });
    expect(fixed.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED },
      { target: "fallback/m2", outcome: AttemptOutcome.FAILED },
      { target: "cheap/m3", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.OVERLOADED },
    ]);
    expect(primary.requests).toHaveLength(2);
    expect(fallback.requests).toHaveLength(2);
    expect(cheap.requests).toHaveLength(2);
  });

  it("the fixed answer reaches a Stream caller too, with a clean end", async () => {
    chaos = await start();
    for (const fake of Object.values(chaos.fakes)) always(fake, { type: "error", status: 503 });

    const { events, error } = await streamed(chaos.router.stream(CHAT));
    expect(error).toBeUndefined();
    const done = events.at(-1)?.event;
    expect(done?.case).toBe("done");
    if (done?.case !== "done") return;
    expect(done.value.finishReason).toBe(FinishReason.DEGRADED);
    expect(done.value.decision).toMatchObject({ degraded: true, degradeRung: "answer" });
  });
});

describe("hedging", () => {
  const start = () =>
    startChaos(
      ["primary", "fallback", "cheap"],
      (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    hedge: { after_ms: 50 }
  - name: warm
    match: { task: warm }
    primary: { provider: fallback, model: m2 }
`,
    );

  it("a slow primary gets the fallback started beside it; the first to answer wins and the other is closed", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    // Warm both paths (connections, code) so the timing below measures the hedge, not a cold start.
    await chaos.router.route(CHAT);
    await chaos.router.route(userRequest("hello", { task: "warm" }));
    primary.reset();
    fallback.reset();
    primary.script({ type: "reply", content: "too late", firstByteDelayMs: 500 });
    fallback.script({ type: "reply", content: "Paris." });

    const started = performance.now();
    const answer = await chaos.router.route(CHAT);
    const elapsed = performance.now() - started;
    expect(answer.message?.content).toBe("Paris.");
    expect(elapsed).toBeLessThan(400);
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.CANCELLED,
        errorClass: ErrorClass.CANCELLED,
        hedge: false,
        message: "hedge: fallback/m2 answered first; the upstream request was aborted",
      },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED, hedge: true },
    ]);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
    // The fallback was started after the hedge delay, not with the primary.
    const [slow] = primary.requests;
    const [hedge] = fallback.requests;
    expect((hedge?.receivedAt ?? 0) - (slow?.receivedAt ?? 0)).toBeGreaterThanOrEqual(40);
    // The loser's upstream request was closed, long before its 500 ms were up.
    expect(await settlesWithin(slow?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(slow?.closedBeforeResponseEnd).toBe(true);
    expect((slow?.socketClosedAt ?? Number.POSITIVE_INFINITY) - (slow?.receivedAt ?? 0)).toBeLessThan(450);
  });
});
