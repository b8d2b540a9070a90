import { connect as connectHttp2, constants, type Settings } from "node:http2";
import { credentials, Client as GrpcClient, Metadata, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../../src/server/transport/server-limits.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  expectStillServing,
  Flag,
  FrameType,
  HTTP2_PREFACE,
  headersFrames,
  hpackBlock,
  http2Frame,
  http2Request,
  openRaw,
  parseFrames,
  type RawConnection,
  within,
} from "./hostile-wire.js";

const MAX_HEADER_BYTES = 8 * 1024;
const MAX_HEADER_PAIRS = 32;

let switchyard: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY, {
    limits: { maxHeaderBytes: MAX_HEADER_BYTES, maxHeaderPairs: MAX_HEADER_PAIRS },
  });
});
afterAll(() => switchyard.stop());
afterEach(() => expectStillServing(switchyard));

const HEALTH_CHECK: Array<[string, string]> = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/grpc.health.v1.Health/Check"],
  [":authority", "127.0.0.1"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];
const EMPTY_GRPC_MESSAGE = Buffer.from([0, 0, 0, 0, 0]);

/**
 * Sends the preface, an empty SETTINGS and one request on stream 1, and never acknowledges the
 * server's SETTINGS, so none of its advertised limits are in force yet.
 */
async function requestBeforeSettingsAck(fields: Array<[string, string]>): Promise<RawConnection> {
  const connection = await openRaw(switchyard.port);
  connection.socket.write(HTTP2_PREFACE);
  connection.socket.write(http2Frame(FrameType.SETTINGS, 0, 0));
  connection.socket.write(headersFrames(1, hpackBlock(fields), false));
  connection.socket.write(http2Frame(FrameType.DATA, Flag.END_STREAM, 1, EMPTY_GRPC_MESSAGE));
  return connection;
}

/** Waits until the server reset stream 1 (its code) or answered it with HEADERS ("answered"). */
async function outcomeOfStream1(connection: RawConnection): Promise<number | "answered" | "goaway"> {
  return within(
    2000,
    (async () => {
      for (;;) {
        for (const frame of parseFrames(connection.received())) {
          if (frame.type === FrameType.RST_STREAM && frame.streamId === 1)
            return frame.payload.readUInt32BE(0);
          if (frame.type === FrameType.HEADERS && frame.streamId === 1) return "answered";
          if (frame.type === FrameType.GOAWAY) return "goaway";
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })(),
    "stream 1 outcome",
  );
}

describe("request header blocks at the front door", () => {
  it("answers an HTTP/1.1 header block over maxHeaderBytes with 431 and closes", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(
      `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(MAX_HEADER_BYTES)}\r\n\r\n`,
    );
    await within(2000, connection.closed, "close after 431");
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("answers an HTTP/1.1 request with more than maxHeaderPairs headers with 431 and closes", async () => {
    const connection = await openRaw(switchyard.port);
    const headers = Array.from({ length: MAX_HEADER_PAIRS + 1 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
    connection.socket.write(
      `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n${headers}\r\n`,
    );
    await within(2000, connection.closed, "close after 431");
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("answers an HTTP/1.0 request without Host with 400 instead of crashing", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(
      "POST /grpc.health.v1.Health/Check HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    await within(2000, connection.closed, "close after 400");
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("advertises maxHeaderListSize and maxConcurrentStreams in its HTTP/2 SETTINGS", async () => {
    const session = connectHttp2(switchyard.baseUrl);
    try {
      const settings = await within(
        2000,
        new Promise<Settings>((resolve) => session.once("remoteSettings", resolve)),
        "server SETTINGS",
      );
      expect(settings.maxHeaderListSize).toBe(MAX_HEADER_BYTES);
      expect(settings.maxConcurrentStreams).toBe(DEFAULT_LIMITS.maxConcurrentStreams);
    } finally {
      session.destroy();
    }
  });

  it("resets an HTTP/2 header list over maxHeaderBytes once SETTINGS are acknowledged (ENHANCE_YOUR_CALM)", async () => {
    const response = await http2Request(
      switchyard.baseUrl,
      {
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
        "x-big": "a".repeat(MAX_HEADER_BYTES),
      },
      EMPTY_GRPC_MESSAGE,
    );
    expect(response.rstCode).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });

  it("which a gRPC client reports as RESOURCE_EXHAUSTED", async () => {
    const client = new GrpcClient(`127.0.0.1:${switchyard.port}`, credentials.createInsecure());
    try {
      const metadata = new Metadata();
      metadata.set("x-big", "a".repeat(MAX_HEADER_BYTES));
      const code = await new Promise<number>((resolve) =>
        client.makeUnaryRequest(
          "/grpc.health.v1.Health/Check",
          (request: Buffer) => request,
          (response: Buffer) => response,
          Buffer.alloc(0),
          metadata,
          (error) => resolve(error?.code ?? status.OK),
        ),
      );
      expect(code).toBe(status.RESOURCE_EXHAUSTED);
    } finally {
      client.close();
    }
  });

  it("refuses an HTTP/2 header list over maxHeaderBytes sent before SETTINGS are acknowledged", async () => {
    const connection = await requestBeforeSettingsAck([
      ...HEALTH_CHECK,
      ["x-big", "a".repeat(MAX_HEADER_BYTES)],
    ]);
    expect(await outcomeOfStream1(connection)).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    connection.socket.destroy();
  });

  it("refuses HTTP/2 requests with more than maxHeaderPairs headers sent before SETTINGS are acknowledged", async () => {
    const many = Array.from({ length: MAX_HEADER_PAIRS }, (_, i): [string, string] => [`x-h${i}`, `${i}`]);
    const connection = await requestBeforeSettingsAck([...HEALTH_CHECK, ...many]);
    expect(await outcomeOfStream1(connection)).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    connection.socket.destroy();
  });

  it("bounds the largest HTTP/2 header block a client can send before acknowledging SETTINGS", async () => {
    // 16 HEADERS/CONTINUATION frames of 16 KiB: past nghttp2's cap on CONTINUATION frames.
    const huge = Array.from({ length: 16 }, (_, i): [string, string] => [`x-big-${i}`, "a".repeat(16_000)]);
    const connection = await requestBeforeSettingsAck([...HEALTH_CHECK, ...huge]);
    // nghttp2 ends the connection (GOAWAY) once a header block spans too many CONTINUATION frames.
    expect(["goaway", constants.NGHTTP2_ENHANCE_YOUR_CALM]).toContain(await outcomeOfStream1(connection));
    connection.socket.destroy();
  });

  it("accepts a normal HTTP/2 request before SETTINGS are acknowledged", async () => {
    const connection = await requestBeforeSettingsAck(HEALTH_CHECK);
    expect(await outcomeOfStream1(connection)).toBe("answered");
    connection.socket.destroy();
  });

  it("resets an HTTP/2 request without :authority instead of crashing", async () => {
    const connection = await requestBeforeSettingsAck(HEALTH_CHECK.filter(([name]) => name !== ":authority"));
    expect(await outcomeOfStream1(connection)).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    connection.socket.destroy();
  });
});
