import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RouteRequestSchema } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import { type ServerDeps, startServer } from "../../../src/server/server.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { expectStillServing, grpcFrame, grpcStatus, http2Request } from "./hostile-wire.js";

const MAX_DEADLINE_MS = 400;
/** connect's Code has no OK: success is grpc-status 0. */
const GRPC_OK = 0;
/** A mock that takes longer than the server's maximum deadline to answer. */
const SLOW_POLICY = MINIMAL_POLICY.replace("latency_ms: 1,", "latency_ms: 1500,");

let switchyard: TestSwitchyard;
let slow: TestSwitchyard;
beforeAll(async () => {
  switchyard = await startTestSwitchyard(MINIMAL_POLICY, { limits: { maxDeadlineMs: MAX_DEADLINE_MS } });
  slow = await startTestSwitchyard(SLOW_POLICY, { limits: { maxDeadlineMs: MAX_DEADLINE_MS } });
});
afterAll(async () => {
  await switchyard.stop();
  await slow.stop();
});
afterEach(() => expectStillServing(switchyard));

const ROUTE_MESSAGE = grpcFrame(
  toBinary(
    RouteRequestSchema,
    create(RouteRequestSchema, { messages: [{ role: Role.USER, content: "hi" }] }),
  ),
);

function grpcRoute(baseUrl: string, grpcTimeout: string) {
  return http2Request(
    baseUrl,
    {
      ":path": "/switchyard.v1.RouterService/Route",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": grpcTimeout,
    },
    ROUTE_MESSAGE,
  );
}

async function connectRoute(connectTimeoutMs: string) {
  const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-timeout-ms": connectTimeoutMs },
    body: JSON.stringify({ messages: [{ role: "ROLE_USER", content: "hi" }] }),
  });
  return { status: response.status, answer: (await response.json()) as { code?: string } };
}

describe("caller deadlines", () => {
  for (const value of ["0n", "0m", "0S", "999n"]) {
    it(`answers grpc-timeout: ${value} with DEADLINE_EXCEEDED before doing any work`, async () => {
      const before = switchyard.app.decisions.size;
      const response = await grpcRoute(switchyard.baseUrl, value);
      expect(grpcStatus(response)).toBe(Code.DeadlineExceeded);
      expect(switchyard.app.decisions.size).toBe(before);
    });
  }

  it("answers connect-timeout-ms: 0 with deadline_exceeded", async () => {
    const { answer } = await connectRoute("0");
    expect(answer.code).toBe("deadline_exceeded");
  });

  for (const value of ["abc", "123456789S", "1x", "-1m", ""]) {
    it(`refuses a malformed grpc-timeout ${JSON.stringify(value)} with INVALID_ARGUMENT`, async () => {
      expect(grpcStatus(await grpcRoute(switchyard.baseUrl, value))).toBe(Code.InvalidArgument);
    });
  }

  for (const value of ["-1", "1.5", "12345678901"]) {
    it(`refuses a malformed connect-timeout-ms ${JSON.stringify(value)} with INVALID_ARGUMENT`, async () => {
      const { status, answer } = await connectRoute(value);
      expect(status).toBe(400);
      expect(answer.code).toBe("invalid_argument");
    });
  }

  it("lowers a deadline above maxDeadlineMs to it: the call succeeds", async () => {
    expect(grpcStatus(await grpcRoute(switchyard.baseUrl, "60S"))).toBe(GRPC_OK);
    expect((await connectRoute("60000")).status).toBe(200);
  });

  it("lowers a deadline above maxDeadlineMs to it: a slow call ends at the maximum", async () => {
    const response = await grpcRoute(slow.baseUrl, "60S");
    expect(grpcStatus(response)).toBe(Code.DeadlineExceeded);
    expect(response.elapsedMs).toBeGreaterThanOrEqual(MAX_DEADLINE_MS - 50);
    expect(response.elapsedMs).toBeLessThan(1400);
  });

  // Node timers fire after 1 ms for any delay above 2^31-1 ms: unclamped, these would fail at once.
  for (const value of ["99999999H", "99999999M", "99999999S", "2147484m"]) {
    it(`does not fire a legal but huge grpc-timeout ${value} instantly`, async () => {
      expect(grpcStatus(await grpcRoute(switchyard.baseUrl, value))).toBe(GRPC_OK);
    });
  }

  it("does not fire a legal but huge connect-timeout-ms instantly", async () => {
    expect((await connectRoute("9999999999")).status).toBe(200);
  });
});

describe("server limits at startup", () => {
  // Limits are checked before anything else, so no dependencies are needed to see the refusal.
  const start = (limits: Parameters<typeof startServer>[1]["limits"]) =>
    startServer({} as ServerDeps, {
      host: "127.0.0.1",
      port: 0,
      operator: { host: "127.0.0.1", port: 0 },
      limits,
    });

  it("refuses a maxDeadlineMs no Node timer can honour", async () => {
    await expect(start({ maxDeadlineMs: 2 ** 31 })).rejects.toThrow(
      /maxDeadlineMs must be at most 2147483647/,
    );
  });

  it("refuses a headersTimeoutMs above requestTimeoutMs, and limits that are not positive integers", async () => {
    await expect(start({ headersTimeoutMs: 2000, requestTimeoutMs: 1000 })).rejects.toThrow(
      /headersTimeoutMs/,
    );
    await expect(start({ maxBodyBytes: 0 })).rejects.toThrow(/maxBodyBytes must be a positive integer/);
    await expect(start({ idleTimeoutMs: Number.POSITIVE_INFINITY })).rejects.toThrow(/idleTimeoutMs/);
  });
});
