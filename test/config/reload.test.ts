import { writeFile } from "node:fs/promises";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createPipeline } from "../../src/core/pipeline.js";
import { createDecisionLog } from "../../src/record/decision-log.js";
import { call, collect, request } from "../helpers/pipeline.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const SLOW_POLICY = `
providers:
  local:
    kind: mock
    hosted: false
    mock: { token_interval_ms: 30 }
routes:
  - name: before
    primary: { provider: local, model: old }
`;

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("policy reload", () => {
  let service: TestSwitchyard | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it("puts a valid new file in force atomically while calls in flight finish under the old one", async () => {
    service = await startTestSwitchyard(SLOW_POLICY);
    const { app } = service;
    const oldVersion = app.policies.current().version;
    const pipeline = createPipeline({
      policies: app.policies,
      decisions: createDecisionLog(),
      logger: pino({ level: "silent" }),
    });

    const inFlight = collect(pipeline.stream(request(), call()));
    await writeFile(
      service.policyPath,
      SLOW_POLICY.replace("name: before", "name: after").replace("model: old", "model: new"),
    );
    await until(() => app.policies.current().version !== oldVersion);

    const events = await inFlight;
    const done = events.at(-1);
    expect(done?.type === "done" && [done.decision.route, done.decision.policyVersion]).toEqual([
      "before",
      oldVersion,
    ]);
    const next = await pipeline.route(request(), call());
    expect(next.decision).toMatchObject({
      route: "after",
      target: "local/new",
      policyVersion: app.policies.current().version,
    });
    expect(service.logs.some((line) => line.msg === "policy reloaded")).toBe(true);
  });

  it("refuses an invalid file, logs every issue, and keeps the old policy in force", async () => {
    service = await startTestSwitchyard(MINIMAL_POLICY);
    const { app } = service;
    const version = app.policies.current().version;
    await writeFile(
      service.policyPath,
      `${MINIMAL_POLICY}\n    fallback: [{ provider: nowhere, model: x }]\n`,
    );
    await until(
      () => service?.logs.some((line) => line.msg?.toString().startsWith("policy refused")) ?? false,
    );
    const refused = service.logs.find((line) => line.msg?.toString().startsWith("policy refused"));
    expect(refused?.issues).toEqual([
      { path: "routes[0].fallback[0].provider", message: 'unknown provider "nowhere" (declared: local)' },
    ]);
    expect(app.policies.current().version).toBe(version);

    // An explicit reload (what SIGHUP triggers) of the same bad file changes nothing either.
    expect(await app.reloader.reload("test")).toBe(false);
    expect(app.policies.current().version).toBe(version);

    // Fixing the file brings the new version in.
    await writeFile(service.policyPath, MINIMAL_POLICY.replace("model: tiny", "model: small"));
    await until(() => app.policies.current().version !== version);
  });
});
