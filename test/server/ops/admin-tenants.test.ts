import { randomBytes } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService, TargetState } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { failureOf } from "../../helpers/async.js";
import { createTransports, type TransportSet, traceparent, userRequest } from "../../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  ACME_KEY,
  BETA_KEY,
  bearer,
  KEYED_POLICY,
  OPERATOR_TOKEN,
  TENANT_ENV,
} from "../../helpers/tenants.js";

const AS_OPERATOR = { headers: bearer(OPERATOR_TOKEN) };
const AS_ACME = { headers: bearer(ACME_KEY) };
const AS_BETA = { headers: bearer(BETA_KEY) };

/**
 * Calls made before the suite: two of acme's and one of beta's, all under one caller trace (as
 * if a shared client reused a traceparent), and one of beta's under a trace of its own.
 */
interface Calls {
  sharedTrace: string;
  betaTrace: string;
  acme: string[];
  beta: string[];
}

async function makeCalls(service: TestSwitchyard, transports: TransportSet): Promise<Calls> {
  const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
  const sharedTrace = randomBytes(16).toString("hex");
  const betaTrace = randomBytes(16).toString("hex");
  const call = async (key: string, trace: string) =>
    (await router.route(userRequest("hi"), { headers: { ...bearer(key), traceparent: traceparent(trace) } }))
      .decision?.callId ?? "";
  const acme = [await call(ACME_KEY, sharedTrace), await call(ACME_KEY, sharedTrace)];
  const beta = [await call(BETA_KEY, sharedTrace), await call(BETA_KEY, betaTrace)];
  expect(service.app.decisions.list({ limit: 1000 }).decisions).toHaveLength(4);
  return { sharedTrace, betaTrace, acme, beta };
}

describe("AdminService with a tenant's key (an operator token set)", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  let calls: Calls;
  beforeAll(async () => {
    service = await startTestSwitchyard(KEYED_POLICY, { env: TENANT_ENV, operatorToken: OPERATOR_TOKEN });
    transports = createTransports(service.baseUrl);
    calls = await makeCalls(service, transports);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });
  const admin = () =>
    createClient(AdminService, createTransports(service.operatorUrl).get("Connect over HTTP/1.1 (binary)"));

  it("reads the tenant's own decision by call id", async () => {
    const { decision } = await admin().getDecision({ callId: calls.acme[0] ?? "" }, AS_ACME);
    expect(decision?.tenant).toBe("acme");
    expect(decision?.callId).toBe(calls.acme[0]);
  });

  it("answers another tenant's decision exactly as a missing one: NOT_FOUND, so ids cannot be probed", async () => {
    const betaCall = calls.beta[0] ?? "";
    const other = await failureOf(admin().getDecision({ callId: betaCall }, AS_ACME));
    expect(other.code).toBe(Code.NotFound);
    expect(other.rawMessage).toBe(`callId: no recent decision for ${betaCall}`);
    const absent = "0123456789abcdef";
    const missing = await failureOf(admin().getDecision({ callId: absent }, AS_ACME));
    expect(missing.rawMessage).toBe(`callId: no recent decision for ${absent}`);
    expect(missing.code).toBe(other.code);
  });

  it("by trace id, lists only the tenant's own calls; a trace holding only others' is NOT_FOUND", async () => {
    const ofAcme = await admin().getDecision({ traceId: calls.sharedTrace }, AS_ACME);
    expect(ofAcme.traceDecisions.map((entry) => entry.decision?.callId)).toEqual(calls.acme);
    const ofBeta = await admin().getDecision({ traceId: calls.sharedTrace }, AS_BETA);
    expect(ofBeta.traceDecisions.map((entry) => entry.decision?.callId)).toEqual([calls.beta[0]]);
    const all = await admin().getDecision({ traceId: calls.sharedTrace }, AS_OPERATOR);
    expect(all.traceDecisions).toHaveLength(3);
    const hidden = await failureOf(admin().getDecision({ traceId: calls.betaTrace }, AS_ACME));
    expect(hidden.code).toBe(Code.NotFound);
    expect(hidden.rawMessage).toBe(`traceId: no recent decision for ${calls.betaTrace}`);
  });

  it("lists only the tenant's own decisions, and refuses a filter naming another tenant", async () => {
    const listed = await admin().listDecisions({}, AS_ACME);
    expect(listed.decisions.map((entry) => entry.decision?.callId).sort()).toEqual([...calls.acme].sort());
    const named = await admin().listDecisions({ tenant: "acme" }, AS_ACME);
    expect(named.decisions).toHaveLength(2);
    const other = await failureOf(admin().listDecisions({ tenant: "beta" }, AS_ACME));
    expect(other.code).toBe(Code.PermissionDenied);
    expect(other.rawMessage).toBe(
      'tenant: this caller is authenticated as tenant "acme" and may read only its own records',
    );
  });

  it("refuses the operator's methods to a tenant: PERMISSION_DENIED, and nothing changes", async () => {
    const refused = [
      await failureOf(admin().getPolicy({}, AS_ACME)),
      await failureOf(admin().listTargets({}, AS_ACME)),
      await failureOf(admin().takeTargetOutOfService({ target: "local/tiny", reason: "mine now" }, AS_ACME)),
      await failureOf(admin().returnTargetToService({ target: "local/tiny" }, AS_ACME)),
    ];
    expect(refused.map((error) => error.code)).toEqual(Array(4).fill(Code.PermissionDenied));
    expect(refused[2]?.rawMessage).toBe(
      "TakeTargetOutOfService needs the operator token; a tenant's key reads only its own decisions",
    );
    const { targets } = await admin().listTargets({}, AS_OPERATOR);
    expect(targets.find((target) => target.target === "local/tiny")?.state).toBe(TargetState.AVAILABLE);
  });

  it("still lets the operator token see every tenant's decisions and do everything", async () => {
    const listed = await admin().listDecisions({}, AS_OPERATOR);
    expect(new Set(listed.decisions.map((entry) => entry.decision?.tenant))).toEqual(
      new Set(["acme", "beta"]),
    );
    const { decision } = await admin().getDecision({ callId: calls.beta[0] ?? "" }, AS_OPERATOR);
    expect(decision?.tenant).toBe("beta");
    expect((await admin().getPolicy({}, AS_OPERATOR)).routes).toEqual(["default"]);
  });

  it("refuses a key that is no tenant's as UNAUTHENTICATED, and /metrics takes the operator token only", async () => {
    const error = await failureOf(admin().listDecisions({}, { headers: bearer("nobody-0123456789abcdef") }));
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).not.toContain("nobody");
    const metrics = (headers: Record<string, string>) => fetch(`${service.operatorUrl}/metrics`, { headers });
    expect((await metrics(bearer(ACME_KEY))).status).toBe(401);
    expect((await metrics(bearer(OPERATOR_TOKEN))).status).toBe(200);
  });
});

describe("AdminService with a tenant's key (no operator token: a loopback listener)", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  let operator: TransportSet;
  let calls: Calls;
  beforeAll(async () => {
    service = await startTestSwitchyard(KEYED_POLICY, { env: TENANT_ENV });
    transports = createTransports(service.baseUrl);
    operator = createTransports(service.operatorUrl);
    calls = await makeCalls(service, transports);
  });
  afterAll(async () => {
    transports.close();
    operator.close();
    await service.stop();
  });

  it("still scopes a caller presenting a tenant's key to that tenant", async () => {
    const admin = createClient(
      AdminService,
      createTransports(service.operatorUrl).get("gRPC over h2c (binary)"),
    );
    const listed = await admin.listDecisions({}, AS_BETA);
    expect(listed.decisions.map((entry) => entry.decision?.callId).sort()).toEqual([...calls.beta].sort());
    expect((await failureOf(admin.getDecision({ callId: calls.acme[0] ?? "" }, AS_BETA))).code).toBe(
      Code.NotFound,
    );
    expect((await failureOf(admin.getPolicy({}, AS_BETA))).code).toBe(Code.PermissionDenied);
    expect((await admin.listDecisions({})).decisions).toHaveLength(4);
  });
});

describe("a tenant's budget and usage, with keys", () => {
  // The same tenants and keys, each with a rate limit: they now have usage to read.
  const BUDGETED = KEYED_POLICY.replace(
    /(\w+): \{ keys: (\[[^\]]+\]) \}/g,
    "$1: { keys: $2, limits: { requests_per_minute: 100 } }",
  );
  let service: TestSwitchyard;
  let transports: TransportSet;
  beforeAll(async () => {
    service = await startTestSwitchyard(BUDGETED, { env: TENANT_ENV, operatorToken: OPERATOR_TOKEN });
    transports = createTransports(service.baseUrl);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });

  it("A's key cannot spend B's budget nor read B's usage; it reads its own", async () => {
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    const admin = createClient(
      AdminService,
      createTransports(service.operatorUrl).get("gRPC over h2c (binary)"),
    );
    await router.route(userRequest("hi"), AS_ACME);
    // Naming beta with acme's key: refused before anything is counted against beta.
    const spend = await failureOf(router.route({ ...userRequest("hi"), tenant: "beta" }, AS_ACME));
    expect(spend.code).toBe(Code.PermissionDenied);
    const betaUsage = await admin.getUsage({ tenant: "beta" }, AS_OPERATOR);
    expect(betaUsage.limits.map((limit) => limit.used)).toEqual([0]);

    const read = await failureOf(admin.getUsage({ tenant: "beta" }, AS_ACME));
    expect(read.code).toBe(Code.PermissionDenied);
    const own = await admin.getUsage({}, AS_ACME);
    expect(own).toMatchObject({ tenant: "acme", limited: true });
    expect(own.limits.map((limit) => [limit.limit, limit.used])).toEqual([
      ["tenants.acme.limits.requests_per_minute", 1],
    ]);
  });
});
