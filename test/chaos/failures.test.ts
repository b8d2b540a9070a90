import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { BreakerState } from "../../gen/switchyard/v1/admin_pb.js";
import { AttemptOutcome, ErrorClass } from "../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REPLY } from "../fakes/fake-openai-server.js";
import {
  always,
  type Chaos,
  decisionOf,
  deliveredText,
  failedRoute,
  NEVER_ANSWERS,
  RESET_BEFORE_HEADERS,
  settlesWithin,
  startChaos,
  streamed,
  targetStatus,
} from "../helpers/chaos.js";
import { eventCases, userRequest } from "../helpers/rpc.js";

let chaos: Chaos<"primary" | "fallback"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

/**
 * Primary then fallback, two attempts per target, on every route: `chat` with 5 s in all,
 * `silent` with a 300 ms first-token budget, `split` with no budget of its own (the caller's
 * deadline). Breakers trip after two failures in a row (the request-caused failures below must not).
 */
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
    budgets: { max_latency_ms: 5000 }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
  - name: silent
    match: { task: silent }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    budgets: { first_token_ms: 300, max_latency_ms: 5000 }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
  - name: split
    match: { task: split }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
`,
    { breaker: "{ consecutive_failures: 2, open_ms: 60000 }" },
  );

const CHAT = userRequest("hello", { task: "chat" });

describe("a 500 once, then healthy", () => {
  it("is retried once on the same target, which answers; the fallback is not asked", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    primary.script({ type: "error", status: 500 });

    const answer = await chaos.router.route(CHAT);
    expect(answer.message?.content).toBe(DEFAULT_REPLY);
    expect(answer.decision?.target).toBe("primary/m1");
    expect(answer.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.SERVER,
        retryable: true,
        retry: 0,
        message: "upstream returned HTTP 500 (server_error)",
      },
      { target: "primary/m1", outcome: AttemptOutcome.SUCCEEDED, retry: 1 },
    ]);
    expect(primary.requests).toHaveLength(2);
    expect(fallback.requests).toHaveLength(0);
  });
});

describe("a connection reset before the response headers", () => {
  it("is a connect failure: retried on the same target, then the fallback answers", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, RESET_BEFORE_HEADERS);

    const answer = await chaos.router.route(CHAT);
    expect(answer.message?.content).toBe(DEFAULT_REPLY);
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.CONNECT, retry: 0 },
      { target: "primary/m1", outcome: AttemptOutcome.FAILED, errorClass: ErrorClass.CONNECT, retry: 1 },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED, retry: 0 },
    ]);
    expect(answer.decision?.attempts[0]?.message).toMatch(/^could not reach upstream \(/);
    expect(primary.requests).toHaveLength(2);
    expect(fallback.requests).toHaveLength(1);
  });
});

describe("a provider that accepts the request and never answers", () => {
  it("fails over at the first-token budget, without a retry on the same target", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, NEVER_ANSWERS);

    const started = performance.now();
    const answer = await chaos.router.route(userRequest("hello", { task: "silent" }));
    const elapsed = performance.now() - started;
    expect(answer.message?.content).toBe(DEFAULT_REPLY);
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1500);
    expect(answer.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.TIMEOUT,
        retryable: true,
        budgetMs: 300,
        retry: 0,
        message: "no first token within first_token_ms=300",
      },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED, budgetMs: 300 },
    ]);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
    // The silent request was given up: its connection is closed, not left hanging.
    const [hung] = primary.requests;
    expect(await settlesWithin(hung?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(hung?.closedBeforeResponseEnd).toBe(true);
  });

  it("with only the caller's deadline: each target gets an even share of it to its first token", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, NEVER_ANSWERS);

    const answer = await chaos.router.route(userRequest("hello", { task: "split" }), { timeoutMs: 1000 });
    expect(answer.message?.content).toBe(DEFAULT_REPLY);
    const [silent, served] = answer.decision?.attempts ?? [];
    expect(silent).toMatchObject({ target: "primary/m1", errorClass: ErrorClass.TIMEOUT });
    expect(silent?.message).toMatch(
      /^no first token within this attempt's \d+ ms share of the call's deadline$/,
    );
    // Half of what was left of 1000 ms when the primary was tried (the fallback, last, gets the rest).
    expect(silent?.budgetMs).toBeGreaterThan(400);
    expect(silent?.budgetMs).toBeLessThanOrEqual(500);
    expect(served).toMatchObject({ target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED });
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
  });

  it("the last target's budget is what was left of the deadline, and the decision says so (not 0, unbounded)", async () => {
    chaos = await start();
    const { primary } = chaos.fakes;
    always(primary, NEVER_ANSWERS);

    const answer = await chaos.router.route(userRequest("hello", { task: "split" }), { timeoutMs: 1000 });
    const [silent, served] = answer.decision?.attempts ?? [];
    expect(served).toMatchObject({ target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED });
    // Attempt.budget_ms: "the tighter of the route's first_token_ms and its share of what was
    // left of the call's deadline. 0: unbounded". The last target's share is all that was left.
    expect(served?.budgetMs).toBeGreaterThan(0);
    expect(served?.budgetMs).toBeLessThanOrEqual(1000 - (silent?.budgetMs ?? 0));
  });
});

describe("a malformed chunk in the event stream", () => {
  it("is never taken for an answer: a protocol failure, not retried on the same target, and the fallback serves", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, {
      type: "raw",
      contentType: "text/event-stream; charset=utf-8",
      body: "data: this is not json\n\ndata: [DONE]\n\n",
    });

    const answer = await chaos.router.route(CHAT);
    expect(answer.decision?.target).toBe("fallback/m2");
    expect(answer.decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.PROTOCOL,
        message: "upstream stream chunk is not JSON",
        retryable: true,
      },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    // The same server would answer the same way: not retried. Nothing reached the caller: the
    // fallback may serve (a malformed answer is the upstream misbehaving, like a 5xx).
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
  });

  it("after a first token on Stream: the caller keeps the token, then an error status", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    const chunk = (content: string) =>
      `data: ${JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        created: 1,
        model: "m1",
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
      })}\n\n`;
    always(primary, {
      type: "raw",
      contentType: "text/event-stream; charset=utf-8",
      body: `${chunk("Paris")}${chunk(" is")}data: {"choices": [oops\n\ndata: [DONE]\n\n`,
    });

    const { events, error } = await streamed(chaos.router.stream(CHAT));
    expect(eventCases(events)).not.toContain("done");
    expect(deliveredText(events)).toBe("Paris is");
    expect(error?.code).toBe(Code.Unavailable);
    const decision = error && decisionOf(error);
    expect(decision?.attempts).toMatchObject([
      {
        target: "primary/m1",
        outcome: AttemptOutcome.FAILED,
        errorClass: ErrorClass.PROTOCOL,
        message: "upstream stream chunk is not JSON",
      },
    ]);
    expect(primary.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(0);
  });
});

describe("failures the request causes", () => {
  it("context length exceeded: not retried, not failed over, INVALID_ARGUMENT, and no mark against the target", async () => {
    chaos = await start();
    const { primary, fallback } = chaos.fakes;
    always(primary, {
      type: "error",
      status: 400,
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    });

    for (let i = 0; i < 3; i += 1) {
      const { error, decision } = await failedRoute(chaos.router.route(CHAT));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("invalid_request_error/context_length_exceeded");
      expect(decision.attempts).toMatchObject([
        {
          target: "primary/m1",
          outcome: AttemptOutcome.FAILED,
          errorClass: ErrorClass.CONTEXT_LENGTH,
          retryable: false,
        },
      ]);
      // The upstream's text (which may quote the prompt) is not passed on.
      expect(error.rawMessage).not.toContain("130000");
    }
    expect(primary.requests).toHaveLength(3);
    expect(fallback.requests).toHaveLength(0);
    // Three failures in a row with a breaker that trips at two: the request was at fault, not the target.
    expect((await targetStatus(chaos.admin, "primary/m1")).breaker).toBe(BreakerState.CLOSED);
  });

  it.each([
    ["OpenAI", "content_policy_violation"],
    ["Azure OpenAI", "content_filter"],
  ])(
    "a content refusal (%s %s): FAILED_PRECONDITION, not retried, not failed over",
    async (_vendor, code) => {
      chaos = await start();
      const { primary, fallback } = chaos.fakes;
      always(primary, {
        type: "error",
        status: 400,
        error: {
          message: "Your request was rejected as a result of our safety system.",
          type: "invalid_request_error",
          param: null,
          code,
        },
      });

      const { error, decision } = await failedRoute(chaos.router.route(CHAT));
      expect(error.code).toBe(Code.FailedPrecondition);
      expect(decision.attempts).toMatchObject([
        {
          target: "primary/m1",
          outcome: AttemptOutcome.FAILED,
          errorClass: ErrorClass.CONTENT_REFUSED,
          retryable: false,
        },
      ]);
      expect(decision.degraded).toBe(false);
      expect(primary.requests).toHaveLength(1);
      expect(fallback.requests).toHaveLength(0);
    },
  );
});
