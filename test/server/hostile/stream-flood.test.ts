import { connect as connectHttp2, constants, type Settings } from "node:http2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../../src/server/transport/server-limits.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  expectStillServing,
  FrameType,
  HTTP2_PREFACE,
  headersFrames,
  hpackBlock,
  http2Frame,
  openRaw,
  parseFrames,
  sleep,
  within,
} from "./hostile-wire.js";

const MAX_STREAMS = DEFAULT_LIMITS.maxConcurrentStreams;

let switchyard: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY);
});
afterAll(() => switchyard.stop());
afterEach(() => expectStillServing(switchyard));

function routeHeaders(): Record<string, string> {
  return {
    ":method": "POST",
    ":path": "/switchyard.v1.RouterService/Route",
    "content-type": "application/grpc",
    te: "trailers",
  };
}

describe("many streams on one HTTP/2 connection", () => {
  it("advertises maxConcurrentStreams in SETTINGS", async () => {
    const session = connectHttp2(switchyard.baseUrl);
    try {
      const settings = await within(
        2000,
        new Promise<Settings>((resolve) => session.once("remoteSettings", resolve)),
        "SETTINGS",
      );
      expect(settings.maxConcurrentStreams).toBe(MAX_STREAMS);
    } finally {
      session.destroy();
    }
  });

  it("refuses streams beyond maxConcurrentStreams with REFUSED_STREAM, even before SETTINGS are acknowledged", async () => {
    const connection = await openRaw(switchyard.port);
    connection.socket.write(HTTP2_PREFACE);
    connection.socket.write(http2Frame(FrameType.SETTINGS, 0, 0));
    const block = hpackBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/grpc.health.v1.Health/Watch"],
      [":authority", "a"],
      ["content-type", "application/grpc"],
    ]);
    const extra = 20;
    // Streams that stay open (no END_STREAM): every one holds a slot.
    const opens = Array.from({ length: MAX_STREAMS + extra }, (_, i) =>
      headersFrames(2 * i + 1, block, false),
    );
    connection.socket.write(Buffer.concat(opens));
    const refused = () =>
      parseFrames(connection.received()).filter(
        (frame) =>
          frame.type === FrameType.RST_STREAM &&
          frame.payload.readUInt32BE(0) === constants.NGHTTP2_REFUSED_STREAM,
      ).length;
    await within(
      3000,
      (async () => {
        while (refused() < extra) await sleep(20);
      })(),
      "REFUSED_STREAM for the extra streams",
    );
    expect(refused()).toBe(extra);
    connection.socket.destroy();
  });

  it("stays healthy after 500 streams opened and reset at once (rapid reset)", async () => {
    const session = connectHttp2(switchyard.baseUrl);
    session.on("error", () => {});
    await within(2000, new Promise((resolve) => session.once("remoteSettings", resolve)), "SETTINGS");
    const closed: Array<Promise<void>> = [];
    for (let i = 0; i < 500; i++) {
      const stream = session.request(routeHeaders());
      stream.on("error", () => {});
      closed.push(new Promise((resolve) => stream.once("close", () => resolve())));
      stream.close(constants.NGHTTP2_CANCEL);
    }
    await within(5000, Promise.all(closed), "500 reset streams closing");
    session.destroy();
  });

  it("stays healthy after 500 raw HEADERS + RST_STREAM pairs written in one burst", async () => {
    const connection = await openRaw(switchyard.port);
    const block = hpackBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/switchyard.v1.RouterService/Route"],
      [":authority", "a"],
      ["content-type", "application/grpc"],
    ]);
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(constants.NGHTTP2_CANCEL);
    const burst = Array.from({ length: 500 }, (_, i) =>
      Buffer.concat([
        headersFrames(2 * i + 1, block, false),
        http2Frame(FrameType.RST_STREAM, 0, 2 * i + 1, cancel),
      ]),
    );
    connection.socket.write(Buffer.concat([HTTP2_PREFACE, http2Frame(FrameType.SETTINGS, 0, 0), ...burst]));
    await sleep(300);
    connection.socket.destroy();
  });
});
