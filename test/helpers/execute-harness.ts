import { pino } from "pino";
import { outputCap } from "../../src/admit/admit.js";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { createPolicyStore } from "../../src/config/policy-store.js";
import type { Consumption, Execution, RoutingPlan } from "../../src/core/call.js";
import type { LlmRequest } from "../../src/core/types.js";
import { decide } from "../../src/decide/decide.js";
import { execute, type ProgressEvent } from "../../src/execute/execute.js";
import { createTargetHealth } from "../../src/health/target-health.js";
import { identify } from "../../src/identify/identify.js";
import { createFakeClock } from "./fake-clock.js";
import { call, request } from "./pipeline.js";
import { createScriptedAdapter, type ScriptedAdapter } from "./scripted-adapter.js";

/**
 * Execute on its own (test/execute): a policy whose every provider is a scripted adapter, a fake
 * clock, and shared target health, so a test writes each provider's answer and moves time by hand.
 */

/**
 * A route over three scripted providers tried in order: slow/a, then fast/b, then spare/c. No
 * retries on the same target unless `retry` says otherwise (the retry tests set it).
 */
export function routeYaml(
  options: { budgets?: string; degrade?: string; maxTokens?: string; retry?: string; extra?: string } = {},
): string {
  return `
providers:
  slow: { kind: mock, hosted: false }
  fast: { kind: mock, hosted: false }
  spare: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: slow, model: a }
    fallback:
      - { provider: fast, model: b }
      - { provider: spare, model: c }
    budgets: { ${options.budgets ?? ""}${options.maxTokens ? `${options.budgets ? ", " : ""}max_tokens: ${options.maxTokens}` : ""} }
    retry: { ${options.retry ?? "max_attempts: 1"} }
${options.degrade ? `    degrade: { answer: "${options.degrade}" }` : ""}
${options.extra ?? ""}
`;
}

export type Outcome<T> = { value: T; error?: undefined } | { value?: undefined; error: unknown };

/** Never rejects, so a failure that comes while the test moves the clock is not "unhandled". */
export function settled<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

export async function resultOf<T>(outcome: Promise<Outcome<T>>): Promise<T> {
  const { value, error } = await outcome;
  if (error !== undefined) throw error;
  return value as T;
}

export async function errorOf(outcome: Promise<Outcome<unknown>>): Promise<unknown> {
  const { value, error } = await outcome;
  if (error === undefined) throw new Error(`expected a failure, got ${JSON.stringify(value)}`);
  return error;
}

/** Reads a generator to its end, keeping every event in `events`; returns what it returned. */
export async function consume(
  generator: AsyncGenerator<ProgressEvent, Execution>,
  events: ProgressEvent[],
): Promise<Execution> {
  for (;;) {
    const step = await generator.next();
    if (step.done) return step.value;
    events.push(step.value);
  }
}

/** One line per event, to compare orders at a glance. */
export function label(event: ProgressEvent): string {
  switch (event.type) {
    case "delta":
      return event.toolCalls.length > 0
        ? `delta:tools:${event.toolCalls.map((tool) => `${tool.index}${tool.argumentsDelta}`).join(",")}`
        : `delta:${event.content}`;
    case "attempt":
      return `attempt:${event.attempt.target}:${event.attempt.outcome}:${event.attempt.errorClass}`;
    case "budget":
      return `budget:${event.step}:${event.elapsedMs}/${event.limitMs}${event.exceeded ? ":exceeded" : ""}`;
    default:
      return event satisfies never;
  }
}

export async function nextEvent(generator: AsyncGenerator<ProgressEvent, Execution>): Promise<string> {
  const step = await generator.next();
  if (step.done) throw new Error("the stream ended early");
  return label(step.value);
}

/**
 * Execute over a policy whose every provider is a scripted adapter, on a fake clock: the test
 * writes each provider's answer and moves time by hand.
 */
export function harness(policyYaml: string) {
  const policy = parsePolicy(policyYaml, { source: "execute.test.yaml", env: {} });
  const adapters = new Map<string, ScriptedAdapter>();
  const provider = (name: string): ScriptedAdapter => {
    let adapter = adapters.get(name);
    if (!adapter) {
      adapter = createScriptedAdapter();
      adapters.set(name, adapter);
    }
    return adapter;
  };
  const policies = createPolicyStore(policy, (declared) => provider(declared.name));
  const clock = createFakeClock();
  const health = createTargetHealth(clock, () => 0.5);
  /** Backoff jitter: 0.5 unless a test sets it. */
  const jitter = { value: 0.5 };

  const start = (
    options: {
      deliver?: boolean;
      signal?: AbortSignal;
      request?: Partial<LlmRequest>;
      /** The effective data class execute is told, when not the one the plan was made for. */
      dataClass?: string;
      /** The caller's deadline, on the fake clock. */
      deadline?: number;
    } = {},
  ) => {
    const lease = policies.acquire();
    const identified = identify(request(options.request), lease.policy);
    const classification = classify(identified, lease.policy);
    const plan: RoutingPlan = decide(identified, classification, lease.policy, call());
    const consumed: Consumption[] = [];
    const generator = execute({
      request: identified,
      classification: { ...classification, ...(options.dataClass && { dataClass: options.dataClass }) },
      plan,
      admission: admissionOf(outputCap(identified, plan.route, lease.policy)),
      lease,
      signal: options.signal ?? new AbortController().signal,
      ...(options.deadline !== undefined && { deadline: options.deadline }),
      clock,
      logger: pino({ level: "silent" }),
      health,
      random: () => jitter.value,
      deliver: options.deliver ?? false,
      consumed,
      safeguards: { tools: identified.tools },
      escalate: () => {},
    });
    return { generator, decision: plan.decision, consumed, startedAt: clock.now() };
  };

  /** Route: runs to the end in the background. */
  const route = (
    options: { signal?: AbortSignal; request?: Partial<LlmRequest>; dataClass?: string } = {},
  ) => {
    const run = start({ ...options, deliver: false });
    const events: ProgressEvent[] = [];
    return { ...run, outcome: settled(consume(run.generator, events)), events };
  };

  /** Stream, read as fast as it produces (the events land in `events`). */
  const stream = (options: { signal?: AbortSignal } = {}) => {
    const run = start({ ...options, deliver: true });
    const events: ProgressEvent[] = [];
    return { ...run, outcome: settled(consume(run.generator, events)), events };
  };

  return { clock, health, jitter, provider, start, route, stream };
}

/** What admit allows when only the output cap matters (execute's tests price nothing beforehand). */
function admissionOf(maxTokens: number | undefined) {
  return {
    ...(maxTokens !== undefined && { maxTokens }),
    inputTokens: 0,
    outputTokens: maxTokens ?? 0,
    worstCaseUsd: 0,
  };
}
