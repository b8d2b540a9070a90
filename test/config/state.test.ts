import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Environment } from "../../src/config/env.js";
import { loadPolicyFile, PolicyError, parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore } from "../../src/config/policy-store.js";
import { watchPolicyFile } from "../../src/config/reload.js";
import { stateKey } from "../../src/state/store.js";
import { redisServerAvailable, startRedisServer } from "../helpers/redis-server.js";
import { MINIMAL_POLICY, startTestSwitchyard } from "../helpers/switchyard.js";

const REDIS_STATE = `
state:
  store: redis
  redis: { url: "\${REDIS_URL}" }
  on_unavailable: closed
`;

function parse(state: string, env: Environment = {}) {
  return parsePolicy(`${MINIMAL_POLICY}${state}`, { source: "policy.yaml", env });
}

function issuesOf(state: string, env: Environment = {}): string[] {
  try {
    parse(state, env);
  } catch (error) {
    if (error instanceof PolicyError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error("the policy loaded");
}

describe("the state section", () => {
  it("keeps state in memory when the policy says nothing", () => {
    expect(parse("").state).toEqual({ store: "memory" });
  });

  it("compiles the section as the issue writes it, with the URL from the environment", () => {
    expect(parse(REDIS_STATE, { REDIS_URL: "redis://:pw@cache:6379/1" }).state).toEqual({
      store: "redis",
      url: "redis://:pw@cache:6379/1",
      keyPrefix: "switchyard:",
      commandTimeoutMs: 500,
      onUnavailable: "closed",
    });
    expect(
      parse(
        "state:\n  store: redis\n  redis: { url: rediss://cache, key_prefix: 'team-a:', command_timeout_ms: 250 }\n  on_unavailable: open\n",
      ).state,
    ).toEqual({
      store: "redis",
      url: "rediss://cache",
      keyPrefix: "team-a:",
      commandTimeoutMs: 250,
      onUnavailable: "open",
    });
  });

  it("refuses an unknown store and unknown keys, naming their path", () => {
    expect(issuesOf("state: { store: etcd }\n")).toEqual(['state.store: must be "memory" or "redis"']);
    expect(issuesOf("state: { store: redis, redis: { url: redis://x, key_prefx: a } }\n")).toEqual([
      'state.redis.key_prefx: unknown key (did you mean "key_prefix"?)',
    ]);
    expect(issuesOf("state: { on_unavailable: maybe }\n")).toEqual([
      'state.on_unavailable: must be "open" or "closed"',
    ]);
  });

  it("refuses store: redis with no URL, or with REDIS_URL unset, naming the field", () => {
    expect(issuesOf("state: { store: redis }\n")).toEqual([
      "state.redis: required when store is redis ({ url: ... })",
    ]);
    expect(issuesOf(REDIS_STATE)).toEqual(["state.redis.url: environment variable REDIS_URL is not set"]);
  });

  it("refuses a URL that is not Redis's without echoing it (it may hold a password)", () => {
    const issues = issuesOf(REDIS_STATE, { REDIS_URL: "http://user:hunter2@cache" });
    expect(issues).toEqual(["state.redis.url: must be a redis:// or rediss:// URL"]);
    expect(issues.join("\n")).not.toContain("hunter2");
  });
});

describe("reloading a policy whose state section changed", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("is refused with an issue saying it takes a restart, and the policy in force stays", async () => {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-state-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, "policy.yaml");
    await writeFile(path, MINIMAL_POLICY);
    const env = { REDIS_URL: "redis://:hunter2@127.0.0.1:1" };
    const store = createPolicyStore(await loadPolicyFile(path, env));
    const before = store.current();
    const lines: string[] = [];
    const logger = pino(
      { level: "debug" },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString("utf8"));
          callback();
        },
      }),
    );
    const reloader = watchPolicyFile({ path, store, env: () => env, logger, onSighup: false });
    cleanups.push(() => reloader.stop());

    await writeFile(path, `${MINIMAL_POLICY.replace("model: tiny", "model: small")}${REDIS_STATE}`);
    expect(await reloader.reload("test")).toBe(false);
    expect(reloader.lastReload()).toMatchObject({
      outcome: "refused",
      issues: [
        {
          path: "state",
          message:
            "changing the state store takes a restart; the policy in force stays (restart to apply it)",
        },
      ],
    });
    expect(store.current()).toBe(before);
    expect(lines.join("")).not.toContain("hunter2");

    // A change elsewhere, the state section as it was, is applied as before.
    await writeFile(path, MINIMAL_POLICY.replace("model: tiny", "model: small"));
    expect(await reloader.reload("test")).toBe(true);
  });
});

describe.skipIf(!redisServerAvailable())("serve with state: redis", () => {
  it("creates the Redis store from the policy at start, and never logs the URL's password", async () => {
    const redis = await startRedisServer({ password: "pw-never-logged" });
    const service = await startTestSwitchyard(`${MINIMAL_POLICY}${REDIS_STATE}`, {
      env: { REDIS_URL: redis.url },
    });
    const raw = new Redis(redis.url, { lazyConnect: true });
    try {
      await service.app.store.add(stateKey("acme", "requests"), 2, 60_000);
      await raw.connect();
      expect(await raw.get("switchyard:{acme}:requests")).toBe("2000000");
      expect(service.logs).toContainEqual(
        expect.objectContaining({
          msg: "state shared through Redis",
          redis: `redis://127.0.0.1:${redis.port}`,
        }),
      );
    } finally {
      raw.disconnect();
      await service.stop();
      await redis.stop();
    }
    expect(service.rawLogs.join("\n")).not.toContain("pw-never-logged");
  });
});
