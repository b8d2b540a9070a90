import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { BudgetStep } from "../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REPLY } from "../fakes/fake-openai-server.js";
import {
  type Chaos,
  decisionOf,
  deliveredText,
  settlesWithin,
  startChaos,
  streamed,
} from "../helpers/chaos.js";
import { eventCases, userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

/** `chat`: primary then fallback; a 200 ms bound on each silence once an answer has begun. */
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
    budgets: { first_token_ms: 1000, max_token_gap_ms: 200, max_latency_ms: 5000 }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
`,
  );

const CHAT = userRequest("What is the capital of France?", { task: "chat" });
const ANSWER = "Paris is the capital of France.";

const cuts = [
  {
    name: "a stream cut mid-answer (connection reset after three tokens)",
    script: { type: "reply", content: ANSWER, dropAfterTokens: 3 },
    code: Code.Unavailable,
    errorClass: ErrorClass.SERVER,
    message: /^upstream connection lost mid-response \(/,
  },
  {
    name: "a stream stalled mid-answer (silent after three tokens)",
    script: { type: "reply", content: ANSWER, hangAfterTokens: 3 },
    code: Code.DeadlineExceeded,
    errorClass: ErrorClass.TIMEOUT,
    message: /^no token within max_token_gap_ms=200$/,
  },
] as const;

describe.each(cuts)("$name", ({ script, code, errorClass, message }) => {
  it("on Stream: the caller gets the delivered deltas, then an error status, never a clean end", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    primary.script(script);

    const { events, error } = await streamed(chaos.router.stream(CHAT));
    expect(deliveredText(events)).toBe("Paris is the");
    expect(eventCases(events)).not.toContain("done");
    expect(error?.code).toBe(code);
    expect(error?.rawMessage).toContain("the stream from primary/m1 failed after it had started");
    expect(error?.rawMessage).toContain("it is not restarted on another model");

    const decision = error && decisionOf(error);
    expect(decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass, retry: 0 },
    ]);
    const [cut] = decision?.attempts ?? [];
    expect(cut?.message).toMatch(message);
    // What was delivered is accounted for: estimated from the text, since the provider never said.
    expect(cut?.usage).toMatchObject({ estimated: true });
    expect(cut?.usage?.outputTokens).toBeGreaterThan(0);
    // Not restarted, neither on the same target nor on the fallback.
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(0);
    expect(await settlesWithin(primary.requests[0]?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(primary.requests[0]?.closedBeforeResponseEnd).toBe(true);
  });

  it("on Route: nothing reached the caller, so the fallback answers", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    primary.script(script);

    const answer = await chaos.router.route(CHAT);
    expect(answer.message?.content).toBe(DEFAULT_REPLY);
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass, retry: 0 },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED, retry: 0 },
    ]);
    expect(answer.decision?.attempts[0]?.message).toMatch(message);
    // A started answer is not tried again on its target.
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
  });
});

describe("a stream stalled mid-answer", () => {
  it("on Stream: says which budget ran out before the error", async () => {
    chaos = await start();
    chaos.fakes.primary.script({ type: "reply", content: ANSWER, hangAfterTokens: 3 });

    const { events } = await streamed(chaos.router.stream(CHAT));
    const exceeded = events.flatMap((event) =>
      event.event.case === "budget" && event.event.value.exceeded ? [event.event.value] : [],
    );
    expect(exceeded).toMatchObject([{ step: BudgetStep.TOKEN_GAP, limitMs: 200 }]);
    expect(exceeded[0]?.elapsedMs).toBeGreaterThanOrEqual(190);
  });
});
