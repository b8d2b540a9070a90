import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bufCurl, parseJsonSequence } from "../helpers/buf-curl.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY } from "../helpers/policies.js";
import { TRACE_ID } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

let switchyard: TestSwitchyard;

beforeAll(async () => {
  switchyard = await startTestSwitchyard(FRONT_DOOR_POLICY);
});

afterAll(async () => {
  await switchyard?.stop();
});

const CHAT = JSON.stringify({
  messages: [{ role: "ROLE_USER", content: "hello" }],
  task: "chat",
  dataClass: "public",
});

interface JsonDecision {
  route: string;
  target?: string;
  traceId: string;
  candidates: Array<{ target: string; eligible?: boolean; reason?: string }>;
  attempts?: Array<{ target: string; outcome: string }>;
}

describe("buf curl against the server (schema from reflection v1)", () => {
  it("lists every service each listener serves", async () => {
    const router = await bufCurl(["--http2-prior-knowledge", "--list-services", switchyard.baseUrl]);
    expect(router.exitCode).toBe(0);
    expect(router.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "switchyard.v1.RouterService",
    ]);
    const operator = await bufCurl(["--http2-prior-knowledge", "--list-services", switchyard.operatorUrl]);
    expect(operator.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "switchyard.v1.AdminService",
    ]);
  });

  it("lists every method of every service", async () => {
    const result = await bufCurl(["--http2-prior-knowledge", "--list-methods", switchyard.baseUrl]);
    expect(result.exitCode).toBe(0);
    const methods = result.stdout.trim().split("\n");
    expect(methods).toEqual(
      expect.arrayContaining([
        "switchyard.v1.RouterService/Route",
        "switchyard.v1.RouterService/Stream",
        "switchyard.v1.RouterService/Classify",
        "grpc.health.v1.Health/Check",
        "grpc.health.v1.Health/Watch",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      ]),
    );
  });

  // buf curl has no `describe`; it can call the reflection service itself, which is what a
  // describe does underneath. The descriptors come back base64-encoded in the JSON.
  it("describes RouterService by calling ServerReflectionInfo through reflection", async () => {
    const result = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      JSON.stringify({ fileContainingSymbol: "switchyard.v1.RouterService" }),
      `${switchyard.baseUrl}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`,
    ]);
    expect(result.exitCode).toBe(0);
    const [response] = parseJsonSequence(result.stdout) as Array<{
      fileDescriptorResponse: { fileDescriptorProto: string[] };
    }>;
    const files = (response?.fileDescriptorResponse.fileDescriptorProto ?? []).map((b64) =>
      fromBinary(FileDescriptorProtoSchema, Buffer.from(b64, "base64")),
    );
    expect(files[0]?.name).toBe("switchyard/v1/router.proto");
    const service = files[0]?.service.find((s) => s.name === "RouterService");
    expect(
      service?.method.map((m) => [m.name, m.inputType, m.outputType, m.serverStreaming ?? false]),
    ).toEqual([
      ["Route", ".switchyard.v1.RouteRequest", ".switchyard.v1.RouteResponse", false],
      ["Stream", ".switchyard.v1.StreamRequest", ".switchyard.v1.StreamResponse", true],
      ["Classify", ".switchyard.v1.ClassifyRequest", ".switchyard.v1.ClassifyResponse", false],
    ]);
    expect(files.map((f) => f.name).sort()).toEqual([
      "google/protobuf/struct.proto",
      "switchyard/v1/router.proto",
      "switchyard/v1/types.proto",
    ]);
  });

  it("calls Route over gRPC and prints the response with its decision", async () => {
    const result = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      CHAT,
      `${switchyard.baseUrl}/switchyard.v1.RouterService/Route`,
    ]);
    expect(result.exitCode).toBe(0);
    const [response] = parseJsonSequence(result.stdout) as Array<{
      message: { role: string; content: string };
      finishReason: string;
      decision: JsonDecision;
    }>;
    expect(response?.message).toEqual({ role: "ROLE_ASSISTANT", content: LOCAL_REPLY });
    expect(response?.finishReason).toBe("FINISH_REASON_STOP");
    expect(response?.decision.route).toBe("chat");
    expect(response?.decision.target).toBe("local/tiny");
    expect(response?.decision.traceId).toMatch(TRACE_ID);
    expect(response?.decision.candidates.map((c) => c.target)).toEqual([
      "openai/gpt-4.1",
      "flaky/big",
      "local/tiny",
    ]);
    expect(response?.decision.attempts?.map((a) => [a.target, a.outcome])).toEqual([
      ["flaky/big", "ATTEMPT_OUTCOME_FAILED"],
      ["local/tiny", "ATTEMPT_OUTCOME_SUCCEEDED"],
    ]);
  });

  it("calls Stream over gRPC and prints decision, deltas, budgets and done as separate messages", async () => {
    const result = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      CHAT,
      `${switchyard.baseUrl}/switchyard.v1.RouterService/Stream`,
    ]);
    expect(result.exitCode).toBe(0);
    const events = parseJsonSequence(result.stdout) as Array<Record<string, unknown>>;
    const cases = events.map((event) => Object.keys(event)[0]);
    expect(cases[0]).toBe("decision");
    expect(cases.at(-1)).toBe("done");
    expect(cases).toContain("budget");
    expect(cases).toContain("attempt");
    const text = events
      .map((event) => (event.delta as { content?: string } | undefined)?.content ?? "")
      .join("");
    expect(text).toBe(LOCAL_REPLY);
    const done = events.at(-1)?.done as { finishReason: string; decision: JsonDecision };
    expect(done.finishReason).toBe("FINISH_REASON_STOP");
    expect(done.decision.target).toBe("local/tiny");
    expect(done.decision.traceId).toBe((events[0]?.decision as JsonDecision | undefined)?.traceId);
  });

  it("exits with the gRPC code and prints the error naming the field for a bad request", async () => {
    const result = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      JSON.stringify({ messages: [] }),
      `${switchyard.baseUrl}/switchyard.v1.RouterService/Route`,
    ]);
    expect(result.exitCode).toBe(3 << 3);
    const [error] = parseJsonSequence(result.stderr) as Array<{ code: string; message: string }>;
    expect(error).toEqual({
      code: "invalid_argument",
      message: "messages: must contain at least one message",
    });
  });
});
