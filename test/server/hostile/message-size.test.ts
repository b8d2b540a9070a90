import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RouteRequestSchema, RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { expectStillServing, grpcFrame, grpcStatus, http2Request } from "./hostile-wire.js";

const MAX_BODY = 64 * 1024;
const MiB = 1024 * 1024;

let switchyard: TestSwitchyard;
/** Room for the ~1 MiB compressed bomb on the wire, so the refusal must come from inflating it. */
let roomy: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY, { limits: { maxBodyBytes: MAX_BODY } });
  roomy = await startTestSwitchyard(MINIMAL_POLICY, { limits: { maxBodyBytes: 2 * MiB } });
});
afterAll(async () => {
  await switchyard.stop();
  await roomy.stop();
});
afterEach(async () => {
  await expectStillServing(switchyard);
  await expectStillServing(roomy);
});

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

const oversized = { messages: [{ role: Role.USER, content: "x".repeat(MAX_BODY + 1) }] };

/**
 * A gzip bomb: 1,024 gzip members of 1 MiB of zeros each, concatenated (gunzip reads them all),
 * about 1 MiB on the wire and 1 GiB inflated. Built without ever holding 1 GiB.
 */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: 1024 }, () => member));
}
const bomb = gzipBomb();

/** Refused quickly, and the process did not inflate anything near the bomb's size. */
async function expectBombRefused<T>(send: () => Promise<T>): Promise<T> {
  expect(bomb.length).toBeLessThan(2 * MiB);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const result = await send();
  expect(performance.now() - started).toBeLessThan(2000);
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * MiB);
  return result;
}

describe("message size at the front door", () => {
  const transports: Array<[string, () => Transport]> = [
    ["gRPC", () => createGrpcTransport({ baseUrl: switchyard.baseUrl })],
    [
      "Connect unary over HTTP/1.1",
      () => createConnectTransport({ baseUrl: switchyard.baseUrl, httpVersion: "1.1" }),
    ],
    [
      "Connect unary over HTTP/2",
      () => createConnectTransport({ baseUrl: switchyard.baseUrl, httpVersion: "2" }),
    ],
    [
      "gRPC-Web over HTTP/1.1",
      () => createGrpcWebTransport({ baseUrl: switchyard.baseUrl, httpVersion: "1.1" }),
    ],
  ];
  for (const [name, transport] of transports) {
    it(`refuses a ${name} request over maxBodyBytes with RESOURCE_EXHAUSTED`, async () => {
      const router = createClient(RouterService, transport());
      expect(await codeOf(router.route(oversized))).toBe(Code.ResourceExhausted);
    });
  }

  it("refuses a gzip-compressed gRPC message while inflating it (1 GiB bomb)", async () => {
    const response = await expectBombRefused(() =>
      http2Request(
        roomy.baseUrl,
        {
          ":path": "/switchyard.v1.RouterService/Route",
          "content-type": "application/grpc",
          "grpc-encoding": "gzip",
          te: "trailers",
        },
        grpcFrame(bomb, 1),
      ),
    );
    expect(grpcStatus(response)).toBe(Code.ResourceExhausted);
    expect(decodeURIComponent(String(response.trailers["grpc-message"]))).toContain("after decompression");
  });

  it("refuses a Connect unary body with content-encoding gzip while inflating it (1 GiB bomb)", async () => {
    const response = await expectBombRefused(() =>
      http2Request(
        roomy.baseUrl,
        {
          ":path": "/switchyard.v1.RouterService/Route",
          "content-type": "application/proto",
          "content-encoding": "gzip",
        },
        bomb,
      ),
    );
    expect(response.headers[":status"]).toBe(429);
    expect(JSON.parse(response.body.toString())).toMatchObject({
      code: "resource_exhausted",
      message: expect.stringContaining("after decompression"),
    });
  });

  it("refuses a Connect streaming message with connect-content-encoding gzip while inflating it", async () => {
    const response = await expectBombRefused(() =>
      http2Request(
        roomy.baseUrl,
        {
          ":path": "/switchyard.v1.RouterService/Stream",
          "content-type": "application/connect+proto",
          "connect-content-encoding": "gzip",
        },
        grpcFrame(bomb, 1),
      ),
    );
    // Connect streams end with an end-of-stream message (flag 0x02) carrying the error as JSON.
    const end = response.body.subarray(5).toString();
    expect(response.body[0]).toBe(0x02);
    expect(JSON.parse(end)).toMatchObject({
      error: { code: "resource_exhausted", message: expect.stringContaining("after decompression") },
    });
  });

  it("refuses a gRPC frame that declares more than maxBodyBytes before the body arrives", async () => {
    const declared = Buffer.alloc(5);
    declared.writeUInt32BE(1024 * MiB, 1);
    const response = await http2Request(
      switchyard.baseUrl,
      { ":path": "/switchyard.v1.RouterService/Route", "content-type": "application/grpc", te: "trailers" },
      (stream) => {
        // Only the 5-byte prefix: the promised gigabyte never comes, and the stream stays open.
        stream.write(declared);
      },
    );
    expect(grpcStatus(response)).toBe(Code.ResourceExhausted);
    expect(response.elapsedMs).toBeLessThan(1000);
  });

  it("still answers a request just under the limit", async () => {
    const request = create(RouteRequestSchema, {
      messages: [{ role: Role.USER, content: "y".repeat(MAX_BODY - 100) }],
    });
    expect(toBinary(RouteRequestSchema, request).length).toBeLessThan(MAX_BODY);
    const router = createClient(RouterService, createGrpcTransport({ baseUrl: switchyard.baseUrl }));
    expect(await codeOf(router.route(request))).toBe("ok");
  });
});
