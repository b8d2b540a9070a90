import { connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamRequestSchema } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { type FakeOpenAi, startFakeOpenAi } from "../../fakes/fake-openai-server.js";
import { eventually } from "../../helpers/async.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { grpcFrame } from "../hostile/hostile-wire.js";

const STALL_MS = 300;
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
    upstream.script({ type: "reply", content: TOKENS, hangAfterTokens: TOKENS.length });
    // An HTTP/2 client with a small window that never reads what it is sent.
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
            create(StreamRequestSchema, { messages: [{ role: Role.USER, content: "talk for a long time" }] }),
          ),
        ),
      );
      const headers = await new Promise<Record<string, unknown>>((resolve) =>
        stream.once("response", resolve),
      );
      const callId = String(headers["x-call-id"]);
      const reset = new Promise<number>((resolve) =>
        stream.once("close", () => resolve(stream.rstCode ?? -1)),
      );

      const [request] = await upstream.waitForRequests(1);
      const started = performance.now();
      // The server resets the stream (CANCEL) and the upstream connection closes, well before any deadline.
      expect(await reset).toBe(8);
      await request?.socketClosed;
      expect(request?.closedBeforeResponseEnd).toBe(true);
      expect(performance.now() - started).toBeLessThan(10_000);

      const recorded = await eventually(() => switchyard.app.decisions.byCall(callId), "the decision");
      expect(recorded.outcome).toBe("abandoned: CallerStalledError");
      const [attempt] = recorded.decision.attempts;
      expect(attempt).toMatchObject({
        target: "local_llm/llama",
        outcome: "cancelled",
        message: `the caller stopped reading the stream for ${STALL_MS} ms; the upstream request was aborted`,
      });
      // What was delivered before the stall was paid for, and is recorded as such.
      expect(attempt?.usage?.estimated).toBe(true);
      expect(attempt?.usage?.outputTokens).toBeGreaterThan(0);
      expect(recorded.decision.costUsd).toBeGreaterThan(0);
      expect(switchyard.logs.some((line) => line.msg === "caller stopped reading; call cut")).toBe(true);
    } finally {
      session.destroy();
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
