import { type Client, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AdminService, BreakerState, TargetState } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome } from "../../gen/switchyard/v1/types_pb.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { always, providersYaml, skipMessages, sleep, targetStatus } from "../helpers/chaos.js";
import { type RedisServer, redisServerAvailable, startRedisServer } from "../helpers/redis-server.js";
import { createTransports, userRequest } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const haveRedis = redisServerAvailable();
if (!haveRedis) console.warn("redis-server is not installed: the shared breaker suite is skipped");

/** Long enough for a call on the other replica to land inside it on a loaded machine. */
const OPEN_MS = 2_000;
const CHAT = userRequest("hello", { task: "chat" });

interface Replica {
  switchyard: TestSwitchyard;
  router: Client<typeof RouterService>;
  admin: Client<typeof AdminService>;
  close(): Promise<void>;
}

describe.skipIf(!haveRedis)("breaker state shared through Redis by two replicas", () => {
  let redis: RedisServer;
  let fakes: { primary: FakeOpenAi; fallback: FakeOpenAi };
  const replicas: Replica[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const replica of replicas.splice(0)) await replica.close();
    await Promise.all(Object.values(fakes).map((fake) => fake.close()));
  });

  /** One Switchyard on `policy`, sharing state through the test's Redis. */
  const replica = async (policy: string): Promise<Replica> => {
    const switchyard = await startTestSwitchyard(policy, { env: { REDIS_URL: redis.url } });
    const transports = createTransports(switchyard.baseUrl);
    const operator = createTransports(switchyard.operatorUrl);
    const started: Replica = {
      switchyard,
      router: createClient(RouterService, transports.get("gRPC over h2c (binary)")),
      admin: createClient(AdminService, operator.get("gRPC over h2c (binary)")),
      async close() {
        transports.close();
        operator.close();
        await switchyard.stop();
      },
    };
    replicas.push(started);
    return started;
  };

  let deployments = 0;
  /**
   * Two replicas of one policy (primary then fallback, two failures in a row open a breaker), with
   * a key prefix of their own: what an earlier test's replicas published is not theirs.
   */
  const twoReplicas = async () => {
    deployments += 1;
    fakes = { primary: await startFakeOpenAi(), fallback: await startFakeOpenAi() };
    const policy = `
${providersYaml(fakes, { breaker: `{ consecutive_failures: 2, open_ms: ${OPEN_MS}, half_open_probes: 1 }` })}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { max_attempts: 2, backoff_ms: 1, max_backoff_ms: 5 }
state:
  store: redis
  redis: { url: "\${REDIS_URL}", key_prefix: "deployment-${deployments}:" }
`;
    return [await replica(policy), await replica(policy)] as const;
  };

  it("skips the primary on replica B once replica A's breaker opened, says why, and both probe after open_ms", async () => {
    const [a, b] = await twoReplicas();
    const { primary } = fakes;
    always(primary, { type: "error", status: 503 });

    // A's call fails twice on the primary: its breaker opens; the fallback answers.
    const first = await a.router.route(CHAT);
    expect(first.decision?.target).toBe("fallback/m2");
    expect(primary.requests).toHaveLength(2);
    const opened = performance.now();

    // B learns it within a refresh (250 ms), and says on the operator plane where it came from.
    await vi.waitFor(
      async () => expect((await targetStatus(b.admin, "primary/m1")).state).toBe(TargetState.BREAKER_OPEN),
      { timeout: 1_500, interval: 20 },
    );
    const status = await targetStatus(b.admin, "primary/m1");
    expect(status.breaker).toBe(BreakerState.OPEN);
    expect(status.reason).toBe("breaker open (tripped on another replica)");

    // B's call never reaches the primary: skipped, with the reason, then the fallback.
    const skipped = await b.router.route(CHAT);
    expect(performance.now() - opened).toBeLessThan(OPEN_MS);
    expect(skipped.decision?.target).toBe("fallback/m2");
    expect(skipped.decision?.attempts).toMatchObject([
      { target: "primary/m1", outcome: AttemptOutcome.SKIPPED },
      { target: "fallback/m2", outcome: AttemptOutcome.SUCCEEDED },
    ]);
    expect(skipMessages(skipped.decision)).toEqual([
      expect.stringMatching(/^skipped: breaker open \(tripped on another replica\); probes in \d+ ms$/),
    ]);
    expect(primary.requests).toHaveLength(2);

    // The primary recovers. Once open_ms has passed, each replica sends its own probe, which
    // closes its own breaker.
    primary.setFallback(undefined);
    await sleep(Math.max(0, opened + OPEN_MS - performance.now()) + 50);
    expect((await b.router.route(CHAT)).decision?.target).toBe("primary/m1");
    expect((await a.router.route(CHAT)).decision?.target).toBe("primary/m1");
    expect(primary.requests).toHaveLength(4);
    for (const { admin } of [a, b])
      expect((await targetStatus(admin, "primary/m1")).breaker).toBe(BreakerState.CLOSED);
  });

  it("cools the primary on replica B after a 429 with retry-after on replica A", async () => {
    const [a, b] = await twoReplicas();
    const { primary } = fakes;
    primary.script({ type: "error", status: 429, retryAfterSeconds: 5 });

    expect((await a.router.route(CHAT)).decision?.target).toBe("fallback/m2");
    expect(primary.requests).toHaveLength(1);

    await vi.waitFor(
      async () => expect((await targetStatus(b.admin, "primary/m1")).state).toBe(TargetState.COOLING),
      { timeout: 1_500, interval: 20 },
    );
    expect((await targetStatus(b.admin, "primary/m1")).reason).toBe(
      "cooling down (rate limited on another replica)",
    );
    const skipped = await b.router.route(CHAT);
    expect(skipped.decision?.target).toBe("fallback/m2");
    expect(skipMessages(skipped.decision)).toEqual([
      expect.stringMatching(/^skipped: cooling down for \d+ ms more \(rate limited on another replica\)$/),
    ]);
    expect(primary.requests).toHaveLength(1);
  });

  it("keeps local breakers working while Redis is down, says so once, and shares again once it is back", async () => {
    const [a, b] = await twoReplicas();
    const { primary } = fakes;
    await redis.kill();
    always(primary, { type: "error", status: 503 });
    try {
      // A's breaker opens on its own failures, and its calls go on: nothing waits on Redis.
      expect((await a.router.route(CHAT)).decision?.target).toBe("fallback/m2");
      const next = await a.router.route(CHAT);
      expect(skipMessages(next.decision)).toEqual([
        expect.stringMatching(/^skipped: breaker open \(2 failures in a row\); probes in \d+ ms$/),
      ]);
      expect(primary.requests).toHaveLength(2);
      await sleep(600);
      const notShared = a.switchyard.logs.filter(
        (line) => line.component === "shared-health" && line.level === 40,
      );
      expect(notShared).toHaveLength(1);
      // B saw nothing of it, and found out for itself.
      expect((await targetStatus(b.admin, "primary/m1")).state).toBe(TargetState.AVAILABLE);
    } finally {
      await redis.start();
    }
    await vi.waitFor(
      () =>
        expect(
          a.switchyard.logs.some(
            (line) =>
              line.component === "shared-health" && line.msg === "breaker state and coolings shared again",
          ),
        ).toBe(true),
      { timeout: 5_000, interval: 50 },
    );
  });
});
