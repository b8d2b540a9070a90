import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QuotaExceededSchema } from "../../gen/switchyard/v1/types_pb.js";
import { rejectionOf } from "../helpers/async.js";
import { type Chaos, decisionOf, startChaos } from "../helpers/chaos.js";
import { userRequest } from "../helpers/rpc.js";

// A whole server per test, and dozens of calls through it.
vi.setConfig({ testTimeout: 60_000 });

let chaos: Chaos<"paid" | "local"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

/** $1000 per million tokens both ways: a call of ~50 tokens costs about $0.05, so budgets run out in a few calls. */
const PRICED = "{ m1: { input_usd_per_mtok: 1000, output_usd_per_mtok: 1000 } }";
const FREE = "{ m2: { input_usd_per_mtok: 0, output_usd_per_mtok: 0 } }";

const start = (tenants: string) =>
  startChaos(
    ["paid", "local"],
    (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: paid, model: m1 }
    budgets: { max_tokens: 20 }
  - name: cheap
    match: { task: cheap }
    primary: { provider: local, model: m2 }
${tenants}
`,
    { models: { paid: PRICED, local: FREE } },
  );

const CHAT = { ...userRequest("hello", { task: "chat" }), tenant: "acme" };

describe("a tenant's budget", () => {
  it("64 concurrent calls against it: the spend recorded never passes it, and the rest are refused with the limit and when it resets", async () => {
    chaos = await start("tenants:\n  acme: { budgets: { usd_per_day: 0.5 } }");
    const results = await Promise.allSettled(Array.from({ length: 64 }, () => chaos?.router.route(CHAT)));
    const answered = results.flatMap((result) =>
      result.status === "fulfilled" && result.value ? [result.value] : [],
    );
    const refused = results.flatMap((result) =>
      result.status === "rejected" ? [ConnectError.from(result.reason)] : [],
    );
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.length + refused.length).toBe(64);
    const spent = answered.reduce((sum, answer) => sum + (answer.decision?.costUsd ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(0.5);
    expect(answered[0]?.decision?.quota).toMatch(/^acme: reserved up to \$0\.0\d+ and \d+ tokens/);
    // The spend is real: each reservation was settled to the provider's own usage.
    expect(answered[0]?.decision?.costUsd).toBeGreaterThan(0);

    const [refusal] = refused;
    expect(refusal?.code).toBe(Code.ResourceExhausted);
    expect(refusal?.message).toMatch(/acme: tenants\.acme\.budgets\.usd_per_day \$0\.5 reached/);
    expect(Number(refusal?.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
    const [quota] = refusal?.findDetails(QuotaExceededSchema) ?? [];
    expect(quota).toMatchObject({
      limit: "tenants.acme.budgets.usd_per_day",
      kind: "budget",
      tenant: "acme",
      max: 0.5,
    });
    expect(refusal && decisionOf(refusal).quota).toMatch(/usd_per_day \$0\.5 reached/);
    // Nothing was sent for a refused call.
    expect(chaos.fakes.paid.requests).toHaveLength(answered.length);
    const metrics = await (await fetch(`${chaos.switchyard.operatorUrl}/metrics`)).text();
    expect(metrics).toContain(`switchyard_quota_refusals_total{tenant="acme"} ${refused.length}`);
  });

  it("warns once as a call crosses warn_at, with the limit's name and never the text", async () => {
    chaos = await start("tenants:\n  acme: { budgets: { usd_per_day: 0.1 }, warn_at: 0.5 }");
    // $0.008 a call: the warning comes at the sixth or so, and not again this day.
    for (let i = 0; i < 9; i++) await chaos.router.route(CHAT);
    const warnings = chaos.switchyard.logs.filter(
      (line) => line.msg === "escalation" && line.rule === "tenants.acme.budgets.usd_per_day",
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ kinds: ["budget"], tenant: "acme" });
  });

  it("on_limit downgrade_to: past the limit the call is served on the cheaper route, and the decision says why", async () => {
    chaos = await start(
      "tenants:\n  acme:\n    limits: { requests_per_minute: 2 }\n    on_limit: { downgrade_to: cheap }",
    );
    await chaos.router.route(CHAT);
    await chaos.router.route(CHAT);
    const third = await chaos.router.route(CHAT);
    expect(third.decision?.route).toBe("cheap");
    expect(third.decision?.target).toBe("local/m2");
    expect(third.decision?.quota).toMatch(
      /^acme: tenants\.acme\.limits\.requests_per_minute 2 reached \(2 used; this call needs up to 1\); downgraded to route "cheap"$/,
    );
  });

  it("another tenant's calls are not limited by it", async () => {
    chaos = await start("tenants:\n  acme: { limits: { requests_per_minute: 1 } }");
    await chaos.router.route(CHAT);
    await expect(chaos.router.route(CHAT)).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect((await chaos.router.route({ ...CHAT, tenant: "globex" })).decision?.quota).toBe("");
  });

  it("a stream the caller stops: what was delivered is counted and its slot in flight is free again", async () => {
    chaos = await start("tenants:\n  acme: { limits: { concurrent: 1 } }");
    chaos.fakes.paid.script({ type: "reply", content: "one two three four five six", tokenDelayMs: 50 });
    const controller = new AbortController();
    const stream = chaos.router.stream(CHAT, { signal: controller.signal });
    for await (const event of stream)
      if (event.event.case === "delta") {
        controller.abort();
        break;
      }
    // The abandoned call settled (its slot released): the next one is admitted, not refused.
    await vi.waitFor(async () => {
      const next = await chaos?.router.route(CHAT);
      expect(next?.decision?.quota).toMatch(/^acme: reserved/);
    });
    const { decisions } = await chaos.admin.listDecisions({ tenant: "acme", limit: 10 });
    const abandoned = decisions.find((recorded) => recorded.outcome.startsWith("abandoned"));
    expect(abandoned?.decision?.costUsd).toBeGreaterThan(0);
  });

  it("the OpenAI door answers a spent budget as OpenAI does: 429 insufficient_quota, with retry-after, and no SDK retry", async () => {
    chaos = await start("tenants:\n  acme: { budgets: { usd_per_day: 0.05 } }");
    const client = new OpenAI({
      apiKey: "unused",
      baseURL: `${chaos.switchyard.baseUrl}/v1`,
      defaultHeaders: { "x-switchyard-task": "chat", "x-switchyard-tenant": "acme" },
    });
    const ask = () =>
      client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hello" }] });
    let error: unknown;
    for (let i = 0; i < 10 && error === undefined; i++)
      error = await ask().then(
        () => undefined,
        (caught: unknown) => caught,
      );
    const before = chaos.fakes.paid.requests.length;
    // Refused again, the SDK does not retry on its own: nothing more reaches the provider.
    await rejectionOf(ask);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const limited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited.code).toBe("insufficient_quota");
    expect(limited.headers?.get("x-should-retry")).toBe("false");
    expect(Number(limited.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(chaos.fakes.paid.requests.length).toBe(before);
  });

  it("AdminService GetUsage says, per budget and limit, what is used, what remains and when it resets", async () => {
    chaos = await start(
      "tenants:\n  acme:\n    budgets: { usd_per_day: 1 }\n    limits: { requests_per_minute: 10 }\n    per_user: { requests_per_minute: 5 }",
    );
    await chaos.router.route({ ...CHAT, user: "ann" });
    const spent = (await chaos.router.route({ ...CHAT, user: "ann" })).decision?.costUsd ?? 0;
    const usage = await chaos.admin.getUsage({ tenant: "acme", user: "ann" });
    expect(usage).toMatchObject({ tenant: "acme", user: "ann", limited: true });
    const byName = Object.fromEntries(usage.limits.map((limit) => [limit.limit, limit]));
    expect(byName["tenants.acme.limits.requests_per_minute"]).toMatchObject({
      kind: "rate",
      max: 10,
      used: 2,
      remaining: 8,
    });
    expect(byName["tenants.acme.per_user.requests_per_minute"]).toMatchObject({
      max: 5,
      used: 2,
      remaining: 3,
    });
    const day = byName["tenants.acme.budgets.usd_per_day"];
    expect(day?.used).toBeCloseTo(spent * 2, 5);
    expect(day?.resetsInMs).toBeGreaterThan(0);
    expect(day?.resetsInMs).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(await chaos.admin.getUsage({ tenant: "globex" })).toMatchObject({ limited: false, limits: [] });
    await expect(chaos.admin.getUsage({ tenant: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("Classify reserves nothing", async () => {
    chaos = await start("tenants:\n  acme: { limits: { requests_per_minute: 1 } }");
    for (let i = 0; i < 3; i++)
      expect((await chaos.router.classify(CHAT)).decision?.quota).toBe("acme: nothing reserved (dry run)");
    expect((await chaos.router.route(CHAT)).decision?.quota).toMatch(/^acme: reserved/);
  });
});

describe("a model no price covers", () => {
  let unpricedChaos: Chaos<"local"> | undefined;
  afterEach(async () => {
    await unpricedChaos?.stop();
    unpricedChaos = undefined;
  });

  it("is charged to a budgeted tenant at the price it states, and counted as unpriced where operators look", async () => {
    unpricedChaos = await startChaos(
      ["local"],
      (providers) => `
${providers}
routes:
  - name: chat
    primary: { provider: local, model: m9 }
    budgets: { max_tokens: 20 }
tenants:
  acme:
    budgets: { usd_per_day: 1 }
    unpriced: { input_usd_per_mtok: 1000, output_usd_per_mtok: 1000 }
`,
      { models: { local: "{ m9: {} }" } },
    );
    const answer = await unpricedChaos.router.route({ ...userRequest("hello"), tenant: "acme" });
    expect(answer.decision?.unpriced).toBe(true);
    expect(answer.decision?.costUsd).toBeGreaterThan(0);
    const usage = await unpricedChaos.admin.getUsage({ tenant: "acme" });
    expect(usage.limits[0]?.used).toBeCloseTo(answer.decision?.costUsd ?? 0, 5);
    // Another tenant, with no budget, is not charged: the model is free to it, and still counted.
    const free = await unpricedChaos.router.route({ ...userRequest("hello"), tenant: "globex" });
    expect(free.decision).toMatchObject({ unpriced: true, costUsd: 0 });
    const metrics = await (await fetch(`${unpricedChaos.switchyard.operatorUrl}/metrics`)).text();
    expect(metrics).toContain('switchyard_unpriced_calls_total{route="chat",tenant="acme"} 1');
    expect(metrics).toContain('switchyard_unpriced_calls_total{route="chat",tenant="globex"} 1');
  });
});
