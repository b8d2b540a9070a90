import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { MAX_CANDIDATE_BYTES } from "../../../src/replay/candidate.js";
import { failureOf } from "../../helpers/async.js";
import { createTransports, type TransportSet, userRequest } from "../../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { ACME_KEY, bearer, OPERATOR_TOKEN, TENANT_ENV } from "../../helpers/tenants.js";

const AS_OPERATOR = { headers: bearer(OPERATOR_TOKEN) };
const AS_ACME = { headers: bearer(ACME_KEY) };

/** A value only the server's environment holds: it must never come back in an answer. */
const SECRET = "zz-server-only-value-7c1e";

/** Personal data stays on premises; everything else goes to the hosted cloud. */
const POLICY = `
defaults: { data_class: internal, task: chat, infer_task: false }
providers:
  cloud:
    kind: mock
    hosted: true
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "from cloud" }
    models: { big: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 } }
  onprem:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "from onprem" }
    models: { llama: { input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.1 } }
data_classes:
  public: { may_leave: true }
  internal: { may_leave: true }
  pii: { may_leave: false }
routes:
  - name: private
    match: { data_class: pii }
    primary: { provider: onprem, model: llama }
  - name: default
    match: { data_class: internal }
    primary: { provider: cloud, model: big }
    fallback: [{ provider: onprem, model: llama }]
tenants:
  acme: { keys: ["\${ACME_KEY}"] }
`;

/** The edit under review: personal data may leave, and its route tries the cloud first. */
const PII_TO_CLOUD = POLICY.replace("pii: { may_leave: false }", "pii: { may_leave: true }").replace(
  "primary: { provider: onprem, model: llama }\n  - name: default",
  "primary: { provider: cloud, model: big }\n    fallback: [{ provider: onprem, model: llama }]\n  - name: default",
);

describe("AdminService ReplayPolicy", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  let piiCall = "";
  const admin = () => createClient(AdminService, transports.get("gRPC over h2c (binary)"));
  beforeAll(async () => {
    service = await startTestSwitchyard(POLICY, {
      env: { ...TENANT_ENV, SECRET_VAR: SECRET },
      operatorToken: OPERATOR_TOKEN,
    });
    const router = createClient(
      RouterService,
      createTransports(service.baseUrl).get("gRPC over h2c (binary)"),
    );
    await router.route(userRequest("hello"), AS_ACME);
    piiCall =
      (await router.route(userRequest("my record", { dataClass: "pii" }), AS_ACME)).decision?.callId ?? "";
    await router.route(userRequest("again"), AS_ACME);
    expect(piiCall).toMatch(/^[0-9a-f]{16}$/);
    transports = createTransports(service.operatorUrl);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });

  it("decides the recorded calls again under the candidate and lists what changes, by call", async () => {
    const replayed = await admin().replayPolicy({ policyYaml: PII_TO_CLOUD }, AS_OPERATOR);
    expect(replayed.valid).toBe(true);
    expect(replayed.issues).toEqual([]);
    expect(replayed.truncated).toBe(false);
    expect(replayed.totals?.replayed).toBe(3n);
    expect(replayed.totals?.changed).toBe(1n);
    expect(replayed.calls.map((call) => call.callId)).toEqual([piiCall]);
    const changes = Object.fromEntries(
      (replayed.calls[0]?.changes ?? []).map((change) => [change.what, [change.before, change.after]]),
    );
    expect(changes.target).toEqual(["onprem/llama", "cloud/big"]);
    expect(changes.eligible).toEqual(["onprem/llama", "cloud/big, onprem/llama"]);
    expect(replayed.calls[0]?.gainedHosted).toEqual(["cloud/big"]);
    // Dollars written out, never in exponent notation.
    expect(changes.cost).toEqual([expect.stringMatching(/^\$0\.\d+$/), expect.stringMatching(/^\$0\.\d+$/)]);
    expect(replayed.totals?.changedByKind.target).toBe(1n);
    expect(replayed.totals?.estimatedCostAfterUsd).toBeGreaterThan(
      replayed.totals?.estimatedCostBeforeUsd ?? 0,
    );

    // The policy in force is the same policy: nothing changes.
    const same = await admin().replayPolicy({ policyYaml: POLICY }, AS_OPERATOR);
    expect({ changed: same.totals?.changed, calls: same.calls }).toEqual({ changed: 0n, calls: [] });
  });

  it("names each fail_on rule the changes break, with the calls that broke it", async () => {
    const replayed = await admin().replayPolicy(
      { policyYaml: PII_TO_CLOUD, failOn: ["hosted:pii", "route-change", "cost-increase:1000000"] },
      AS_OPERATOR,
    );
    expect(replayed.violations.map(({ rule, callIds }) => ({ rule, callIds }))).toEqual([
      { rule: "hosted:pii", callIds: [piiCall] },
    ]);
    const unknown = await failureOf(
      admin().replayPolicy({ policyYaml: PII_TO_CLOUD, failOn: ["hosted:secret"] }, AS_OPERATOR),
    );
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/^failOn: rule "hosted:secret": unknown data class/);
  });

  it("narrows the calls by tenant, route, time and limit, and says when more matched", async () => {
    const route = await admin().replayPolicy({ policyYaml: PII_TO_CLOUD, route: "default" }, AS_OPERATOR);
    expect({ replayed: route.totals?.replayed, changed: route.totals?.changed }).toEqual({
      replayed: 2n,
      changed: 0n,
    });
    const limited = await admin().replayPolicy({ policyYaml: PII_TO_CLOUD, limit: 1 }, AS_OPERATOR);
    expect({ replayed: limited.totals?.replayed, truncated: limited.truncated }).toEqual({
      replayed: 1n,
      truncated: true,
    });
    const later = await admin().replayPolicy(
      { policyYaml: PII_TO_CLOUD, since: timestampFromDate(new Date(Date.now() + 60_000)) },
      AS_OPERATOR,
    );
    expect({ replayed: later.totals?.replayed, calls: later.calls }).toEqual({ replayed: 0n, calls: [] });
    const tooMany = await failureOf(admin().replayPolicy({ policyYaml: POLICY, limit: 10_001 }, AS_OPERATOR));
    expect(tooMany.code).toBe(Code.InvalidArgument);
  });

  it("answers an invalid candidate with its issues by path, as check lists them, and replays nothing", async () => {
    const replayed = await admin().replayPolicy(
      {
        policyYaml: POLICY.replace("model: llama }\n  - name: default", "modle: llama }\n  - name: default"),
      },
      AS_OPERATOR,
    );
    expect(replayed.valid).toBe(false);
    expect(replayed.totals).toBeUndefined();
    expect(replayed.issues.map((issue) => issue.path)).toContain("routes[0].primary.model");
  });

  it("reads the server's environment for the candidate's variables and never sends a variable's value back", async () => {
    const replayed = await admin().replayPolicy(
      { policyYaml: POLICY.replace("data_class: internal, task", `data_class: "\${SECRET_VAR}", task`) },
      AS_OPERATOR,
    );
    expect(replayed.valid).toBe(false);
    expect(JSON.stringify(replayed.issues)).not.toContain(SECRET);
    expect(replayed.issues.map((issue) => issue.message).join("\n")).toContain(`\${SECRET_VAR}`);
  });

  it("refuses a candidate over 1 MiB, or none, as INVALID_ARGUMENT", async () => {
    const oversized = await failureOf(
      admin().replayPolicy({ policyYaml: `${POLICY}\n#${"x".repeat(MAX_CANDIDATE_BYTES)}\n` }, AS_OPERATOR),
    );
    expect(oversized.code).toBe(Code.InvalidArgument);
    expect(oversized.rawMessage).toMatch(/^policyYaml: at most 1048576 bytes/);
    const empty = await failureOf(admin().replayPolicy({ policyYaml: "" }, AS_OPERATOR));
    expect(empty.code).toBe(Code.InvalidArgument);
  });

  it("is the operator's: a tenant's key is refused, since the replay reads every tenant's calls", async () => {
    const refused = await failureOf(admin().replayPolicy({ policyYaml: POLICY }, AS_ACME));
    expect(refused.code).toBe(Code.PermissionDenied);
  });
});
