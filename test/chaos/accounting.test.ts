import { afterEach, describe, expect, it } from "vitest";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";
import { always, type Chaos, startChaos, streamed } from "../helpers/chaos.js";
import { userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

/** Priced models: the primary at 1/1 USD per million tokens, the fallback at 2 in and 8 out. */
const start = () =>
  startChaos(
    ["primary", "fallback"],
    (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { max_attempts: 1 }
`,
    {
      models: {
        primary: "{ m1: { input_usd_per_mtok: 1, output_usd_per_mtok: 1 } }",
        fallback: "{ m2: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 } }",
      },
    },
  );

const CHAT = userRequest("What is the capital of France?", { task: "chat" });
const FALLBACK_USAGE = { prompt_tokens: 11, completion_tokens: 7 };
/** 11 × 2 + 7 × 8 microdollars. */
const FALLBACK_COST = 0.000078;

describe("what a call that failed over is charged", () => {
  it("Route: the usage and target of the fallback that answered; the failed attempt carries none", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, { type: "error", status: 503 });
    fallback.script({ type: "reply", content: "Paris.", usage: FALLBACK_USAGE });

    const answer = await chaos.router.route(CHAT);
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.usage).toMatchObject({ inputTokens: 11, outputTokens: 7, estimated: false });
    expect(answer.usage?.costUsd).toBeCloseTo(FALLBACK_COST, 12);
    expect(answer.decision?.costUsd).toBeCloseTo(FALLBACK_COST, 12);
    const [failed, served] = answer.decision?.attempts ?? [];
    expect(failed).toMatchObject({ target: "primary/m1", outcome: AttemptOutcome.FAILED });
    // Failed before the provider answered anything: no tokens, no cost.
    expect(failed?.usage).toBeUndefined();
    expect(served).toMatchObject({
      target: "fallback/m2",
      outcome: AttemptOutcome.SUCCEEDED,
      usage: { inputTokens: 11, outputTokens: 7, estimated: false },
    });
    expect(served?.usage?.costUsd).toBeCloseTo(FALLBACK_COST, 12);
  });

  it("Stream: the done event carries the fallback's usage and the decision names it", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, { type: "error", status: 503 });
    fallback.script({ type: "reply", content: "Paris.", usage: FALLBACK_USAGE });

    const { events, error } = await streamed(chaos.router.stream(CHAT));
    expect(error).toBeUndefined();
    const done = events.at(-1)?.event;
    expect(done?.case).toBe("done");
    if (done?.case !== "done") return;
    expect(done.value.usage).toMatchObject({ inputTokens: 11, outputTokens: 7, estimated: false });
    expect(done.value.usage?.costUsd).toBeCloseTo(FALLBACK_COST, 12);
    expect(done.value.decision?.target).toBe("fallback/m2");
    expect(done.value.decision?.attempts[0]?.usage).toBeUndefined();
  });

  it("a primary cut off mid-answer is priced too (estimated); the answer's usage stays the fallback's", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    primary.script({ type: "reply", content: "Paris is the capital of France.", dropAfterTokens: 3 });
    fallback.script({ type: "reply", content: "Paris.", usage: FALLBACK_USAGE });

    const answer = await chaos.router.route(CHAT);
    expect(answer.message?.content).toBe("Paris.");
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.usage).toMatchObject({ inputTokens: 11, outputTokens: 7, estimated: false });
    const [cut, served] = answer.decision?.attempts ?? [];
    expect(cut).toMatchObject({
      target: "primary/m1",
      outcome: AttemptOutcome.FAILED,
      errorClass: ErrorClass.SERVER,
      usage: { estimated: true },
    });
    expect(cut?.usage?.outputTokens).toBeGreaterThan(0);
    const cutCost = cut?.usage?.costUsd ?? 0;
    expect(cutCost).toBeGreaterThan(0);
    expect(served?.usage?.costUsd).toBeCloseTo(FALLBACK_COST, 12);
    // The call's cost is every attempt's: what was read from the primary was paid for.
    expect(answer.decision?.costUsd).toBeCloseTo(FALLBACK_COST + cutCost, 12);
    expect(answer.usage?.costUsd).toBeCloseTo(FALLBACK_COST + cutCost, 12);
  });
});
