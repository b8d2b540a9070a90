import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetStep, RouterService, type StreamResponse } from "../../../gen/switchyard/v1/router_pb.js";
import {
  AttemptOutcome,
  type Decision,
  DecisionSchema,
  ErrorClass,
  FinishReason,
  Role,
} from "../../../gen/switchyard/v1/types_pb.js";
import { collect, eventually, rejectionOf } from "../../helpers/async.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY, UNSET_KEY_VARIABLE } from "../../helpers/policies.js";
import {
  createTransports,
  eventCases,
  openingDecision,
  TRACE_ID,
  TRANSPORT_KINDS,
  traceparent,
  userRequest,
} from "../../helpers/rpc.js";
import { startTestSwitchyard } from "../../helpers/switchyard.js";

const frontDoor = useFrontDoor();

const CHAT = { task: "chat", dataClass: "public" };

/** What the `chat` route decides for every request: see FRONT_DOOR_POLICY. */
function expectChatDecision(decision: Decision | undefined, policyVersion: string): void {
  expect(decision).toBeDefined();
  expect(decision).toMatchObject({
    route: "chat",
    rule: "task in [chat] and data_class in [public]",
    task: "chat",
    dataClass: "public",
    declaredDataClass: "public",
    policyVersion,
    candidates: [
      {
        target: "openai/gpt-4.1",
        role: "primary",
        eligible: false,
        reason: expect.stringContaining(`${UNSET_KEY_VARIABLE} is not set`),
      },
      { target: "flaky/big", role: "fallback[0]", eligible: true, reason: "" },
      { target: "local/tiny", role: "fallback[1]", eligible: true, reason: "" },
    ],
  });
  expect(decision?.traceId).toMatch(TRACE_ID);
}

function expectChatAttempts(decision: Decision | undefined): void {
  expect(decision?.target).toBe("local/tiny");
  expect(decision?.attempts).toHaveLength(2);
  expect(decision?.attempts[0]).toMatchObject({
    target: "flaky/big",
    outcome: AttemptOutcome.FAILED,
    errorClass: ErrorClass.OVERLOADED,
    retryable: true,
  });
  expect(decision?.attempts[1]).toMatchObject({
    target: "local/tiny",
    outcome: AttemptOutcome.SUCCEEDED,
    errorClass: ErrorClass.UNSPECIFIED,
  });
  expect(decision?.attempts[1]?.latencyMs).toBeGreaterThan(0);
  expect(decision?.costUsd).toBeGreaterThan(0);
}

describe.each(TRANSPORT_KINDS)("RouterService over %s", (kind) => {
  const client = () => createClient(RouterService, frontDoor.transports.get(kind));
  const policyVersion = () => frontDoor.switchyard.app.policies.current().version;

  it("answers Route with the message, usage and the full decision, echoing its trace id in x-trace-id", async () => {
    let traceHeader: string | null = null;
    const response = await client().route(userRequest("hello", CHAT), {
      onHeader: (headers) => {
        traceHeader = headers.get("x-trace-id");
      },
    });
    expect(response.message).toMatchObject({ role: Role.ASSISTANT, content: LOCAL_REPLY });
    expect(response.finishReason).toBe(FinishReason.STOP);
    expect(response.usage?.outputTokens).toBe(4);
    expect(response.usage?.costUsd).toBeGreaterThan(0);
    expectChatDecision(response.decision, policyVersion());
    expectChatAttempts(response.decision);
    expect(response.decision?.dryRun).toBe(false);
    expect(traceHeader).toBe(response.decision?.traceId);
  });

  it("streams the decision first, then attempts, budgets and deltas, and done with the full decision last", async () => {
    let traceHeader: string | null = null;
    const events = await collect(
      client().stream(userRequest("hello", CHAT), {
        onHeader: (headers) => {
          traceHeader = headers.get("x-trace-id");
        },
      }),
    );
    const cases = eventCases(events);
    expect(cases[0]).toBe("decision");
    expect(cases.at(-1)).toBe("done");
    expect(cases.filter((c) => c === "decision" || c === "done")).toEqual(["decision", "done"]);

    const first = openingDecision(events);
    expectChatDecision(first, policyVersion());
    expect(first.attempts).toEqual([]);
    expect(first.target).toBe("");

    // The failed fallback[0] is reported as it happens, before any token.
    const attempt = events.find((e) => e.event.case === "attempt")?.event.value;
    expect(attempt).toMatchObject({ target: "flaky/big", outcome: AttemptOutcome.FAILED, retryable: true });
    expect(cases.indexOf("attempt")).toBeLessThan(cases.indexOf("delta"));

    const text = events.map((e) => (e.event.case === "delta" ? e.event.value.content : "")).join("");
    expect(text).toBe(LOCAL_REPLY);

    const budgets = events.flatMap((e) => (e.event.case === "budget" ? [e.event.value] : []));
    expect(budgets.map((b) => b.step)).toEqual([
      BudgetStep.FIRST_TOKEN,
      BudgetStep.TOKEN_GAP,
      BudgetStep.TOTAL,
    ]);
    expect(budgets.map((b) => b.limitMs)).toEqual([2000, 1000, 5000]);
    expect(budgets.every((b) => !b.exceeded && b.elapsedMs >= 0)).toBe(true);
    expect(cases.indexOf("budget")).toBeLessThan(cases.indexOf("delta"));

    const done = events.at(-1)?.event as Extract<StreamResponse["event"], { case: "done" }>;
    expect(done.value.finishReason).toBe(FinishReason.STOP);
    expect(done.value.usage?.outputTokens).toBe(4);
    expectChatDecision(done.value.decision, policyVersion());
    expectChatAttempts(done.value.decision);
    expect(done.value.decision?.traceId).toBe(first.traceId);
    expect(traceHeader).toBe(first.traceId);
  });

  it("answers Classify with a dry-run decision naming the first eligible target, attempting nothing", async () => {
    let traceHeader: string | null = null;
    const response = await client().classify(userRequest("hello", CHAT), {
      onHeader: (headers) => {
        traceHeader = headers.get("x-trace-id");
      },
    });
    expect(response.task).toBe("chat");
    expect(response.dataClass).toBe("public");
    expectChatDecision(response.decision, policyVersion());
    expect(response.decision?.dryRun).toBe(true);
    expect(response.decision?.attempts).toEqual([]);
    // Where Route would go first: whether it answers is only known by sending.
    expect(response.decision?.target).toBe("flaky/big");
    expect(traceHeader).toBe(response.decision?.traceId);
  });

  it("continues the caller's trace when a traceparent header is sent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceHeader: string | null = null;
    const response = await client().route(userRequest("hello"), {
      headers: { traceparent: traceparent(traceId) },
      onHeader: (headers) => {
        traceHeader = headers.get("x-trace-id");
      },
    });
    expect(response.decision?.traceId).toBe(traceId);
    expect(traceHeader).toBe(traceId);

    const events = await collect(
      client().stream(userRequest("hello"), { headers: { traceparent: traceparent(traceId) } }),
    );
    expect(openingDecision(events).traceId).toBe(traceId);
  });

  it("gives every call a new trace id when the traceparent is missing or malformed", async () => {
    const a = await client().classify(userRequest("hello"));
    const b = await client().classify(userRequest("hello"), { headers: { traceparent: "00-zz-00-01" } });
    expect(a.decision?.traceId).toMatch(TRACE_ID);
    expect(b.decision?.traceId).toMatch(TRACE_ID);
    expect(a.decision?.traceId).not.toBe(b.decision?.traceId);
  });

  it("fails Route with UNAVAILABLE carrying the decision when every target fails", async () => {
    let traceHeader: string | null = null;
    const error = ConnectError.from(
      await rejectionOf(() =>
        client().route(userRequest("hello", { task: "doomed" }), {
          onHeader: (headers) => {
            traceHeader = headers.get("x-trace-id");
          },
        }),
      ),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain('route "doomed"');
    const [decision] = error.findDetails(DecisionSchema);
    expect(decision).toMatchObject({ route: "doomed", target: "", degraded: false });
    expect(decision?.attempts.map((a) => [a.target, a.outcome, a.errorClass])).toEqual([
      ["flaky/big", AttemptOutcome.FAILED, ErrorClass.OVERLOADED],
      ["broken/big", AttemptOutcome.FAILED, ErrorClass.SERVER],
    ]);
    expect(decision?.traceId).toMatch(TRACE_ID);
    // Trailers-only gRPC errors carry headers with the status; x-trace-id must still be there.
    expect(traceHeader ?? error.metadata.get("x-trace-id")).toBe(decision?.traceId);
  });

  it("fails Stream with UNAVAILABLE carrying the decision after sending the decision first", async () => {
    const events: StreamResponse[] = [];
    const error = ConnectError.from(
      await rejectionOf(async () => {
        for await (const event of client().stream(userRequest("hello", { task: "doomed" })))
          events.push(event);
      }),
    );
    expect(error.code).toBe(Code.Unavailable);
    expect(eventCases(events)).toEqual(["decision", "attempt", "attempt"]);
    const [decision] = error.findDetails(DecisionSchema);
    expect(decision?.route).toBe("doomed");
    expect(decision?.attempts).toHaveLength(2);
    expect(decision?.traceId).toBe(openingDecision(events).traceId);
  });
});

describe("how a call ended, in its decision", () => {
  it("says the caller's deadline passed, not merely that no target answered", async () => {
    const client = createClient(RouterService, frontDoor.transports.get("gRPC over h2c (binary)"));
    // A deadline ends the call on the client too, before any header comes back: find it by trace.
    const traceId = "8ad1c0a3f2b94e71a0c5d3e2f1a0b9c8";
    const error = ConnectError.from(
      await rejectionOf(() =>
        client.route(userRequest("hi", { task: "hang" }), {
          timeoutMs: 200,
          headers: { traceparent: traceparent(traceId) },
        }),
      ),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    const recorded = await eventually(
      () => frontDoor.switchyard.app.decisions.byTrace(traceId)[0],
      "the decision",
    );
    expect(recorded.outcome).toBe("abandoned (deadline): the caller's deadline passed");
    expect(recorded.decision.attempts).toMatchObject([
      {
        target: "hung/forever",
        outcome: "cancelled",
        message: "the caller's deadline passed; the upstream request was aborted",
      },
    ]);
  });
});

describe("a stream cut by the server's drain", () => {
  it("is recorded as ended by the shutdown, not by its caller", async () => {
    const switchyard = await startTestSwitchyard(FRONT_DOOR_POLICY, { limits: { drainTimeoutMs: 200 } });
    const transports = createTransports(switchyard.baseUrl);
    try {
      const client = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
      const iterator = client.stream(userRequest("take your time", { task: "slow" }))[Symbol.asyncIterator]();
      const first = await iterator.next();
      const callId =
        first.done || first.value.event.case !== "decision" ? "" : first.value.event.value.callId;
      const rest = (async () => {
        for (let step = await iterator.next(); !step.done; step = await iterator.next());
      })().catch(() => undefined);
      await switchyard.app.server.drain();
      await rest;
      const recorded = switchyard.app.decisions.byCall(callId);
      expect(recorded?.outcome).toBe("abandoned (shutdown): the server is shutting down");
      expect(recorded?.decision.attempts.at(-1)?.message).toBe(
        "the server is shutting down; the upstream request was aborted",
      );
    } finally {
      transports.close();
      await switchyard.stop();
    }
  });
});
