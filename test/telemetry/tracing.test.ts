import { ConnectError } from "@connectrpc/connect";
import { type HrTime, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { DECISION_EVENT } from "../../src/telemetry/decision-records.js";
import { createTracing } from "../../src/telemetry/tracing.js";
import { type Chaos, startChaos, streamed } from "../helpers/chaos.js";
import { TRACE_ID, traceparent, userRequest } from "../helpers/rpc.js";

const CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN = "00f067aa0ba902b7";
const STEPS = ["identify", "classify", "decide", "guard", "admit", "execute", "settle", "record"];

let spans: InMemorySpanExporter;
let records: InMemoryLogRecordExporter;
let tracerProvider: TracerProvider;
let loggerProvider: LoggerProvider;
let chaos: Chaos<"primary" | "fallback"> | undefined;

beforeEach(() => {
  spans = new InMemorySpanExporter();
  records = new InMemoryLogRecordExporter();
  tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: records })] });
});

afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
  await tracerProvider.shutdown();
  await loggerProvider.shutdown();
});

const start = (logging = "") =>
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
${logging}
`,
    {
      switchyard: {
        tracer: tracerProvider.getTracer("switchyard"),
        decisionExport: loggerProvider.getLogger("switchyard"),
      },
    },
  );

const ms = ([seconds, nanos]: HrTime) => seconds * 1000 + nanos / 1e6;
/** Milliseconds of slack for comparing times rounded to the microsecond by different clocks. */
const SLACK = 1;

/** The call's span and its descendants by name, once it has ended. */
function treeOf(traceId: string) {
  const all = spans.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  const call = all.find((span) => span.kind === SpanKind.SERVER);
  if (!call) throw new Error(`no call span in trace ${traceId}`);
  const childrenOf = (parent: ReadableSpan) =>
    all
      .filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId)
      .sort((a, b) => ms(a.startTime) - ms(b.startTime));
  return { all, call, childrenOf };
}

describe("traces", () => {
  it("a call that fails over once is one tree: the call, each step, and each attempt under execute", async () => {
    chaos = await start();
    chaos.fakes.primary.script({ type: "error", status: 503 });
    chaos.fakes.fallback.script({
      type: "reply",
      content: "hi there",
      usage: { prompt_tokens: 12, completion_tokens: 5 },
    });

    const answer = await chaos.router.route(userRequest("hello", { task: "chat" }), {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` },
    });
    expect(answer.decision?.traceId).toBe(CALLER_TRACE);

    const { all, call, childrenOf } = treeOf(CALLER_TRACE);
    // The caller's span is the call's parent: the trace continues across the hop.
    expect(call.name).toBe("switchyard.v1.RouterService/Route");
    expect(call.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes).toMatchObject({
      "rpc.service": "switchyard.v1.RouterService",
      "rpc.method": "Route",
      "rpc.grpc.status_code": 0,
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.response.model": "m2",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 5,
      "gen_ai.response.finish_reasons": ["stop"],
      "switchyard.call_id": answer.decision?.callId,
      "switchyard.route": "chat",
      "switchyard.task": "chat",
      "switchyard.data_class": answer.decision?.dataClass,
      "switchyard.target": "fallback/m2",
      "switchyard.provider": "fallback",
      "switchyard.attempts": 2,
      "switchyard.cost_usd": answer.decision?.costUsd,
      "switchyard.outcome": "ok",
    });

    const steps = childrenOf(call);
    expect(steps.map((span) => span.name)).toEqual(STEPS.map((step) => `switchyard.${step}`));
    for (const step of steps) {
      expect(ms(step.startTime)).toBeGreaterThanOrEqual(ms(call.startTime) - SLACK);
      expect(ms(step.endTime)).toBeLessThanOrEqual(ms(call.endTime) + SLACK);
    }
    // Steps run one after another.
    for (let i = 1; i < steps.length; i++)
      expect(ms(steps[i]?.startTime ?? [0, 0])).toBeGreaterThanOrEqual(
        ms(steps[i - 1]?.endTime ?? [0, 0]) - SLACK,
      );

    const execute = steps.find((span) => span.name === "switchyard.execute");
    if (!execute) throw new Error("no execute span");
    const attempts = childrenOf(execute);
    expect(attempts.map((span) => span.name)).toEqual(["chat m1", "chat m2"]);
    const [failed, answered] = attempts as [ReadableSpan, ReadableSpan];
    expect(failed.kind).toBe(SpanKind.CLIENT);
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "overloaded" });
    expect(failed.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "m1",
      "error.type": "overloaded",
      "switchyard.target": "primary/m1",
      "switchyard.attempt.outcome": "failed",
    });
    expect(failed.attributes["gen_ai.response.model"]).toBeUndefined();
    expect(answered.status.code).toBe(SpanStatusCode.UNSET);
    expect(answered.attributes).toMatchObject({
      "gen_ai.request.model": "m2",
      "gen_ai.response.model": "m2",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.usage.output_tokens": 5,
      "gen_ai.response.finish_reasons": ["stop"],
      "switchyard.target": "fallback/m2",
      "switchyard.attempt.outcome": "succeeded",
    });

    // Timings: within execute, one after the other, as long as the decision says they took.
    const recorded = answer.decision?.attempts ?? [];
    attempts.forEach((span, index) => {
      expect(ms(span.startTime)).toBeGreaterThanOrEqual(ms(execute.startTime) - SLACK);
      expect(ms(span.endTime)).toBeLessThanOrEqual(ms(execute.endTime) + SLACK);
      expect(ms(span.endTime) - ms(span.startTime)).toBeCloseTo(recorded[index]?.latencyMs ?? -1, 0);
    });
    expect(ms(answered.startTime)).toBeGreaterThanOrEqual(ms(failed.endTime) - SLACK);
    expect(recorded[1]?.startedMs).toBeGreaterThanOrEqual(recorded[0]?.latencyMs ?? 0);

    // Nothing else was traced for this call.
    expect(all).toHaveLength(1 + STEPS.length + 2);
  });

  it("a call with no traceparent starts a trace, and its decision carries that trace's id", async () => {
    chaos = await start();
    const answer = await chaos.router.route(userRequest("hello", { task: "chat" }));
    const traceId = answer.decision?.traceId ?? "";
    expect(traceId).toMatch(TRACE_ID);
    const { call } = treeOf(traceId);
    expect(call.parentSpanContext).toBeUndefined();
    expect(call.attributes["switchyard.call_id"]).toBe(answer.decision?.callId);
  });

  it("a caller that does not sample keeps its trace id, and nothing is recorded", async () => {
    chaos = await start();
    const answer = await chaos.router.route(userRequest("hello", { task: "chat" }), {
      headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-00` },
    });
    expect(answer.decision?.traceId).toBe(CALLER_TRACE);
    expect(spans.getFinishedSpans()).toEqual([]);
  });

  it("a stream's call span ends with the stream, tool calls as events on the attempt that asked for them", async () => {
    chaos = await start("logging: { store_prompts: full, store_outputs: true, store_tool_args: full }");
    chaos.fakes.primary.script({
      type: "reply",
      toolCalls: [{ id: "call_7", name: "lookup_order", arguments: '{"order":"A-17"}' }],
    });
    const { events, error } = await streamed(
      chaos.router.stream(
        {
          ...userRequest("where is my order?", { task: "chat" }),
          tools: [{ name: "lookup_order", description: "finds an order", parameters: { type: "object" } }],
        },
        { headers: { traceparent: traceparent(CALLER_TRACE) } },
      ),
    );
    expect(error).toBeUndefined();
    expect(events.at(-1)?.event.case).toBe("done");

    const { call, childrenOf } = treeOf(CALLER_TRACE);
    expect(call.name).toBe("switchyard.v1.RouterService/Stream");
    expect(call.attributes["gen_ai.response.finish_reasons"]).toEqual(["tool_calls"]);
    expect(JSON.parse(String(call.attributes["gen_ai.input.messages"]))).toEqual([
      { role: "user", content: "where is my order?" },
    ]);
    const execute = childrenOf(call).find((span) => span.name === "switchyard.execute");
    const [attempt] = execute ? childrenOf(execute) : [];
    expect(attempt?.events.map((event) => [event.name, event.attributes])).toEqual([
      [
        "gen_ai.tool.call",
        {
          "gen_ai.tool.call.id": "call_7",
          "gen_ai.tool.name": "lookup_order",
          "gen_ai.tool.call.arguments": '{"order":"A-17"}',
        },
      ],
    ]);
  });

  it("prompt and output text go on the span only as the logging policy allows", async () => {
    chaos = await start("logging: { store_prompts: none, store_outputs: false }");
    await chaos.router.route(userRequest("my private question", { task: "chat" }), {
      headers: { traceparent: traceparent(CALLER_TRACE) },
    });
    const { all } = treeOf(CALLER_TRACE);
    const attributes = JSON.stringify(all.map((span) => [span.attributes, span.events]));
    expect(attributes).not.toContain("my private question");
    expect(attributes).not.toContain("gen_ai.input.messages");
    expect(attributes).not.toContain("gen_ai.output.messages");
  });

  it("a refused call's span says so by its status code and error name, never the message", async () => {
    chaos = await start();
    const failure = await chaos.router
      .route(
        { messages: [{ role: Role.USER, content: "hi" }], task: "chat", dataClass: "no-such-class" },
        { headers: { traceparent: traceparent(CALLER_TRACE) } },
      )
      .catch((error: unknown) => ConnectError.from(error));
    expect(failure).toBeInstanceOf(ConnectError);
    const { call } = treeOf(CALLER_TRACE);
    expect(call.attributes["rpc.grpc.status_code"]).toBe((failure as ConnectError).code);
    expect(call.attributes["error.type"]).toMatch(/Error$/);
    // A caller's mistake is not the server's fault.
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(JSON.stringify(call.attributes)).not.toContain("no-such-class");
  });

  it("the OpenAI door's calls are traced the same way, from the HTTP request's traceparent", async () => {
    chaos = await start();
    const client = new OpenAI({
      apiKey: "unused",
      baseURL: `${chaos.switchyard.baseUrl}/v1`,
      defaultHeaders: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, "x-switchyard-task": "chat" },
    });
    const completion = await client.chat.completions.create({
      model: "auto",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(completion.model).toBe("m1");
    const { call, childrenOf } = treeOf(CALLER_TRACE);
    expect(call.name).toBe("POST /v1/chat/completions");
    expect(call.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(call.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/chat/completions",
      "http.response.status_code": 200,
      "switchyard.target": "primary/m1",
    });
    expect(childrenOf(call).map((span) => span.name)).toEqual(STEPS.map((step) => `switchyard.${step}`));
  });
});

describe("decisions exported as log records", () => {
  it("each recorded decision is one log record in the call's trace, the decision as its body", async () => {
    chaos = await start();
    const answer = await chaos.router.route(userRequest("hello", { task: "chat" }), {
      headers: { traceparent: traceparent(CALLER_TRACE) },
    });
    const [record, ...more] = records.getFinishedLogRecords();
    expect(more).toEqual([]);
    expect(record?.eventName).toBe(DECISION_EVENT);
    expect(record?.spanContext?.traceId).toBe(CALLER_TRACE);
    const { call } = treeOf(CALLER_TRACE);
    expect(record?.spanContext?.spanId).toBe(call.spanContext().spanId);
    expect(record?.attributes).toMatchObject({
      "switchyard.call_id": answer.decision?.callId,
      "switchyard.route": "chat",
      "switchyard.outcome": "ok",
    });
    expect(record?.body).toMatchObject({
      callId: answer.decision?.callId,
      traceId: CALLER_TRACE,
      route: "chat",
      target: "primary/m1",
      attempts: [{ target: "primary/m1", outcome: "succeeded" }],
    });
  });

  it("a dry run (Classify) exports nothing", async () => {
    chaos = await start();
    await chaos.router.classify(userRequest("hello", { task: "chat" }));
    expect(records.getFinishedLogRecords()).toEqual([]);
  });
});

describe("the call's trace id", () => {
  const tracing = createTracing(trace.getTracer("unused: no provider registered"));
  const idOf = (value: string | undefined) =>
    tracing.startCall("test", (name) => (name === "traceparent" ? value : undefined), {}).traceId;

  it("continues a valid traceparent, also with no tracer recording", () => {
    expect(idOf(`00-${CALLER_TRACE}-${CALLER_SPAN}-01`)).toBe(CALLER_TRACE);
    expect(idOf(`00-${CALLER_TRACE}-${CALLER_SPAN}-00`)).toBe(CALLER_TRACE);
  });

  it("reads a later version's first four fields and ignores what it adds", () => {
    expect(idOf(`01-${CALLER_TRACE}-${CALLER_SPAN}-01-whatever-comes-next`)).toBe(CALLER_TRACE);
  });

  it("starts a new trace for an invalid traceparent: version ff, extra fields on 00, zero ids, junk", () => {
    for (const header of [
      `ff-${CALLER_TRACE}-${CALLER_SPAN}-01`,
      `00-${CALLER_TRACE}-${CALLER_SPAN}-01-extra`,
      `00-${"0".repeat(32)}-${CALLER_SPAN}-01`,
      `00-${CALLER_TRACE}-${"0".repeat(16)}-01`,
      `00-${CALLER_TRACE.toUpperCase()}-${CALLER_SPAN}-01`,
      "not a traceparent",
      "",
      undefined,
    ]) {
      const traceId = idOf(header);
      expect(traceId, String(header)).toMatch(TRACE_ID);
      expect(traceId, String(header)).not.toBe(CALLER_TRACE);
    }
  });
});
