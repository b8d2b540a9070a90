import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/health/v1/health_pb.js";
import {
  AdminService,
  BreakerState,
  ReloadOutcome,
  TargetState,
} from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, DecisionSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { type ServerDeps, startServer } from "../../../src/server/server.js";
import { rejectionOf } from "../../helpers/async.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { FRONT_DOOR_POLICY, UNSET_KEY_VARIABLE } from "../../helpers/policies.js";
import { TRANSPORT_KINDS, traceparent, userRequest } from "../../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

const frontDoor = useFrontDoor();

describe.each(
  TRANSPORT_KINDS.filter((kind) => !kind.includes("(JSON)") || kind.startsWith("Connect over HTTP/1.1")),
)("AdminService over %s", (kind) => {
  const admin = () => createClient(AdminService, frontDoor.operator.get(kind));
  const router = () => createClient(RouterService, frontDoor.transports.get(kind));

  it("GetPolicy names the policy in force, its routes and the providers left out", async () => {
    const policy = await admin().getPolicy({});
    expect(policy.version).toBe(frontDoor.switchyard.app.policies.current().version);
    expect(policy.source).toBe(frontDoor.switchyard.policyPath);
    expect(policy.routes).toEqual(["chat", "doomed", "hang", "slow", "default"]);
    expect(policy.loadedAt && timestampDate(policy.loadedAt).getTime()).toBeLessThanOrEqual(Date.now());
    expect(policy.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`"openai".*${UNSET_KEY_VARIABLE} is not set`)),
      ]),
    );
  });

  it("ListTargets reports each target once, the one without its key DISABLED with the reason", async () => {
    const { targets } = await admin().listTargets({});
    expect(targets.map((t) => t.target)).toEqual([
      "openai/gpt-4.1",
      "flaky/big",
      "local/tiny",
      "broken/big",
      "hung/forever",
      "slow/steady",
    ]);
    const openai = targets.find((t) => t.target === "openai/gpt-4.1");
    expect(openai).toMatchObject({
      provider: "openai",
      model: "gpt-4.1",
      kind: "openai-compatible",
      hosted: true,
      state: TargetState.DISABLED,
    });
    expect(openai?.reason).toContain(`${UNSET_KEY_VARIABLE} is not set`);
    expect(targets.find((t) => t.target === "local/tiny")).toMatchObject({
      kind: "mock",
      hosted: false,
      state: TargetState.AVAILABLE,
      reason: "",
      inputUsdPerMtok: 1,
      outputUsdPerMtok: 2,
    });
  });

  it("GetDecision returns the decision a Route took, by its call id", async () => {
    const routed = await router().route(userRequest("hello", { task: "chat", dataClass: "public" }));
    const callId = routed.decision?.callId ?? "";
    expect(callId).toMatch(/^[0-9a-f]{16}$/);
    const { decision, recordedAt, outcome } = await admin().getDecision({ callId });
    expect(decision).toEqual(routed.decision);
    expect(recordedAt).toBeDefined();
    expect(outcome).toBe("ok");
  });

  it("GetDecision lists every recent call made under one caller trace, each with its own call id", async () => {
    const traceId = randomBytes(16).toString("hex");
    const headers = { traceparent: traceparent(traceId) };
    const first = await router().route(userRequest("first"), { headers });
    const second = await router().route(userRequest("second"), { headers });
    const { decision, traceDecisions } = await admin().getDecision({ traceId });
    expect(decision).toBeUndefined();
    expect(traceDecisions.map((entry) => entry.decision?.callId)).toEqual([
      first.decision?.callId,
      second.decision?.callId,
    ]);
    expect(traceDecisions.map((entry) => entry.outcome)).toEqual(["ok", "ok"]);
  });

  it("GetDecision keeps a call's decision its own when another caller reuses its traceparent", async () => {
    const traceId = randomBytes(16).toString("hex");
    const victim = await router().route(userRequest("mine", { task: "chat", dataClass: "public" }), {
      headers: { traceparent: traceparent(traceId) },
    });
    // Another caller plants a call under the same trace.
    await router()
      .route(userRequest("planted", { task: "doomed" }), {
        headers: { traceparent: traceparent(traceId) },
      })
      .catch(() => undefined);
    const { decision } = await admin().getDecision({ callId: victim.decision?.callId ?? "" });
    expect(decision).toEqual(victim.decision);
  });

  it("GetDecision also has the decision of a call that failed, found by its x-call-id", async () => {
    const error = ConnectError.from(
      await rejectionOf(() => router().route(userRequest("hi", { task: "doomed" }))),
    );
    const callId = error.metadata.get("x-call-id") ?? "";
    expect(callId).toMatch(/^[0-9a-f]{16}$/);
    expect(error.metadata.get("x-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    const { decision, outcome } = await admin().getDecision({ callId });
    expect(decision?.route).toBe("doomed");
    expect(decision?.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.FAILED, AttemptOutcome.FAILED]);
    expect(outcome).toBe("AllTargetsFailedError");
  });

  it("GetDecision answers NOT_FOUND for an unknown id and INVALID_ARGUMENT for a malformed one or a wrong pair", async () => {
    for (const [request, field] of [
      [{ traceId: "f".repeat(32) }, "traceId"],
      [{ callId: "f".repeat(16) }, "callId"],
    ] as const) {
      const unknown = ConnectError.from(await rejectionOf(() => admin().getDecision(request)));
      expect(unknown.code).toBe(Code.NotFound);
      expect(unknown.rawMessage).toMatch(new RegExp(`^${field}: `));
    }
    for (const traceId of ["xyz", "A".repeat(32), "0".repeat(31)]) {
      const malformed = ConnectError.from(await rejectionOf(() => admin().getDecision({ traceId })));
      expect(malformed.code, traceId).toBe(Code.InvalidArgument);
      expect(malformed.rawMessage).toMatch(/^traceId: /);
    }
    const malformedCall = ConnectError.from(await rejectionOf(() => admin().getDecision({ callId: "x" })));
    expect(malformedCall.rawMessage).toMatch(/^callId: /);
    for (const request of [{}, { traceId: "f".repeat(32), callId: "f".repeat(16) }]) {
      const error = ConnectError.from(await rejectionOf(() => admin().getDecision(request)));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toBe("set exactly one of callId and traceId");
    }
  });
});

describe("AdminService on the operator listener", () => {
  it("is not served on the router port, which still answers health checks", async () => {
    const transport = frontDoor.transports.get("gRPC over h2c (binary)");
    const error = ConnectError.from(
      await rejectionOf(() => createClient(AdminService, transport).getPolicy({})),
    );
    expect(error.code).toBe(Code.Unimplemented);
    const health = await createClient(Health, transport).check({});
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const operatorHealth = await createClient(Health, frontDoor.operator.get("gRPC over h2c (binary)")).check(
      {},
    );
    expect(operatorHealth.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("GetPolicy tells whether the last reload applied, found nothing changed, or was refused, and why", async () => {
    const { app, policyPath } = frontDoor.switchyard;
    const admin = createClient(AdminService, frontDoor.operator.get("gRPC over h2c (binary)"));
    await app.reloader.reload("SIGHUP");
    const unchanged = await admin.getPolicy({});
    expect(unchanged.lastReload).toMatchObject({
      trigger: "SIGHUP",
      outcome: ReloadOutcome.UNCHANGED,
      version: app.policies.current().version,
      issues: [],
    });
    await writeFile(policyPath, `${FRONT_DOOR_POLICY}\nbogus_key: 1\n`);
    try {
      await app.reloader.reload("SIGHUP");
      const refused = await admin.getPolicy({});
      expect(refused.lastReload?.outcome).toBe(ReloadOutcome.REFUSED);
      expect(refused.lastReload?.issues.join("\n")).toContain("bogus_key");
      // The policy in force is still the one before.
      expect(refused.version).toBe(unchanged.version);
    } finally {
      await writeFile(policyPath, FRONT_DOOR_POLICY);
      await app.reloader.reload("SIGHUP");
    }
  });
});

describe("target health and outage drills", () => {
  let service: TestSwitchyard;
  const clients = () => {
    const transport = createGrpcTransport({ baseUrl: service.baseUrl });
    const operator = createGrpcTransport({ baseUrl: service.operatorUrl });
    return { router: createClient(RouterService, transport), admin: createClient(AdminService, operator) };
  };
  beforeAll(async () => {
    service = await startTestSwitchyard(`
providers:
  down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: unavailable } }
  local: { kind: mock, hosted: false, mock: { latency_ms: 1, token_interval_ms: 1 } }
routes:
  - name: default
    primary: { provider: down, model: a }
    fallback: [{ provider: local, model: tiny }]
    retry: { max_attempts: 1 }
    breaker: { consecutive_failures: 2, open_ms: 60000 }
`);
  });
  afterAll(async () => {
    await service.stop();
  });

  it("ListTargets shows an open breaker (since when, why, recent failure rate) and what the others observed, latency percentiles included", async () => {
    const { router, admin } = clients();
    for (let call = 0; call < 3; call += 1) await router.route(userRequest("hi"));
    const { targets } = await admin.listTargets({});
    const down = targets.find((target) => target.target === "down/a");
    expect(down).toMatchObject({
      state: TargetState.BREAKER_OPEN,
      reason: "breaker open (2 failures in a row)",
      breaker: BreakerState.OPEN,
      recentFailureRate: 1,
      recentCalls: 2,
      inFlight: 0,
    });
    expect(down?.breakerSince && timestampDate(down.breakerSince).getTime()).toBeLessThanOrEqual(Date.now());
    const local = targets.find((target) => target.target === "local/tiny");
    expect(local).toMatchObject({
      state: TargetState.AVAILABLE,
      breaker: BreakerState.CLOSED,
      recentCalls: 3,
    });
    expect(local?.latencyMs).toBeGreaterThan(0);

    // Percentiles over the three answers, none for a target that never answered.
    expect(down?.firstToken).toBeUndefined();
    expect(down?.attempt).toBeUndefined();
    const { firstToken, attempt } = local ?? {};
    expect(firstToken?.samples).toBe(3);
    expect(attempt?.samples).toBe(3);
    for (const percentiles of [firstToken, attempt]) {
      expect(percentiles?.p50Ms).toBeLessThanOrEqual(percentiles?.p95Ms ?? -1);
      expect(percentiles?.p95Ms).toBeLessThanOrEqual(percentiles?.p99Ms ?? -1);
    }
    // Each attempt lasts at least until its first token.
    expect(attempt?.p50Ms).toBeGreaterThanOrEqual(firstToken?.p50Ms ?? Number.POSITIVE_INFINITY);
    expect(attempt?.p99Ms).toBeGreaterThanOrEqual(firstToken?.p99Ms ?? Number.POSITIVE_INFINITY);
  });

  it("takes a target out of service and back: decisions say why it was skipped; with nothing left the call is UNAVAILABLE", async () => {
    const { router, admin } = clients();
    const taken = await admin.takeTargetOutOfService({
      target: "local/tiny",
      reason: "drill: local gone for 48 h",
    });
    expect(taken.target).toMatchObject({
      state: TargetState.OUT_OF_SERVICE,
      reason: "out of service: drill: local gone for 48 h",
    });
    const error = ConnectError.from(await rejectionOf(() => router.route(userRequest("hi"))));
    expect(error.code).toBe(Code.Unavailable);
    const decision = error.findDetails(DecisionSchema)[0];
    expect(decision?.attempts.map((attempt) => [attempt.target, attempt.outcome, attempt.message])).toEqual([
      [
        "down/a",
        AttemptOutcome.SKIPPED,
        expect.stringMatching(/^skipped: breaker open \(2 failures in a row\); probes in \d+ ms$/),
      ],
      ["local/tiny", AttemptOutcome.SKIPPED, "skipped: out of service (drill: local gone for 48 h)"],
    ]);

    expect(service.logs).toContainEqual(
      expect.objectContaining({
        msg: "target taken out of service",
        target: "local/tiny",
        reason: "drill: local gone for 48 h",
      }),
    );
    const back = await admin.returnTargetToService({ target: "local/tiny" });
    expect(back).toMatchObject({ wasOutOfService: true, target: { state: TargetState.AVAILABLE } });
    expect((await router.route(userRequest("hi"))).decision?.target).toBe("local/tiny");
    expect((await admin.returnTargetToService({ target: "local/tiny" })).wasOutOfService).toBe(false);
  });

  it("shows a breaker a reload turned off as closed at once, before any call goes to the target", async () => {
    const { admin } = clients();
    const before = await admin.listTargets({});
    expect(before.targets.find((target) => target.target === "down/a")?.breaker).toBe(BreakerState.OPEN);
    const policy = await readFile(service.policyPath, "utf8");
    try {
      await writeFile(
        service.policyPath,
        policy.replace("consecutive_failures: 2,", "enabled: false, consecutive_failures: 2,"),
      );
      await service.app.reloader.reload("SIGHUP");
      const after = await admin.listTargets({});
      expect(after.targets.find((target) => target.target === "down/a")).toMatchObject({
        state: TargetState.AVAILABLE,
        breaker: BreakerState.CLOSED,
      });
    } finally {
      await writeFile(service.policyPath, policy);
      await service.app.reloader.reload("SIGHUP");
    }
  });

  it("refuses an unknown target (NOT_FOUND, with the nearest) and a missing or multi-line reason (INVALID_ARGUMENT)", async () => {
    const { admin } = clients();
    const unknown = ConnectError.from(
      await rejectionOf(() => admin.takeTargetOutOfService({ target: "local/tiney", reason: "drill" })),
    );
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toBe(
      'target: no route names "local/tiney" (did you mean "local/tiny"?); targets: down/a, local/tiny',
    );
    for (const reason of ["", "   ", "two\nlines"]) {
      const error = ConnectError.from(
        await rejectionOf(() => admin.takeTargetOutOfService({ target: "local/tiny", reason })),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(/^reason: /);
    }
    const empty = ConnectError.from(await rejectionOf(() => admin.returnTargetToService({ target: "" })));
    expect(empty).toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "target: required (provider/model)",
    });
  });
});

describe("an operator token", () => {
  let switchyard: TestSwitchyard;
  beforeAll(async () => {
    switchyard = await startTestSwitchyard(FRONT_DOOR_POLICY, { operatorToken: "op-secret-token-0123" });
  });
  afterAll(async () => {
    await switchyard?.stop();
  });

  it("is required on every AdminService call when set; health stays open for probes", async () => {
    const transport = createGrpcTransport({ baseUrl: switchyard.operatorUrl });
    const admin = createClient(AdminService, transport);
    for (const authorization of [
      undefined,
      "Bearer wrong",
      "op-secret-token-0123",
      "Basic op-secret-token-0123",
    ]) {
      const headers = authorization === undefined ? undefined : { authorization };
      const error = ConnectError.from(await rejectionOf(() => admin.getPolicy({}, { headers })));
      expect(error.code, authorization).toBe(Code.Unauthenticated);
      expect(error.rawMessage).not.toContain("op-secret-token-0123");
    }
    const policy = await admin.getPolicy({}, { headers: { authorization: "Bearer op-secret-token-0123" } });
    expect(policy.routes.length).toBeGreaterThan(0);
    expect((await createClient(Health, transport).check({})).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});

describe("the operator listener at startup", () => {
  it("refuses to bind anything but loopback without an operator token", async () => {
    const deps = { logger: pino({ level: "silent" }) } as ServerDeps;
    await expect(
      startServer(deps, { host: "127.0.0.1", port: 0, operator: { host: "0.0.0.0", port: 0 } }),
    ).rejects.toThrow(/operator listener may bind 0.0.0.0 only with an operator token/);
  });

  it("refuses a token that is short or carries whitespace (it could never be sent back as is)", async () => {
    const deps = { logger: pino({ level: "silent" }) } as ServerDeps;
    for (const token of ["short", "   ", " padded-token-0123456789 "])
      await expect(
        startServer(deps, { host: "127.0.0.1", port: 0, operator: { host: "0.0.0.0", port: 0, token } }),
      ).rejects.toThrow(/at least 16 characters, with no surrounding whitespace/);
  });
});
