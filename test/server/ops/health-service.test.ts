import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/health/v1/health_pb.js";
import { RouterService, type StreamResponse } from "../../../gen/switchyard/v1/router_pb.js";
import { rejectionOf, within } from "../../helpers/async.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { nextOf } from "../../helpers/pushable.js";
import { eventCases, userRequest } from "../../helpers/rpc.js";
import { grpcFrame, grpcStatus, http2Request } from "../hostile/hostile-wire.js";

describe("grpc.health.v1.Health", () => {
  const frontDoor = useFrontDoor();
  const health = () => createClient(Health, frontDoor.transports.get("gRPC over h2c (binary)"));

  it("says SERVING for the whole server and for each served service", async () => {
    for (const service of ["", "switchyard.v1.RouterService", "switchyard.v1.AdminService"])
      expect((await health().check({ service })).status, service).toBe(Status.SERVING);
  });

  it("answers Check over Connect on HTTP/1.1 too", async () => {
    const client = createClient(Health, frontDoor.transports.get("Connect over HTTP/1.1 (JSON)"));
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
  });

  it("answers NOT_FOUND for a service it does not serve", async () => {
    const error = ConnectError.from(await rejectionOf(() => health().check({ service: "no.such.Service" })));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain("no.such.Service");
  });

  it("answers NOT_FOUND, naming it safely, for a service name that is not UTF-8 (it used to never answer)", async () => {
    // HealthCheckRequest { service: bytes ff fe }: not UTF-8; echoed raw, connect could not write the status.
    const response = await within(
      http2Request(
        frontDoor.switchyard.baseUrl,
        { ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" },
        grpcFrame(Buffer.from([0x0a, 0x02, 0xff, 0xfe])),
      ),
      5000,
      "an answer",
    );
    expect(grpcStatus(response)).toBe(Code.NotFound);
    expect(decodeURIComponent(String(response.trailers["grpc-message"]))).toMatch(/^unknown service "/);
  });

  it("Watch of a service it does not serve sends SERVICE_UNKNOWN and stays open", async () => {
    const abort = new AbortController();
    const updates = health()
      .watch({ service: "no.such.Service" }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await nextOf(updates)).status).toBe(Status.SERVICE_UNKNOWN);
    abort.abort();
    expect(ConnectError.from(await rejectionOf(() => nextOf(updates))).code).toBe(Code.Canceled);
  });

  it("lists every service with its status", async () => {
    const { statuses } = await health().list({});
    expect(Object.keys(statuses).sort()).toEqual([
      "",
      "switchyard.v1.AdminService",
      "switchyard.v1.RouterService",
    ]);
    expect(Object.values(statuses).every((s) => s.status === Status.SERVING)).toBe(true);
  });
});

describe("draining", () => {
  // A drain ends the server: each test gets its own.
  const frontDoor = useFrontDoor({ per: "each" });

  /** Starts a ~1 s stream (task slow) and resolves once its first token has arrived. */
  async function streamInFlight() {
    const router = createClient(RouterService, frontDoor.transports.get("gRPC over h2c (binary)"));
    const events: StreamResponse[] = [];
    const iterator = router.stream(userRequest("take your time", { task: "slow" }))[Symbol.asyncIterator]();
    while (!events.some((e) => e.event.case === "delta")) events.push(await nextOf(iterator));
    const rest = (async () => {
      for (let step = await iterator.next(); !step.done; step = await iterator.next())
        events.push(step.value);
      return events;
    })();
    return { rest };
  }

  it("Watch sends SERVING, then NOT_SERVING as soon as a drain starts", async () => {
    const watcher = createClient(Health, frontDoor.transports.get("gRPC over h2c (binary)"));
    const abort = new AbortController();
    const updates = watcher
      .watch({ service: "switchyard.v1.RouterService" }, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await nextOf(updates)).status).toBe(Status.SERVING);

    // A call in flight holds the drain open, so the update has a live connection to travel on.
    const { rest } = await streamInFlight();
    const drained = frontDoor.switchyard.app.server.drain();
    expect((await nextOf(updates)).status).toBe(Status.NOT_SERVING);
    abort.abort();
    // How the stream in flight ends is the next test's subject; here it only held the drain open.
    await rest.catch(() => undefined);
    await drained;
  });

  it("during a drain says NOT_SERVING, refuses new calls with UNAVAILABLE and lets a stream in flight finish", async () => {
    const { rest } = await streamInFlight();
    const drained = frontDoor.switchyard.app.server.drain();

    const health = createClient(Health, frontDoor.transports.get("gRPC over h2c (binary)"));
    expect((await health.check({ service: "" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "switchyard.v1.RouterService" })).status).toBe(Status.NOT_SERVING);

    for (const kind of ["gRPC over h2c (binary)", "Connect over h2c (JSON)"] as const) {
      const router = createClient(RouterService, frontDoor.transports.get(kind));
      const refused = ConnectError.from(await rejectionOf(() => router.route(userRequest("hi"))));
      expect(refused.code, kind).toBe(Code.Unavailable);
      expect(refused.rawMessage).toContain("shutting down");
    }

    const events = await rest;
    expect(eventCases(events).at(-1)).toBe("done");
    expect(events.filter((e) => e.event.case === "delta")).toHaveLength(10);
    await drained;
  });
});
