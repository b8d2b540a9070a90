import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RouteRequestSchema, RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { failureOf } from "../../helpers/async.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { expectStillServing, grpcFrame, grpcStatus, http2Request, openRaw, within } from "./hostile-wire.js";

let switchyard: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY);
});
afterAll(() => switchyard.stop());
afterEach(async () => {
  await expectStillServing(switchyard);
  expectNoRawControlCharacters(switchyard.rawLogs);
});

/**
 * C0 controls, DEL, C1 controls (U+0085 NEL among them) and U+2028/2029. JSON escapes C0, so a raw
 * one means a log line was built by hand; C1 and the separators are legal raw JSON, and some log
 * tools still break lines on them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function expectNoRawControlCharacters(lines: string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toMatch(RAW_CONTROL);
}

/** A RouteRequest whose `tenant` holds bytes that are not UTF-8 (0xff 0xfe). */
function routeWithInvalidUtf8(): Buffer {
  const bytes = Buffer.from(
    toBinary(
      RouteRequestSchema,
      create(RouteRequestSchema, { tenant: "@@@@", messages: [{ role: Role.USER, content: "hi" }] }),
    ),
  );
  const at = bytes.indexOf("@@@@");
  bytes[at] = 0xff;
  bytes[at + 1] = 0xfe;
  return bytes;
}

describe("strings must be valid UTF-8", () => {
  it("refuses invalid UTF-8 in a binary gRPC message with INVALID_ARGUMENT", async () => {
    const response = await http2Request(
      switchyard.baseUrl,
      { ":path": "/switchyard.v1.RouterService/Route", "content-type": "application/grpc", te: "trailers" },
      grpcFrame(routeWithInvalidUtf8()),
    );
    expect(grpcStatus(response)).toBe(Code.InvalidArgument);
    // The field is named, though protobuf itself only says the bytes were not UTF-8.
    expect(decodeURIComponent(String(response.trailers["grpc-message"]))).toBe(
      "tenant: is not valid UTF-8 (or holds an unpaired surrogate)",
    );
  });

  it("refuses invalid UTF-8 in a binary Connect message with invalid_argument", async () => {
    const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: routeWithInvalidUtf8(),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/^tenant: /),
    });
  });

  it("names a message's content when it is the field that is not UTF-8", async () => {
    const bytes = Buffer.from(
      toBinary(
        RouteRequestSchema,
        create(RouteRequestSchema, {
          messages: [
            { role: Role.USER, content: "ok" },
            { role: Role.USER, content: "@@@@" },
          ],
        }),
      ),
    );
    bytes[bytes.indexOf("@@@@") + 1] = 0xc3;
    const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: bytes,
    });
    expect(await response.json()).toMatchObject({
      code: "invalid_argument",
      message: "messages[1].content: is not valid UTF-8 (or holds an unpaired surrogate)",
    });
  });

  it("refuses invalid UTF-8 in a binary gRPC-Web message with INVALID_ARGUMENT", async () => {
    const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: grpcFrame(routeWithInvalidUtf8()),
    });
    // gRPC-Web carries the status in a trailer frame (flag 0x80) at the end of the body.
    const body = Buffer.from(await response.arrayBuffer());
    expect(body[0]).toBe(0x80);
    expect(body.subarray(5).toString()).toMatch(/grpc-status: ?3\r\n/);
  });

  it("refuses a truncated binary message with INVALID_ARGUMENT, not INTERNAL", async () => {
    const whole = routeWithInvalidUtf8();
    const response = await http2Request(
      switchyard.baseUrl,
      { ":path": "/switchyard.v1.RouterService/Route", "content-type": "application/grpc", te: "trailers" },
      grpcFrame(whole.subarray(0, whole.length - 3)),
    );
    expect(grpcStatus(response)).toBe(Code.InvalidArgument);
  });
});

describe("control characters from callers never reach a log line raw", () => {
  const router = () => createClient(RouterService, createGrpcTransport({ baseUrl: switchyard.baseUrl }));
  const hello = [{ role: Role.USER, content: "hello" }];

  const forged = '\n{"level":60,"msg":"forged"}';
  const identifiers: Array<[string, Record<string, unknown>, string]> = [
    ["a newline in tenant", { tenant: `acme${forged}` }, "tenant"],
    ["an ANSI escape in user", { user: "\u001b[31mred\u001b[0m" }, "user"],
    ["a NUL in a label value", { labels: { team: "a\u0000b" } }, 'labels["team"]'],
    ["a carriage return in a label key", { labels: { "te\ram": "x" } }, "labels (key #1)"],
    ["U+0085 (NEL) in task", { task: "chat\u0085" }, "task"],
    ["a right-to-left override in tenant", { tenant: "acme\u202e" }, "tenant"],
    ["a zero-width space in user", { user: "ali\u200bce" }, "user"],
    ["a Hangul filler that renders as nothing in tenant", { tenant: "acme\u3164" }, "tenant"],
    ["a variation selector in task", { task: "chat\ufe0f" }, "task"],
    ["a bidirectional isolate in a label value", { labels: { team: "x\u2066y" } }, 'labels["team"]'],
    [
      "a zero-width joiner in a tool call id",
      {
        messages: [
          { role: Role.USER, content: "hi" },
          { role: Role.ASSISTANT, toolCalls: [{ id: "c\u200d1", name: "f", arguments: "{}" }] },
        ],
      },
      "messages[1].toolCalls[0].id",
    ],
    ["U+2028 in dataClass", { dataClass: "public\u2028" }, "dataClass"],
  ];
  for (const [name, fields, field] of identifiers) {
    it(`refuses ${name} with INVALID_ARGUMENT naming ${field}`, async () => {
      const failure = await failureOf(router().route({ messages: hello, ...fields }));
      expect(failure.code).toBe(Code.InvalidArgument);
      expect(failure.rawMessage).toBe(
        `${field}: must not contain control, invisible or bidirectional characters`,
      );
    });
  }

  it("accepts control characters in message content, and logs none of them", async () => {
    const answer = await router().route({
      messages: [{ role: Role.USER, content: `line one\nline two\r\n\u0000\u001b[2J\u0085\u2028${forged}` }],
    });
    expect(answer.message?.content).toBeTruthy();
    expect(switchyard.logs.some((line) => line.msg === "decision")).toBe(true);
  });

  it("echoes only a well-formed trace id, whatever traceparent says", async () => {
    const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${"a".repeat(32)}-\t${"b".repeat(16)}-01 x`,
      },
      body: JSON.stringify({ messages: [{ role: "ROLE_USER", content: "hi" }] }),
    });
    expect(response.headers.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("answers unknown paths and raw obs-text header bytes without logging them raw", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(
      Buffer.concat([
        Buffer.from(
          "POST /%0d%0a%1b[31m/Nope HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTraceparent: \u0085",
        ),
        Buffer.from([0x85, 0x9b]),
        Buffer.from("\r\nConnection: close\r\n\r\n"),
      ]),
    );
    await within(2000, connection.closed, "close");
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 (404|400) /);
  });
});
