import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RouteRequestSchema, RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REQUEST_LIMITS as LIMITS } from "../../../src/server/request-limits.js";
import { DEFAULT_LIMITS } from "../../../src/server/transport/server-limits.js";
import { failureOf } from "../../helpers/async.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { expectStillServing, grpcFrame, grpcStatus, http2Request } from "./hostile-wire.js";

let switchyard: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY);
});
afterAll(() => switchyard.stop());
afterEach(() => expectStillServing(switchyard));

const hello = (content = "hello") => ({ role: Role.USER, content });

/** A Connect unary JSON call over HTTP/1.1 with exactly this body; its status and JSON answer. */
async function postJson(path: string, body: string | Uint8Array) {
  const started = performance.now();
  const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const answer = (await response.json()) as { code?: string; message?: string };
  return { status: response.status, answer, elapsedMs: performance.now() - started };
}

describe("JSON nesting and sizes (Connect protocol)", () => {
  it("refuses 100,000 nested arrays quickly with INVALID_ARGUMENT", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    const { status, answer, elapsedMs } = await postJson("Route", deep);
    expect(status).toBe(400);
    expect(answer).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("nests deeper"),
    });
    expect(elapsedMs).toBeLessThan(1000);
  });

  it("refuses a body of nothing but '[' up to maxBodyBytes without building it", async () => {
    const { answer, elapsedMs } = await postJson("Route", "[".repeat(DEFAULT_LIMITS.maxBodyBytes - 1));
    expect(answer.code).toBe("invalid_argument");
    expect(elapsedMs).toBeLessThan(1000);
  });

  it("refuses deeply nested objects inside a Struct field (metadata)", async () => {
    const deep = `{"metadata":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
    expect((await postJson("Route", deep)).answer.code).toBe("invalid_argument");
  });

  it("ignores brackets inside strings when measuring depth", async () => {
    const body = JSON.stringify({ messages: [{ role: "ROLE_USER", content: "[".repeat(10_000) }] });
    expect((await postJson("Route", body)).status).toBe(200);
  });

  it("refuses a JSON body that is not UTF-8 with INVALID_ARGUMENT", async () => {
    const body = Buffer.concat([
      Buffer.from('{"messages":[{"role":"ROLE_USER","content":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]}'),
    ]);
    const { answer } = await postJson("Route", body);
    expect(answer).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("UTF-8") });
  });

  it("refuses a lone surrogate escape, which no UTF-8 encoder can send upstream", async () => {
    const body = '{"tenant":"\\ud800","messages":[{"role":"ROLE_USER","content":"hi"}]}';
    const { answer } = await postJson("Route", body);
    expect(answer).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("tenant") });
  });

  it("refuses a 3 MiB string in a message with INVALID_ARGUMENT naming the field", async () => {
    const body = JSON.stringify({ messages: [{ role: "ROLE_USER", content: "a".repeat(3 * 1024 * 1024) }] });
    const { answer, elapsedMs } = await postJson("Route", body);
    expect(answer).toMatchObject({
      code: "invalid_argument",
      message: `messages[0].content: longer than ${LIMITS.maxContentChars} characters`,
    });
    expect(elapsedMs).toBeLessThan(2000);
  });
});

describe("request field limits", () => {
  const router = () => createClient(RouterService, createGrpcTransport({ baseUrl: switchyard.baseUrl }));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      "too many messages",
      { messages: Array.from({ length: LIMITS.maxMessages + 1 }, () => hello()) },
      /^messages: at most 1024 entries/,
    ],
    [
      "too many tool calls in one message",
      {
        messages: [
          {
            role: Role.ASSISTANT,
            toolCalls: Array.from({ length: LIMITS.maxToolCallsPerMessage + 1 }, () => ({})),
          },
          hello(),
        ],
      },
      /^messages\[0\]\.toolCalls: at most/,
    ],
    [
      "too many labels",
      {
        messages: [hello()],
        labels: Object.fromEntries(Array.from({ length: LIMITS.maxLabels + 1 }, (_, i) => [`k${i}`, "v"])),
      },
      /^labels: at most 64 entries/,
    ],
    [
      "a long label value",
      { messages: [hello()], labels: { team: "v".repeat(LIMITS.maxLabelValueChars + 1) } },
      /^labels\["team"\]: longer than/,
    ],
    [
      "a long label key",
      { messages: [hello()], labels: { ["k".repeat(LIMITS.maxLabelKeyChars + 1)]: "v" } },
      /^labels \(key #1\): longer than/,
    ],
    [
      "too many tools",
      {
        messages: [hello()],
        tools: Array.from({ length: LIMITS.maxTools + 1 }, (_, i) => ({ name: `t${i}` })),
      },
      /^tools: at most/,
    ],
    [
      "too many stop sequences",
      {
        messages: [hello()],
        params: { stop: Array.from({ length: LIMITS.maxStopSequences + 1 }, () => "x") },
      },
      /^params\.stop: at most/,
    ],
    [
      "a long stop sequence",
      { messages: [hello()], params: { stop: ["s".repeat(LIMITS.maxStopChars + 1)] } },
      /^params\.stop\[0\]: longer than/,
    ],
    [
      "a long tenant",
      { messages: [hello()], tenant: "t".repeat(LIMITS.maxIdentifierChars + 1) },
      /^tenant: longer than/,
    ],
    [
      "a newline in the tenant",
      { messages: [hello()], tenant: "acme\nforged" },
      /^tenant: must not contain control/,
    ],
  ];
  for (const [name, request, message] of cases) {
    it(`refuses ${name} with INVALID_ARGUMENT naming the field`, async () => {
      const failure = await failureOf(router().route(request));
      expect(failure.code).toBe(Code.InvalidArgument);
      expect(failure.rawMessage).toMatch(message);
    });
  }

  it("applies the same limits to Stream and Classify", async () => {
    const request = { messages: [hello()], labels: { team: "\u0085" } };
    const stream = async () => {
      for await (const _ of router().stream(request));
    };
    expect((await failureOf(stream())).code).toBe(Code.InvalidArgument);
    expect((await failureOf(router().classify(request))).code).toBe(Code.InvalidArgument);
  });

  it("accepts a request at every limit", async () => {
    const answer = await router().route({
      messages: Array.from({ length: LIMITS.maxMessages }, () => hello("hi")),
      labels: Object.fromEntries(Array.from({ length: LIMITS.maxLabels }, (_, i) => [`k${i}`, "v"])),
      params: { stop: Array.from({ length: LIMITS.maxStopSequences }, (_, i) => `stop${i}`) },
      tenant: "t".repeat(LIMITS.maxIdentifierChars),
    });
    expect(answer.message?.content).toBeTruthy();
  });
});

describe("enum values the contract does not define", () => {
  it("refuses role=99 in a binary message with INVALID_ARGUMENT naming messages[0].role", async () => {
    const request = create(RouteRequestSchema, { messages: [{ role: 99 as Role, content: "hi" }] });
    const response = await http2Request(
      switchyard.baseUrl,
      { ":path": "/switchyard.v1.RouterService/Route", "content-type": "application/grpc", te: "trailers" },
      grpcFrame(toBinary(RouteRequestSchema, request)),
    );
    expect(grpcStatus(response)).toBe(Code.InvalidArgument);
    expect(decodeURIComponent(String(response.trailers["grpc-message"]))).toMatch(/^messages\[0\]\.role: /);
  });

  it("refuses an unknown enum name in JSON with INVALID_ARGUMENT naming messages[0].role", async () => {
    // connect ignores unknown JSON fields, and with them unknown enum names: the role arrives unset.
    const { status, answer } = await postJson(
      "Route",
      '{"messages":[{"role":"ROLE_WIZARD","content":"hi"}]}',
    );
    expect(status).toBe(400);
    expect(answer).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/^messages\[0\]\.role: /),
    });
  });
});
