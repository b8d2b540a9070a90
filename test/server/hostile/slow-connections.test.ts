import { connect as connectHttp2, constants } from "node:http2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  expectStillServing,
  FrameType,
  HTTP2_PREFACE,
  headersFrames,
  hpackBlock,
  http2Frame,
  http2Request,
  openRaw,
  parseFrames,
  type RawConnection,
  sleep,
  within,
} from "./hostile-wire.js";

const LIMITS = {
  sniffTimeoutMs: 300,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 500,
};
/** Timers, node's connection-checking interval and a loaded CI machine. */
const SLACK_MS = 700;

let switchyard: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY, { limits: LIMITS });
});
afterAll(() => switchyard.stop());
afterEach(() => expectStillServing(switchyard));

/** Writes `bytes` one byte every `everyMs` until the connection closes; resolves with when it closed. */
async function trickle(connection: RawConnection, bytes: Buffer, everyMs: number): Promise<number> {
  let closedAt: number | undefined;
  void connection.closed.then((ms) => {
    closedAt = ms;
  });
  for (let i = 0; i < bytes.length && closedAt === undefined; i++) {
    connection.socket.write(bytes.subarray(i, i + 1));
    await sleep(everyMs);
  }
  return within(5000, connection.closed, "server closing a trickling connection");
}

describe("slow and idle connections", () => {
  it("closes a connection that never sends a byte within sniffTimeoutMs", async () => {
    const connection = await openRaw(switchyard.port);
    const closedAfter = await within(LIMITS.sniffTimeoutMs + SLACK_MS, connection.closed, "close");
    expect(closedAfter).toBeGreaterThanOrEqual(LIMITS.sniffTimeoutMs - 50);
  });

  it("closes a connection trickling the HTTP/2 preface within sniffTimeoutMs, however steady", async () => {
    const connection = await openRaw(switchyard.port);
    // 24 bytes at 60 ms each would take 1.4 s: an inactivity timeout would never fire.
    const closedAfter = await trickle(connection, HTTP2_PREFACE, 60);
    expect(closedAfter).toBeLessThan(LIMITS.sniffTimeoutMs + SLACK_MS);
  });

  it("answers an HTTP/1.1 header block trickled byte by byte (slowloris) with 408 and closes", async () => {
    const connection = await openRaw(switchyard.port);
    const headers = Buffer.from(
      `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a\r\n${"X-Slow: x\r\n".repeat(40)}`,
    );
    const closedAfter = await trickle(connection, headers, 20);
    expect(closedAfter).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("answers an HTTP/1.1 body trickled byte by byte with 408 and closes within requestTimeoutMs", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(
      "POST /switchyard.v1.RouterService/Route HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    );
    const closedAfter = await trickle(connection, Buffer.from("{".padEnd(1000, " ")), 20);
    expect(closedAfter).toBeLessThan(LIMITS.requestTimeoutMs + SLACK_MS);
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes an idle HTTP/1.1 keep-alive connection after idleTimeoutMs", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(
      "POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    const closedAfter = await within(LIMITS.idleTimeoutMs + 1000 + SLACK_MS, connection.closed, "idle close");
    expect(connection.received().toString("latin1")).toMatch(/^HTTP\/1\.1 200 /);
    // Node adds keepAliveTimeoutBuffer (1 s) to the socket timeout behind keepAliveTimeout.
    expect(closedAfter).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
  });

  it("closes an HTTP/2 connection that sends the preface and then nothing after idleTimeoutMs", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(HTTP2_PREFACE);
    const closedAfter = await within(LIMITS.idleTimeoutMs + SLACK_MS, connection.closed, "idle close");
    expect(closedAfter).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
    expect(parseFrames(connection.received()).some((frame) => frame.type === FrameType.GOAWAY)).toBe(true);
  });

  it("closes an HTTP/2 session with no open stream after idleTimeoutMs (GOAWAY)", async () => {
    const session = connectHttp2(switchyard.baseUrl);
    session.on("error", () => {});
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    const started = performance.now();
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    await within(LIMITS.idleTimeoutMs + SLACK_MS, goaway, "GOAWAY on an idle session");
    expect(performance.now() - started).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
    session.destroy();
  });

  it("keeps an HTTP/2 session with an open stream past idleTimeoutMs (a quiet Watch is not idle)", async () => {
    const session = connectHttp2(switchyard.baseUrl);
    session.on("error", () => {});
    let closed = false;
    session.once("close", () => {
      closed = true;
    });
    const watch = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Watch",
      "content-type": "application/grpc",
      te: "trailers",
    });
    watch.end(Buffer.from([0, 0, 0, 0, 0]));
    const firstStatus = new Promise((resolve) => watch.once("data", resolve));
    await within(2000, firstStatus, "first Watch status");
    await sleep(LIMITS.idleTimeoutMs + LIMITS.requestTimeoutMs);
    expect(closed).toBe(false);
    expect(watch.closed).toBe(false);
    session.destroy();
  });

  it("resets an HTTP/2 stream whose body is trickled forever after requestTimeoutMs (CANCEL)", async () => {
    const response = await http2Request(
      switchyard.baseUrl,
      { ":path": "/switchyard.v1.RouterService/Route", "content-type": "application/grpc", te: "trailers" },
      (stream) => {
        // A frame header promising 1,000 bytes, then the bytes one at a time, never all of them.
        stream.write(Buffer.from([0, 0, 0, 0x03, 0xe8]));
        const drip = setInterval(() => stream.write(Buffer.from([0])), 50);
        stream.once("close", () => clearInterval(drip));
      },
    );
    expect(response.rstCode).toBe(constants.NGHTTP2_CANCEL);
    expect(response.elapsedMs).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 50);
    expect(response.elapsedMs).toBeLessThan(LIMITS.requestTimeoutMs + SLACK_MS);
  });

  it("resets an HTTP/2 stream opened before SETTINGS are acknowledged and never ended", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(HTTP2_PREFACE);
    connection.socket.write(http2Frame(FrameType.SETTINGS, 0, 0));
    connection.socket.write(
      headersFrames(
        1,
        hpackBlock([
          [":method", "POST"],
          [":scheme", "http"],
          [":path", "/grpc.health.v1.Health/Check"],
          [":authority", "a"],
          ["content-type", "application/grpc"],
        ]),
        false,
      ),
    );
    // Then the connection is closed as idle, its only stream gone.
    await within(LIMITS.requestTimeoutMs + LIMITS.idleTimeoutMs + SLACK_MS, connection.closed, "close");
    const frames = parseFrames(connection.received());
    const reset = frames.find((frame) => frame.type === FrameType.RST_STREAM && frame.streamId === 1);
    expect(reset?.payload.readUInt32BE(0)).toBe(constants.NGHTTP2_CANCEL);
  });
});
