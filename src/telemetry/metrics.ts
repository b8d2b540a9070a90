import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Decision, ErrorClass, TargetId } from "../core/types.js";
import type { TargetHealth } from "../health/target-health.js";
import type { StepName, StepObserver } from "../pipeline/call-state.js";

/**
 * Prometheus metrics of the calls (prom-client), read on the operator listener's `/metrics`.
 * Every label value is one the policy or this code names (routes, targets, steps, outcome and
 * error classes), except the tenant, which callers choose: the first `maxTenants` seen are labels,
 * every later one is `other`, so a flood of made-up tenants cannot grow the series without bound.
 */
export interface Metrics {
  /** Told of every finished call (what the record step writes to the decision log). */
  observeCall(decision: Decision, outcome: string): void;
  /** Times each step, and the call from its first step. */
  readonly steps: StepObserver;
  /** The text exposition format, and its content type. */
  render(): Promise<{ text: string; contentType: string }>;
}

/** The bounded words a call's outcome (see the record step) is counted under. */
const OUTCOMES = ["ok", "failed", "refused", "abandoned"] as const;
const ERROR_CLASSES: ReadonlySet<ErrorClass> = new Set([
  "connect",
  "timeout",
  "rate_limited",
  "server",
  "overloaded",
  "invalid_request",
  "auth",
  "context_length",
  "content_refused",
  "policy",
  "protocol",
  "cancelled",
]);
const BREAKER_STATE = { closed: 0, half_open: 1, open: 2 } as const;

export function createMetrics(options: {
  health: TargetHealth;
  /** Distinct tenants kept as label values; later ones count as `other`. Default 100. */
  maxTenants?: number;
  /** The clock the steps are timed on (ms); performance.now by default. */
  now?: () => number;
  /**
   * A `serve --workers N` worker: its metrics are answered to the primary's aggregation
   * (`createClusterMetrics`) rather than scraped from this process.
   */
  clusterWorker?: boolean;
}): Metrics {
  const now = options.now ?? (() => performance.now());
  const maxTenants = options.maxTenants ?? 100;
  const tenants = new Set<string>();
  const tenantLabel = (tenant: string): string => {
    if (tenants.has(tenant)) return tenant;
    if (tenants.size >= maxTenants) return "other";
    tenants.add(tenant);
    return tenant;
  };
  const registry = new Registry();
  if (options.clusterWorker) {
    // prom-client's worker side: answer the primary's requests with this registry's metrics.
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry();
  }
  const calls = new Counter({
    name: "switchyard_calls_total",
    help: "Calls by route, the target that answered ('' when none), tenant and outcome.",
    labelNames: ["route", "target", "tenant", "outcome"] as const,
    registers: [registry],
  });
  const callSeconds = new Histogram({
    name: "switchyard_call_duration_seconds",
    help: "Time from a call's first step to its record, by route.",
    labelNames: ["route"] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const stepSeconds = new Histogram({
    name: "switchyard_step_duration_seconds",
    help: "Time each pipeline step took, by step.",
    labelNames: ["step"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  const attempts = new Counter({
    name: "switchyard_attempts_total",
    help: "Attempts by target, outcome and error class ('' when it did not fail).",
    labelNames: ["target", "outcome", "error_class"] as const,
    registers: [registry],
  });
  const attemptSeconds = new Histogram({
    name: "switchyard_attempt_duration_seconds",
    help: "Time each attempt took, by target and outcome.",
    labelNames: ["target", "outcome"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: "switchyard_fallbacks_total",
    help: "Calls answered by another target than the first tried, by route.",
    labelNames: ["route"] as const,
    registers: [registry],
  });
  const hedges = new Counter({
    name: "switchyard_hedges_total",
    help: "Hedged attempts started, by target.",
    labelNames: ["target"] as const,
    registers: [registry],
  });
  const degraded = new Counter({
    name: "switchyard_degraded_total",
    help: "Calls the degrade ladder answered, by route and rung (target or answer).",
    labelNames: ["route", "rung"] as const,
    registers: [registry],
  });
  const tokens = new Counter({
    name: "switchyard_tokens_total",
    help: "Tokens attempts consumed, by target and direction (input, output, cached_input).",
    labelNames: ["target", "direction"] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: "switchyard_cost_usd_total",
    help: "What calls cost at the policy's prices, in US dollars, by route and tenant.",
    labelNames: ["route", "tenant"] as const,
    registers: [registry],
  });
  const unpriced = new Counter({
    name: "switchyard_unpriced_calls_total",
    help: "Calls sent to a model no price covers (counted as free, or at a budgeted tenant's stated price), by route and tenant.",
    labelNames: ["route", "tenant"] as const,
    registers: [registry],
  });
  const quotaRefusals = new Counter({
    name: "switchyard_quota_refusals_total",
    help: "Calls refused at a tenant's budget or rate limit (on_limit: refuse), by tenant.",
    labelNames: ["tenant"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "switchyard_breaker_state",
    help: "Each target's circuit breaker: 0 closed, 1 half-open, 2 open (across workers: the most open).",
    labelNames: ["target"] as const,
    aggregator: "max",
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, view] of options.health.views())
        this.set({ target }, BREAKER_STATE[view.breaker.state]);
    },
  });
  new Gauge({
    name: "switchyard_target_first_token_p95_seconds",
    help: "Each target's 95th percentile time to first token over its recent successful attempts (across workers: the highest).",
    labelNames: ["target"] as const,
    aggregator: "max",
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, view] of options.health.views())
        if (view.p95FirstTokenMs !== undefined) this.set({ target }, view.p95FirstTokenMs / 1000);
    },
  });
  new Gauge({
    name: "switchyard_target_in_flight",
    help: "Attempts in flight, by target.",
    labelNames: ["target"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, view] of options.health.views()) this.set({ target }, view.inFlight);
    },
  });

  const started = new Map<string, number>();
  const steps: StepObserver = {
    stepStarted(step, scope) {
      if (step === FIRST_STEP) started.set(scope.call.callId, now());
    },
    stepEnded(step: StepName, scope, outcome) {
      stepSeconds.observe({ step }, outcome.durationMs / 1000);
      // A call that fails before its record is never counted by observeCall: forget its start.
      if (step === "record" || outcome.error !== undefined) started.delete(scope.call.callId);
    },
  };

  return {
    observeCall(decision, outcome) {
      const tenant = tenantLabel(decision.tenant);
      calls.inc({
        route: decision.route,
        target: decision.target,
        tenant,
        outcome: outcomeWord(decision, outcome),
      });
      const start = started.get(decision.callId);
      if (start !== undefined) callSeconds.observe({ route: decision.route }, (now() - start) / 1000);
      const sent = decision.attempts.filter(
        (attempt) => attempt.outcome !== "skipped" && attempt.outcome !== "refused",
      );
      if (decision.target !== "" && sent.length > 0 && sent[0]?.target !== decision.target)
        fallbacks.inc({ route: decision.route });
      if (decision.degradeRung !== "")
        degraded.inc({
          route: decision.route,
          rung: decision.degradeRung === "answer" ? "answer" : "target",
        });
      for (const attempt of decision.attempts) {
        const errorClass =
          attempt.errorClass && ERROR_CLASSES.has(attempt.errorClass) ? attempt.errorClass : "";
        attempts.inc({ target: attempt.target, outcome: attempt.outcome, error_class: errorClass });
        if (attempt.outcome !== "skipped" && attempt.outcome !== "refused")
          attemptSeconds.observe(
            { target: attempt.target, outcome: attempt.outcome },
            attempt.latencyMs / 1000,
          );
        if (attempt.hedge) hedges.inc({ target: attempt.target });
        if (attempt.usage) countTokens(attempt.target, attempt.usage);
      }
      if (decision.costUsd > 0) cost.inc({ route: decision.route, tenant }, decision.costUsd);
      if (decision.unpriced) unpriced.inc({ route: decision.route, tenant });
      if (outcome === "QuotaExceededError") quotaRefusals.inc({ tenant });
    },
    steps,
    async render() {
      return { text: await registry.metrics(), contentType: registry.contentType };
    },
  };

  function countTokens(target: TargetId, usage: NonNullable<Decision["attempts"][number]["usage"]>): void {
    tokens.inc({ target, direction: "input" }, usage.inputTokens);
    tokens.inc({ target, direction: "output" }, usage.outputTokens);
    if (usage.cachedInputTokens) tokens.inc({ target, direction: "cached_input" }, usage.cachedInputTokens);
  }
}

const FIRST_STEP: StepName = "identify";

/** The primary's own series under `serve --workers N`. */
export interface ClusterMetrics extends Pick<Metrics, "render"> {
  /** Workers listening now. */
  setWorkers(count: number): void;
  /** A worker that exited unasked was replaced. */
  workerRestarted(): void;
}

/**
 * `/metrics` of a `serve --workers N` primary: every worker's series aggregated by prom-client's
 * AggregatorRegistry (counters and histograms summed, gauges as each declares: breaker state and
 * p95 time to first token are the highest across workers), followed by the primary's own series.
 * A worker that does not answer within prom-client's 5 s fails the scrape (a partial sum would
 * read as counters going down).
 */
export function createClusterMetrics(): ClusterMetrics {
  const aggregator = new AggregatorRegistry();
  const own = new Registry();
  const workers = new Gauge({
    name: "switchyard_workers",
    help: "Worker processes listening (serve --workers).",
    registers: [own],
  });
  const restarts = new Counter({
    name: "switchyard_worker_restarts_total",
    help: "Workers that exited without being asked to and were replaced.",
    registers: [own],
  });
  return {
    setWorkers: (count) => workers.set(count),
    workerRestarted: () => restarts.inc(),
    async render() {
      const [fromWorkers, primary] = await Promise.all([aggregator.clusterMetrics(), own.metrics()]);
      return {
        text: `${fromWorkers}${fromWorkers.endsWith("\n") || fromWorkers === "" ? "" : "\n"}${primary}`,
        contentType: own.contentType,
      };
    },
  };
}

/** The record step's outcome text as one of a few words (its text may name an error type). */
function outcomeWord(decision: Decision, outcome: string): (typeof OUTCOMES)[number] {
  if (outcome === "ok") return "ok";
  if (outcome.startsWith("abandoned")) return "abandoned";
  if (decision.refusal !== "" || outcome === "PolicyDeniedError") return "refused";
  return "failed";
}
