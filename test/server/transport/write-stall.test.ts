import { connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamRequestSchema } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { eventually } from "../../helpers/async.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  Flag,
  FrameType,
  grpcFrame,
  HTTP2_PREFACE,
  headersFrames,
  hpackBlock,
  http2Frame,
  openRaw,
  parseFrames,
} from "../hostile/hostile-wire.js";

// Long enough that a busy machine descheduling the test's own reader does not look like a stalled caller.
const STALL_MS = 1000;
/** Enough tokens that their deltas overflow a 16 KiB flow-control window and a stream's buffer. */
const TOKENS = Array.from({ length: 6000 }, (_, index) => ` word${index}`);

let upstream: FakeOpenAi;
let switchyard: TestSwitchyard;

beforeAll(async () => {
  upstream = await startFakeOpenAi();
  switchyard = await startTestSwitchyard(
    `
providers:
  local_llm:
    kind: openai-compatible
    base_url: "${upstream.url}"
    hosted: false
    models: { llama: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 } }
routes:
  - name: default
    primary: { provider: local_llm, model: llama }
`,
    { limits: { writeStallMs: STALL_MS } },
  );
});

afterAll(async () => {
  await switchyard?.stop();
  await upstream?.close();
});

describe("a stream whose caller stops reading", () => {
  it("is cut after the write stall limit: the upstream request is aborted and the decision says why", async () => {
    // A slow answer: filling node's 64 KiB stream buffer would take it most of a minute, so only a
    // watch on progress (bytes the caller takes) cuts it near the limit.
    upstream.script({ type: "reply", content: TOKENS, tokenDelayMs: 5, hangAfterTokens: TOKENS.length });
    // HTTP/2 by hand: a 16-byte window the client never opens again (a node client would keep
    // reading into its own buffer).
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const connection = await openRaw(switchyard.port);
    try {
      const window16 = Buffer.alloc(6);
      window16.writeUInt16BE(0x4, 0); // SETTINGS_INITIAL_WINDOW_SIZE
      window16.writeUInt32BE(16, 2);
      connection.socket.write(HTTP2_PREFACE);
      connection.socket.write(http2Frame(FrameType.SETTINGS, 0, 0, window16));
      connection.socket.write(http2Frame(FrameType.SETTINGS, Flag.ACK, 0));
      const fields: Array<[string, string]> = [
        [":method", "POST"],
        [":scheme", "http"],
        [":authority", `127.0.0.1:${switchyard.port}`],
        [":path", "/switchyard.v1.RouterService/Stream"],
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["traceparent", `00-${traceId}-00f067aa0ba902b7-01`],
      ];
      connection.socket.write(headersFrames(1, hpackBlock(fields), false));
      const request = toBinary(
        StreamRequestSchema,
        create(StreamRequestSchema, { messages: [{ role: Role.USER, content: "talk for a long time" }] }),
      );
      connection.socket.write(http2Frame(FrameType.DATA, Flag.END_STREAM, 1, grpcFrame(request)));

      const [upstreamRequest] = await upstream.waitForRequests(1);
      const firstData = await eventually(
        () => parseFrames(connection.received()).some((f) => f.type === FrameType.DATA && f.streamId === 1),
        "the first bytes of the answer",
      );
      expect(firstData).toBe(true);
      const started = performance.now();
      const reset = await eventually(
        () =>
          parseFrames(connection.received()).find((f) => f.type === FrameType.RST_STREAM && f.streamId === 1),
        "the stream to be reset",
      );
      const cutAfter = performance.now() - started;
      // CANCEL, near the limit: not when a buffer happens to fill, and not at the call's deadline.
      expect(reset.payload.readUInt32BE(0)).toBe(8);
      expect(cutAfter).toBeLessThan(STALL_MS * 10);
      await upstreamRequest?.socketClosed;
      expect(upstreamRequest?.closedBeforeResponseEnd).toBe(true);

      const [recorded] = await eventually(() => {
        const calls = switchyard.app.decisions.byTrace(traceId);
        return calls.length > 0 ? calls : undefined;
      }, "the decision");
      expect(recorded?.outcome).toBe(
        `abandoned (stalled): the caller stopped reading the stream for ${STALL_MS} ms`,
      );
      const [attempt] = recorded?.decision.attempts ?? [];
      expect(attempt).toMatchObject({
        target: "local_llm/llama",
        outcome: "cancelled",
        message: `the caller stopped reading the stream for ${STALL_MS} ms; the upstream request was aborted`,
      });
      // What the provider sent before the cut was paid for, and is recorded as such.
      expect(attempt?.usage?.estimated).toBe(true);
      expect(attempt?.usage?.outputTokens).toBeGreaterThan(0);
      expect(recorded?.decision.costUsd).toBeGreaterThan(0);
      expect(switchyard.logs.some((line) => line.msg === "caller stopped reading; call cut")).toBe(true);
    } finally {
      connection.socket.destroy();
    }
  });

  it("is not cut while the caller reads, however long the stream", async () => {
    upstream.script({ type: "reply", content: TOKENS.slice(0, 2000), tokenDelayMs: 0 });
    const session = connect(switchyard.baseUrl, { settings: { initialWindowSize: 16 * 1024 } });
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/switchyard.v1.RouterService/Stream",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.end(
        grpcFrame(
          toBinary(
            StreamRequestSchema,
            create(StreamRequestSchema, { messages: [{ role: Role.USER, content: "go" }] }),
          ),
        ),
      );
      const trailers = new Promise<Record<string, unknown>>((resolve) => stream.once("trailers", resolve));
      // Slow, but reading: a little at a time.
      stream.on("data", () => {
        stream.pause();
        setTimeout(() => stream.resume(), 1);
      });
      expect((await trailers)["grpc-status"]).toBe("0");
    } finally {
      session.destroy();
    }
  });
});
