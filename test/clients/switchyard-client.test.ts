import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSwitchyardClient,
  createSwitchyardClients,
  decisionOf,
  type StreamEvent,
  SwitchyardError,
  type SwitchyardProtocol,
} from "../../clients/ts/switchyard-client.js";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const POLICY = `
providers:
  local: { kind: mock, hosted: false, mock: { latency_ms: 1, token_interval_ms: 1 } }
  down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: server_error } }
  slow: { kind: mock, hosted: false, mock: { latency_ms: 5000 } }
routes:
  - name: broken
    match: { task: broken }
    primary: { provider: down, model: a }
  - name: slow
    match: { task: slow }
    primary: { provider: slow, model: s }
  - name: acme
    match: { tenant: acme }
    primary: { provider: local, model: tiny }
  - name: default
    primary: { provider: local, model: tiny }
`;

const hi = [{ role: Role.USER, content: "hi" }];

describe("createSwitchyardClients", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(POLICY);
  });
  afterAll(async () => {
    await service.stop();
  });

  for (const protocol of ["grpc", "connect", "grpc-web"] satisfies SwitchyardProtocol[])
    it(`routes over ${protocol}`, async () => {
      const { router } = createSwitchyardClients({ baseUrl: service.baseUrl, protocol });
      const answer = await router.route({ messages: hi });
      expect(answer.decision?.target).toBe("local/tiny");
    });

  it("reads the decision a failed call carries", async () => {
    const { router } = createSwitchyardClients({ baseUrl: service.baseUrl });
    const error = await router.route({ messages: hi, task: "broken" }).catch((e: unknown) => e);
    // A 500 is retried once on the same target (the default retry.max_attempts: 2).
    expect(decisionOf(error)).toMatchObject({
      route: "broken",
      attempts: [{ target: "down/a" }, { target: "down/a", retry: 1 }],
    });
    expect(decisionOf(new Error("not from Switchyard"))).toBeUndefined();
  });
});

describe("createSwitchyardClient", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(POLICY);
  });
  afterAll(async () => {
    await service.stop();
  });

  for (const protocol of ["grpc", "connect", "grpc-web"] satisfies SwitchyardProtocol[])
    it(`sends its tenant on every call over ${protocol} unless the request names one`, async () => {
      const client = createSwitchyardClient({ baseUrl: service.baseUrl, protocol, tenant: "acme" });
      expect((await client.route({ messages: hi })).decision).toMatchObject({
        route: "acme",
        tenant: "acme",
      });
      expect((await client.classify({ messages: hi })).decision).toMatchObject({
        route: "acme",
        dryRun: true,
      });
      const own = await client.route({ messages: hi, tenant: "globex" });
      expect(own.decision).toMatchObject({ route: "default", tenant: "globex" });
    });

  it("streams typed events that end with done carrying the decision", async () => {
    const client = createSwitchyardClient({ baseUrl: service.baseUrl, tenant: "acme" });
    const events: StreamEvent[] = [];
    for await (const event of client.stream({ messages: hi })) events.push(event);
    expect(events[0]?.case).toBe("decision");
    expect(events.some((event) => event.case === "delta")).toBe(true);
    const last = events.at(-1);
    expect(last?.case).toBe("done");
    if (last?.case === "done")
      expect(last.value.decision).toMatchObject({ route: "acme", target: "local/tiny" });
  });

  it("throws a SwitchyardError carrying the status code and the decision", async () => {
    const client = createSwitchyardClient({ baseUrl: service.baseUrl });
    const error = await client.route({ messages: hi, task: "broken" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchyardError);
    // Still a ConnectError, so decisionOf and existing `instanceof ConnectError` checks keep working.
    expect(error).toBeInstanceOf(ConnectError);
    const failure = error as SwitchyardError;
    expect(failure.code).toBe(Code.Unavailable);
    expect(failure.decision).toMatchObject({ route: "broken", attempts: [{ target: "down/a" }, {}] });
    expect(decisionOf(failure)).toEqual(failure.decision);
    expect(new ConnectError("plain")).not.toBeInstanceOf(SwitchyardError);
  });

  it("throws from the stream, and gives no decision for a request refused before routing", async () => {
    const client = createSwitchyardClient({ baseUrl: service.baseUrl });
    const consume = async () => {
      for await (const _ of client.stream({ messages: [{ role: Role.USER, content: "" }] }));
    };
    const error = (await consume().catch((e: unknown) => e)) as SwitchyardError;
    expect(error).toBeInstanceOf(SwitchyardError);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("messages[0].content");
    expect(error.decision).toBeUndefined();
  });

  it("ends a call at its deadline (the client's, or the call's own)", async () => {
    const client = createSwitchyardClient({ baseUrl: service.baseUrl, deadlineMs: 100 });
    const started = performance.now();
    const error = (await client
      .route({ messages: hi, task: "slow" })
      .catch((e: unknown) => e)) as SwitchyardError;
    expect(error.code).toBe(Code.DeadlineExceeded);
    const own = (await client
      .route({ messages: hi, task: "slow" }, { deadlineMs: 50 })
      .catch((e: unknown) => e)) as SwitchyardError;
    expect(own.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
