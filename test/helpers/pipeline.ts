import { Writable } from "node:stream";
import { pino } from "pino";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore, type PolicyStore } from "../../src/config/policy-store.js";
import { systemClock } from "../../src/core/clock.js";
import type { Policy } from "../../src/core/policy.js";
import type { CallContext, LlmRequest } from "../../src/core/types.js";
import { createTargetHealth, type TargetHealth } from "../../src/health/target-health.js";
import { createPipeline, type Pipeline } from "../../src/pipeline/pipeline.js";
import { createDecisionLog, type DecisionLog } from "../../src/record/decision-log.js";
import { createMemoryStore } from "../../src/state/memory/memory-store.js";

export interface TestPipeline {
  pipeline: Pipeline;
  decisions: DecisionLog;
  policies: PolicyStore;
  policy: Policy;
  rawLogs: string[];
  /** The pipeline's target health (breakers, cooling, drills), to set up a situation by hand. */
  health: TargetHealth;
}

/** A pipeline over `policyYaml` with a logger whose every line is kept in `rawLogs`. */
export function pipelineFor(policyYaml: string, env: Record<string, string> = {}): TestPipeline {
  const policy = parsePolicy(policyYaml, { source: "test.yaml", env });
  const policies = createPolicyStore(policy);
  const rawLogs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      rawLogs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  const decisions = createDecisionLog();
  const health = createTargetHealth(systemClock);
  const pipeline = createPipeline({
    policies,
    decisions,
    store: createMemoryStore(),
    health,
    logger: pino(sink),
  });
  return { pipeline, decisions, policies, policy, rawLogs, health };
}

export function request(overrides: Partial<LlmRequest> = {}): LlmRequest {
  return {
    messages: [{ role: "user", content: "hello" }],
    task: "",
    dataClass: "",
    tenant: "",
    user: "",
    labels: {},
    params: { stop: [] },
    tools: [],
    approvedTools: [],
    eval: false,
    ...overrides,
  };
}

let callCounter = 0;
/** A call with fresh trace and call ids. */
export function call(signal: AbortSignal = new AbortController().signal): CallContext {
  callCounter += 1;
  return {
    signal,
    traceId: callCounter.toString(16).padStart(32, "0"),
    callId: callCounter.toString(16).padStart(16, "0"),
  };
}
