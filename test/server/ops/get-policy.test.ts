import { toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { AdminService, GetPolicyResponseSchema } from "../../../gen/switchyard/v1/admin_pb.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

const HASH_KEY = "get-policy-test-hash-key-0123456789";

const GOVERNED_POLICY = `
data_classes:
  public: { may_leave: true }
  eu_only: { may_leave: true, regions: [eu, eu-north] }
  pii: { may_leave: false }
defaults: { data_class: pii }
detect:
  email: { action: raise, to: pii }
  card: { action: block }
  pii: { action: redact, form: hash }
  phone: { action: allow }
logging: { hash_key: ${HASH_KEY} }
providers:
  local: { kind: mock, hosted: false, mock: { latency_ms: 1, token_interval_ms: 1 } }
routes:
  - name: open
    match: { task: [chat], data_class: [public, eu_only] }
    primary: { provider: local, model: tiny }
  - name: default
    primary: { provider: local, model: tiny }
`;

describe("AdminService GetPolicy: data classes, detection and route rules", () => {
  let service: TestSwitchyard | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });
  const getPolicy = async (policy: string) => {
    service = await startTestSwitchyard(policy);
    return createClient(AdminService, createGrpcTransport({ baseUrl: service.operatorUrl })).getPolicy({});
  };

  it("reports the declared classes in sensitivity order and each detect rule as decisions word it", async () => {
    const policy = await getPolicy(GOVERNED_POLICY);
    expect(policy.dataClasses.map(({ name, mayLeave, regions }) => ({ name, mayLeave, regions }))).toEqual([
      { name: "public", mayLeave: true, regions: [] },
      { name: "eu_only", mayLeave: true, regions: ["eu", "eu-north"] },
      { name: "pii", mayLeave: false, regions: [] },
    ]);
    expect(
      policy.detection.map(({ kind, action, redactionForm, source }) => ({
        kind,
        action,
        redactionForm,
        source,
      })),
    ).toEqual([
      { kind: "email", action: "raise to pii", redactionForm: "", source: "detect.email" },
      { kind: "card", action: "block", redactionForm: "", source: "detect.card" },
      { kind: "pii", action: "redact", redactionForm: "hash", source: "detect.pii" },
      { kind: "phone", action: "allow", redactionForm: "", source: "detect.phone" },
      // The file has no rule for the secret group: its built-in one still applies.
      { kind: "secret", action: "block", redactionForm: "", source: "built-in" },
    ]);
    expect(policy.routeRules.map(({ name, rule, dataClasses }) => ({ name, rule, dataClasses }))).toEqual([
      {
        name: "open",
        rule: "task in [chat] and data_class in [public, eu_only]",
        dataClasses: ["public", "eu_only"],
      },
      { name: "default", rule: "any request", dataClasses: [] },
    ]);
    // The hash key the redaction uses is never shown.
    expect(toJsonString(GetPolicyResponseSchema, policy)).not.toContain(HASH_KEY);
  });

  it("reports the built-in classes and detect rules for a policy that declares none", async () => {
    const policy = await getPolicy(MINIMAL_POLICY);
    expect(policy.dataClasses.map(({ name, mayLeave }) => [name, mayLeave])).toEqual([
      ["public", true],
      ["customer_ok", true],
      ["internal", false],
      ["pii", false],
      ["regulated", false],
      ["secret", false],
    ]);
    expect(policy.detection.map(({ kind, action, source }) => ({ kind, action, source }))).toEqual([
      { kind: "pii", action: "allow", source: "built-in" },
      { kind: "secret", action: "block", source: "built-in" },
    ]);
    expect(policy.routeRules).toMatchObject([{ name: "default", rule: "any request", dataClasses: [] }]);
  });
});
