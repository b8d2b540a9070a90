import { fileURLToPath } from "node:url";
import { createRegistry, fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { AnySchema, anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecisionSchema, file_switchyard_v1_types } from "../../gen/switchyard/v1/types_pb.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY, UNSET_KEY_VARIABLE } from "../helpers/policies.js";
import { TRACE_ID, traceparent } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

/**
 * The proto files as a grpc-js caller would load them. google/protobuf/struct.proto needs no
 * include dir: protobufjs (under proto-loader) bundles the well-known types.
 */
const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
const definition = protoLoader.loadSync("switchyard/v1/router.proto", {
  includeDirs: [PROTO_DIR],
  enums: String,
  longs: Number,
  defaults: true,
  oneofs: true,
});

/** The plain objects proto-loader produces (enums as names, `event` naming the oneof case). */
interface PlainDecision {
  route: string;
  target: string;
  traceId: string;
  policyVersion: string;
  candidates: Array<{ target: string; eligible: boolean; reason: string; role: string }>;
  attempts: Array<{ target: string; outcome: string; errorClass: string; retryable: boolean }>;
}
interface PlainRouteResponse {
  message: { role: string; content: string };
  finishReason: string;
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
  decision: PlainDecision;
}
interface PlainStreamResponse {
  event: "decision" | "delta" | "attempt" | "budget" | "done";
  decision?: PlainDecision;
  delta?: { content: string };
  budget?: { step: string; exceeded: boolean };
  done?: { finishReason: string; decision: PlainDecision };
}
interface RouterStub extends grpc.Client {
  route(
    request: object,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: PlainRouteResponse) => void,
  ): grpc.ClientUnaryCall;
  stream(
    request: object,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<PlainStreamResponse>;
}
type RouterStubConstructor = new (address: string, credentials: grpc.ChannelCredentials) => RouterStub;

const loaded = grpc.loadPackageDefinition(definition) as unknown as {
  switchyard: { v1: { RouterService: RouterStubConstructor } };
};

let switchyard: TestSwitchyard;
let client: RouterStub;

beforeAll(async () => {
  switchyard = await startTestSwitchyard(FRONT_DOOR_POLICY);
  client = new loaded.switchyard.v1.RouterService(
    `127.0.0.1:${switchyard.port}`,
    grpc.credentials.createInsecure(),
  );
});

afterAll(async () => {
  client?.close();
  await switchyard?.stop();
});

const CHAT = {
  messages: [{ role: "ROLE_USER", content: "hello" }],
  task: "chat",
  dataClass: "public",
};

/** A unary Route call, resolving with the response and the response headers. */
function route(
  request: object,
  options: { metadata?: grpc.Metadata; deadlineMs?: number } = {},
): Promise<{ response: PlainRouteResponse; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    const call = client.route(
      request,
      options.metadata ?? new grpc.Metadata(),
      options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
      (error, response) => {
        if (error) reject(error);
        else if (response) resolve({ response, headers });
        else reject(new Error("no response"));
      },
    );
    call.on("metadata", (received: grpc.Metadata) => {
      headers = received;
    });
  });
}

function streamEvents(request: object): Promise<{ events: PlainStreamResponse[]; headers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    const events: PlainStreamResponse[] = [];
    let headers = new grpc.Metadata();
    const call = client.stream(request);
    call.on("metadata", (received: grpc.Metadata) => {
      headers = received;
    });
    call.on("data", (event: PlainStreamResponse) => events.push(event));
    call.on("error", reject);
    call.on("end", () => resolve({ events, headers }));
  });
}

/**
 * The Decision details of a gRPC error: `grpc-status-details-bin` is a google.rpc.Status
 * (code = 1, message = 2, details = 3 as google.protobuf.Any). protobuf-es ships no
 * google.rpc.Status, so the three fields are read by hand.
 */
function decisionDetails(error: grpc.ServiceError) {
  const [bin] = error.metadata.get("grpc-status-details-bin");
  if (!(bin instanceof Buffer)) return [];
  const registry = createRegistry(file_switchyard_v1_types);
  const reader = new BinaryReader(bin);
  const decisions = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const any = fromBinary(AnySchema, reader.bytes());
    const decision = anyUnpack(any, registry);
    if (decision && any.typeUrl.endsWith("/switchyard.v1.Decision")) decisions.push(decision);
  }
  return decisions;
}

describe("RouterService via @grpc/grpc-js", () => {
  it("answers Route with the decision, and the trace id in the x-trace-id header", async () => {
    const { response, headers } = await route(CHAT);
    expect(response.message).toEqual(
      expect.objectContaining({ role: "ROLE_ASSISTANT", content: LOCAL_REPLY }),
    );
    expect(response.finishReason).toBe("FINISH_REASON_STOP");
    expect(response.usage.outputTokens).toBe(4);
    const decision = response.decision;
    expect(decision.route).toBe("chat");
    expect(decision.target).toBe("local/tiny");
    expect(decision.policyVersion).toBe(switchyard.app.policies.current().version);
    expect(decision.candidates.map((c) => [c.target, c.eligible, c.role])).toEqual([
      ["openai/gpt-4.1", false, "primary"],
      ["flaky/big", true, "fallback[0]"],
      ["local/tiny", true, "fallback[1]"],
    ]);
    expect(decision.candidates[0]?.reason).toContain(UNSET_KEY_VARIABLE);
    expect(decision.attempts.map((a) => [a.target, a.outcome, a.errorClass])).toEqual([
      ["flaky/big", "ATTEMPT_OUTCOME_FAILED", "ERROR_CLASS_OVERLOADED"],
      ["local/tiny", "ATTEMPT_OUTCOME_SUCCEEDED", "ERROR_CLASS_UNSPECIFIED"],
    ]);
    expect(decision.traceId).toMatch(TRACE_ID);
    expect(headers.get("x-trace-id")).toEqual([decision.traceId]);
  });

  it("uses the trace id of a traceparent sent as metadata", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const metadata = new grpc.Metadata();
    metadata.set("traceparent", traceparent(traceId));
    const { response, headers } = await route(CHAT, { metadata });
    expect(response.decision.traceId).toBe(traceId);
    expect(headers.get("x-trace-id")).toEqual([traceId]);
  });

  it("streams decision, deltas and budget events, then done with the full decision", async () => {
    const { events, headers } = await streamEvents(CHAT);
    expect(events[0]?.event).toBe("decision");
    expect(events.at(-1)?.event).toBe("done");
    expect(events.map((e) => e.delta?.content ?? "").join("")).toBe(LOCAL_REPLY);
    expect(events.filter((e) => e.event === "budget").map((e) => e.budget?.step)).toEqual([
      "BUDGET_STEP_FIRST_TOKEN",
      "BUDGET_STEP_TOKEN_GAP",
      "BUDGET_STEP_TOTAL",
    ]);
    const done = events.at(-1)?.done;
    expect(done?.finishReason).toBe("FINISH_REASON_STOP");
    expect(done?.decision.target).toBe("local/tiny");
    expect(done?.decision.attempts).toHaveLength(2);
    expect(done?.decision.traceId).toBe(events[0]?.decision?.traceId);
    expect(headers.get("x-trace-id")).toEqual([done?.decision.traceId]);
  });

  it("fails with UNAVAILABLE and the decision in grpc-status-details-bin when every target fails", async () => {
    const error = (await route({ ...CHAT, task: "doomed" }).then(
      () => {
        throw new Error("expected UNAVAILABLE");
      },
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toContain('route "doomed"');
    const [decision] = decisionDetails(error);
    expect(decision?.$typeName).toBe(DecisionSchema.typeName);
    expect(decision).toMatchObject({ route: "doomed", target: "" });
  });

  it("gets DEADLINE_EXCEEDED promptly from a hung upstream", async () => {
    const started = performance.now();
    const error = (await route({ ...CHAT, task: "hang" }, { deadlineMs: 200 }).catch(
      (e: grpc.ServiceError) => e,
    )) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
