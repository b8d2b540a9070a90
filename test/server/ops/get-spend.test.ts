import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { failureOf } from "../../helpers/async.js";
import { createTransports, type TransportSet, userRequest } from "../../helpers/rpc.js";
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

/** KEYED_POLICY with priced models, so each call costs something, and a daily budget for acme. */
const PRICED = KEYED_POLICY.replace(
  'mock: { latency_ms: 1, token_interval_ms: 1, reply: "one two three" }',
  'mock: { latency_ms: 1, token_interval_ms: 1, reply: "one two three" }\n    models:\n      tiny: { input_usd_per_mtok: 1000, output_usd_per_mtok: 2000 }',
).replace("acme: { keys:", "acme: { budgets: { usd_per_day: 5 }, keys:");

const HOUR = 3_600_000;

describe("GetSpend", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  const admin = () => createClient(AdminService, transports.get("gRPC over h2c (binary)"));
  let costs: Record<"acme" | "beta" | "ana", number>;
  beforeAll(async () => {
    service = await startTestSwitchyard(PRICED, { env: TENANT_ENV, operatorToken: OPERATOR_TOKEN });
    transports = createTransports(service.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    costs = { acme: 0, beta: 0, ana: 0 };
    for (const [tenant, user, key] of [
      ["acme", "ana", AS_ACME],
      ["acme", "", AS_ACME],
      ["beta", "ana", AS_BETA],
    ] as const) {
      const { decision } = await router.route({ ...userRequest(`hi ${tenant} ${user}`), user }, key);
      expect(decision?.user).toBe(user);
      costs[tenant] += decision?.costUsd ?? 0;
      if (tenant === "acme" && user === "ana") costs.ana += decision?.costUsd ?? 0;
    }
    expect(costs.ana).toBeGreaterThan(0);
    expect(costs.acme).toBeGreaterThan(costs.ana);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });
  const operatorAdmin = () =>
    createClient(AdminService, createTransports(service.operatorUrl).get("gRPC over h2c (binary)"));

  it("adds up a tenant's recorded calls and their cost per bucket, every bucket of the range listed", async () => {
    const until = new Date(Date.now() + 60_000);
    const since = new Date(until.getTime() - 24 * HOUR);
    const spend = await operatorAdmin().getSpend(
      { tenant: "acme", since: timestampFromDate(since), until: timestampFromDate(until) },
      AS_OPERATOR,
    );
    expect(spend.tenant).toBe("acme");
    // 0 seconds: hourly buckets, each starting an hour after the one before.
    expect(spend.buckets).toHaveLength(24);
    expect(
      spend.buckets.map((bucket) => timestampDate(bucket.start ?? timestampFromDate(since)).getTime()),
    ).toEqual(Array.from({ length: 24 }, (_, n) => since.getTime() + n * HOUR));
    expect(spend.buckets.slice(0, 23).every((bucket) => bucket.calls === 0n)).toBe(true);
    expect(spend.buckets[23]?.calls).toBe(2n);
    expect(spend.buckets[23]?.costUsd).toBeCloseTo(costs.acme, 12);
    expect({ calls: spend.calls, costUsd: spend.costUsd }).toEqual({
      calls: 2n,
      costUsd: spend.buckets[23]?.costUsd,
    });

    // No tenant named: the operator reads every tenant's calls together.
    const all = await operatorAdmin().getSpend(
      { since: timestampFromDate(since), bucketSeconds: 24 * 3600 },
      AS_OPERATOR,
    );
    expect({ tenant: all.tenant, calls: all.calls }).toEqual({ tenant: "", calls: 3n });
    expect(all.costUsd).toBeCloseTo(costs.acme + costs.beta, 12);
  });

  it("adds up one user's calls apart from the tenant's others (and another tenant's user of that name)", async () => {
    const since = timestampFromDate(new Date(Date.now() - HOUR));
    const ana = await operatorAdmin().getSpend({ tenant: "acme", user: "ana", since }, AS_OPERATOR);
    expect({ tenant: ana.tenant, user: ana.user, calls: ana.calls }).toEqual({
      tenant: "acme",
      user: "ana",
      calls: 1n,
    });
    expect(ana.costUsd).toBeCloseTo(costs.ana, 12);
    // A tenant's key names its own users without naming itself.
    const own = await operatorAdmin().getSpend({ user: "ana", since }, AS_BETA);
    expect({ tenant: own.tenant, user: own.user, calls: own.calls }).toEqual({
      tenant: "beta",
      user: "ana",
      calls: 1n,
    });
    const nobody = await operatorAdmin().getSpend({ tenant: "acme", user: "zed", since }, AS_OPERATOR);
    expect(nobody.calls).toBe(0n);
  });

  it("lets a tenant's key read its own spend only", async () => {
    const since = timestampFromDate(new Date(Date.now() - HOUR));
    const own = await operatorAdmin().getSpend({ since }, AS_BETA);
    expect({ tenant: own.tenant, calls: own.calls }).toEqual({ tenant: "beta", calls: 1n });
    const other = await failureOf(operatorAdmin().getSpend({ tenant: "acme", since }, AS_BETA));
    expect(other.code).toBe(Code.PermissionDenied);
    const unknown = await failureOf(operatorAdmin().getSpend({ since }, { headers: bearer("no-such-key") }));
    expect(unknown.code).toBe(Code.Unauthenticated);
  });

  it("names a bad range or bucket", async () => {
    const now = Date.now();
    const refusal = async (request: Parameters<ReturnType<typeof admin>["getSpend"]>[0]) => {
      const failure = await failureOf(operatorAdmin().getSpend(request, AS_OPERATOR));
      expect(failure.code).toBe(Code.InvalidArgument);
      return failure.rawMessage;
    };
    await expect(refusal({ tenant: "acme" })).resolves.toBe("since: required");
    await expect(
      refusal({ since: timestampFromDate(new Date(now)), until: timestampFromDate(new Date(now - HOUR)) }),
    ).resolves.toBe("since: must be before until");
    await expect(
      refusal({ since: timestampFromDate(new Date(now - HOUR)), bucketSeconds: 10 }),
    ).resolves.toBe("bucketSeconds: at least 60, got 10");
    await expect(
      refusal({
        since: timestampFromDate(new Date(now - 30 * 24 * HOUR)),
        until: timestampFromDate(new Date(now)),
        bucketSeconds: 60,
      }),
    ).resolves.toMatch(/^bucketSeconds: the range takes 43200 buckets of 60 s, at most 1000/);
    await expect(
      refusal({ tenant: "acme\u202e", since: timestampFromDate(new Date(now - HOUR)) }),
    ).resolves.toMatch(/^tenant: /);
    // A user is one tenant's: the operator names the tenant too.
    await expect(refusal({ user: "ana", since: timestampFromDate(new Date(now - HOUR)) })).resolves.toBe(
      "user: needs tenant (a user is one tenant's)",
    );
    await expect(
      refusal({ tenant: "acme", user: "ana\nbo", since: timestampFromDate(new Date(now - HOUR)) }),
    ).resolves.toMatch(/^user: /);
    // No call can have named a longer one: the doors refuse it.
    await expect(
      refusal({ tenant: "acme", user: "a".repeat(257), since: timestampFromDate(new Date(now - HOUR)) }),
    ).resolves.toBe("user: longer than 256 characters");
  });
});

describe("GetPolicy", () => {
  it("lists the tenants the policy declares", async () => {
    const service = await startTestSwitchyard(PRICED, { env: TENANT_ENV });
    try {
      const admin = createClient(
        AdminService,
        createTransports(service.operatorUrl).get("gRPC over h2c (binary)"),
      );
      expect((await admin.getPolicy({})).tenants).toEqual(["acme", "beta"]);
    } finally {
      await service.stop();
    }
  });
});
