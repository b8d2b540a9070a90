import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import {
  exportedLogRecords,
  exportedSpans,
  type OtlpReceiver,
  startOtlpReceiver,
} from "../fakes/otlp-receiver.js";
import { ensureBuilt } from "../helpers/build.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process.js";
import { MINIMAL_POLICY } from "../helpers/switchyard.js";

// A whole server process per test, on a busy two-core machine.
vi.setConfig({ testTimeout: 60_000 });

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const TRACEPARENT = `00-${CALLER_TRACE}-${CALLER_SPAN}-01`;

let dir: string;
let policyPath: string;
let receiver: OtlpReceiver | undefined;
let served: ServeProcess | undefined;
let transports: TransportSet | undefined;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "switchyard-otlp-"));
  policyPath = join(dir, "policy.yaml");
  await writeFile(policyPath, MINIMAL_POLICY);
}, 120_000);

afterEach(async () => {
  transports?.close();
  transports = undefined;
  if (served && served.child.exitCode === null && served.child.signalCode === null)
    served.child.kill("SIGKILL");
  await served?.exited;
  served = undefined;
  await receiver?.close();
  receiver = undefined;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Serves with the OTEL_* variables given, and makes one Route call continuing the caller's trace. */
async function serveAndCall(env: NodeJS.ProcessEnv) {
  receiver = await startOtlpReceiver();
  served = await startServeProcess(policyPath, [], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
  transports = createTransports(served.baseUrl);
  const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
  const answer = await router.route(userRequest("hello"), { headers: { traceparent: TRACEPARENT } });
  expect(answer.decision?.traceId).toBe(CALLER_TRACE);
  return { receiver, answer };
}

describe("switchyard serve with OTEL_EXPORTER_OTLP_ENDPOINT", () => {
  it("exports the call's spans and its decision to a real OTLP/HTTP endpoint (http/json)", async () => {
    const { receiver, answer } = await serveAndCall({
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "switchyard-under-test",
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_BLRP_SCHEDULE_DELAY: "50",
    });
    await vi.waitFor(
      () => {
        const names = exportedSpans(receiver)
          .filter((span) => span.traceId === CALLER_TRACE)
          .map((span) => span.name);
        expect(names).toContain("switchyard.v1.RouterService/Route");
        expect(names).toContain("switchyard.record");
        expect(names).toContain("chat tiny");
      },
      { timeout: 15_000, interval: 50 },
    );
    const spans = exportedSpans(receiver).filter((span) => span.traceId === CALLER_TRACE);
    const call = spans.find((span) => span.name === "switchyard.v1.RouterService/Route");
    expect(call).toMatchObject({
      parentSpanId: CALLER_SPAN,
      service: "switchyard-under-test",
      scope: "switchyard",
      attributes: { "switchyard.call_id": answer.decision?.callId, "switchyard.target": "local/tiny" },
    });
    const steps = spans.filter((span) => span.parentSpanId === call?.spanId).map((span) => span.name);
    expect(steps).toHaveLength(8);

    await vi.waitFor(
      () => expect(exportedLogRecords(receiver).some((record) => record.traceId === CALLER_TRACE)).toBe(true),
      { timeout: 15_000, interval: 50 },
    );
    const [record] = exportedLogRecords(receiver).filter((record) => record.traceId === CALLER_TRACE);
    expect(record).toMatchObject({
      eventName: "switchyard.decision",
      spanId: call?.spanId,
      attributes: { "switchyard.call_id": answer.decision?.callId, "switchyard.outcome": "ok" },
      body: { callId: answer.decision?.callId, traceId: CALLER_TRACE, target: "local/tiny" },
    });
    // Metrics stay on /metrics: nothing is pushed unless OTEL_METRICS_EXPORTER asks.
    expect(receiver.exports.filter((sent) => sent.path === "/v1/metrics")).toEqual([]);
  });

  it("speaks the default protocol, http/protobuf, and flushes what is buffered when it is stopped", async () => {
    // Batches that would wait a minute: only the flush at shutdown can send them in time.
    const { receiver } = await serveAndCall({
      OTEL_BSP_SCHEDULE_DELAY: "60000",
      OTEL_BLRP_SCHEDULE_DELAY: "60000",
    });
    expect(receiver.exports).toEqual([]);
    served?.child.kill("SIGTERM");
    expect(await served?.exited).toBe("0");
    const traceBytes = Buffer.from(CALLER_TRACE, "hex");
    for (const path of ["/v1/traces", "/v1/logs"]) {
      const sent = receiver.exports.filter((one) => one.path === path);
      expect(sent.length, path).toBeGreaterThan(0);
      expect(sent.every((one) => one.headers["content-type"] === "application/x-protobuf")).toBe(true);
      expect(
        sent.some((one) => one.body.includes(traceBytes)),
        path,
      ).toBe(true);
    }
  });

  it("a collector that cannot be reached costs the calls nothing: they are answered, and the server says why, once", async () => {
    receiver = await startOtlpReceiver();
    const gone = receiver.url;
    await receiver.close();
    receiver = undefined;
    served = await startServeProcess(policyPath, [], {
      OTEL_EXPORTER_OTLP_ENDPOINT: gone,
      // Each export gives up (after its retries) within half a second.
      OTEL_EXPORTER_OTLP_TIMEOUT: "500",
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_BLRP_SCHEDULE_DELAY: "50",
    });
    transports = createTransports(served.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    for (let i = 0; i < 5; i++)
      expect((await router.route(userRequest("hello"))).decision?.target).toBe("local/tiny");
    await vi.waitFor(() => expect(served?.stderr()).toMatch(/"component":"otel".*ECONNREFUSED/), {
      timeout: 20_000,
      interval: 100,
    });
    for (let i = 0; i < 5; i++)
      expect((await router.route(userRequest("hello"))).decision?.target).toBe("local/tiny");
    served.child.kill("SIGTERM");
    expect(await served.exited).toBe("0");
    // Batch after batch failed; each complaint was said once.
    const complaints = served
      .stderr()
      .split("\n")
      .filter((line) => line.includes('"component":"otel"'));
    expect(new Set(complaints.map((line) => JSON.parse(line).msg)).size).toBe(complaints.length);
  });
});
