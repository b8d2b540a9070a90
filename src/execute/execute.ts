import type { Logger } from "pino";
import type { PolicyLease } from "../config/policy-store.js";
import type {
  Admission,
  Classification,
  Consumption,
  Execution,
  IdentifiedRequest,
  RoutingPlan,
  Safeguards,
} from "../core/call.js";
import type { Clock } from "../core/clock.js";
import { AllTargetsFailedError, NoEligibleTargetError, StreamInterruptedError } from "../core/errors.js";
import type { RouteTarget } from "../core/policy.js";
import { type Attempt, targetId } from "../core/types.js";
import { guardAttempt } from "../guard/guard.js";
import type { EscalationEvent } from "../guard/request-guard.js";
import type { Admission as TargetAdmission, TargetHealth } from "../health/target-health.js";
import { ProviderError } from "../providers/provider-error.js";
import { abandonment, attemptFailure, failedAttempt, skippedAttempt } from "./attempt-failure.js";
import { AttemptRun, type AttemptStep } from "./attempt-run.js";
import { pause, startBudgetTimer } from "./budget-timer.js";
import { orderTargets } from "./pool.js";
import { budgetEvent, type ProgressEvent, toDelta } from "./progress.js";
import { attemptHealth, backoffMs, retriesOnSameTarget } from "./retry.js";

export interface ExecuteInput {
  request: IdentifiedRequest;
  /** What the request is: the guard checks every attempt against its effective data class. */
  classification: Classification;
  plan: RoutingPlan;
  admission: Admission;
  /** What may be sent: the redacted request for hosted targets, the tools offered. */
  safeguards: Safeguards;
  lease: PolicyLease;
  /** The caller's signal: cancellation, deadline, or a stalled reader (see CallContext). */
  signal: AbortSignal;
  /** When the caller's deadline passes, on `clock`; undefined when it set none. */
  deadline?: number;
  clock: Clock;
  logger: Logger;
  /** Breakers, cooling, drills, latency: what this process knows of each target. */
  health: TargetHealth;
  /** In [0, 1): backoff jitter. */
  random: () => number;
  /**
   * Stream: every delta goes to the caller as it arrives, with attempt and budget events, and a
   * started answer is never restarted elsewhere. Route: the answer is assembled, and a failure
   * before it is complete may still move on to the next target (nothing reached the caller).
   */
  deliver: boolean;
  /** Each attempt that consumed tokens is added here as it ends (also one the caller abandoned). */
  consumed: Consumption[];
  /** Told when the answer carried secrets (masked before anyone saw them). */
  escalate(event: EscalationEvent): void;
}

export type { ProgressEvent } from "./progress.js";

type SkipKind = Extract<TargetAdmission, { allowed: false }>["skip"];
type Opened =
  | { kind: "run"; run: AttemptRun }
  | { kind: "not_sent"; attempt: Attempt; skip?: SkipKind; retryAfterMs?: number };
type FirstStep =
  | { kind: "started"; run: AttemptRun; step: Exclude<AttemptStep, { type: "failed" }> }
  | { kind: "failed"; failure: ProviderError };
type Followed = { kind: "answered"; execution: Execution } | { kind: "failed"; failure: ProviderError };

/**
 * The one attempt loop, for Route and Stream alike.
 *
 * Time: the call has one deadline, the tighter of the caller's and the route's `max_latency_ms`.
 * Each target gets a share of what is left of it (an equal split over the targets still to try,
 * the last one gets all), and each attempt's first token must come within the tighter of that
 * share and `first_token_ms`, so a slow primary leaves time for its fallbacks. Once the answer
 * has begun, `max_token_gap_ms` bounds each silence and the deadline the rest.
 *
 * Targets are tried in the plan's order, each guarded at the moment it is due (residency) and
 * admitted by its health: a target whose breaker is open, that is cooling down after a 429 or
 * taken out of service is skipped, and the decision says so. A failure a retry can fix is retried
 * on the same target after an exponential backoff with full jitter, while the route's
 * `retry.max_attempts`, the target's retry budget and its share of the deadline allow; a 429
 * cools the target for the provider's retry-after (the last target waits for it when the wait
 * fits the deadline). Other retryable failures move on to the next target (DESIGN invariant 5);
 * the rest end the call.
 *
 * With `hedge:` on the route, a target with no first token after the hedge delay gets the next
 * eligible target started beside it; the first to answer is kept, the other is stopped, and both
 * are recorded (and priced).
 *
 * When nothing answers, the route's degrade ladder: its target, then its fixed answer, if the
 * last failure was retryable; otherwise throws NoEligibleTargetError or AllTargetsFailedError
 * (both carrying the decision). In stream mode, a failure after the first delta throws
 * StreamInterruptedError. If the caller stops iterating, the attempts in flight are recorded as
 * cancelled (with what they had received) and their upstream requests closed.
 */
export async function* execute(input: ExecuteInput): AsyncGenerator<ProgressEvent, Execution> {
  const { plan, clock, deliver, health } = input;
  const decision = plan.decision;
  const route = plan.route;
  const budgets = route.budgets;
  const requestStarted = clock.now();
  const deadline = Math.min(
    input.deadline ?? Number.POSITIVE_INFINITY,
    budgets.maxLatencyMs === undefined ? Number.POSITIVE_INFINITY : requestStarted + budgets.maxLatencyMs,
  );
  const callScope = abortScope(input.signal);
  const callSignal = callScope.controller.signal;
  /** Targets not tried yet, in order (a hedge or a continuation takes its target from here). */
  let pending: RouteTarget[] = [];
  const totalTimer = startBudgetTimer(
    clock,
    callScope.controller,
    budgets.maxLatencyMs,
    () => `route budget max_latency_ms=${budgets.maxLatencyMs} exhausted`,
  );
  /** Runs started and not yet recorded: the ones to stop and record if the caller leaves. */
  const live = new Set<AttemptRun>();
  let lastFailure: ProviderError | undefined;
  /** The soonest a cooled target takes calls again, when every target was skipped. */
  let coolingLeft: number | undefined;
  /** Why targets were skipped: every one cooling after a 429 makes the call rate limited. */
  const skips = new Set<SkipKind>();
  /** How long the last 429 cooled its target (its retry-after, or our backoff when it gave none). */
  let rateLimitCooling: number | undefined;
  /** The shortest cooling a 429 put on a target during this call: when the first of them takes calls again. */
  let soonestRateLimitRetryMs: number | undefined;

  /** Guards and admits `target`, and starts an attempt on it; or says why nothing was sent. */
  const open = (
    target: RouteTarget,
    retry: number,
    hedge: boolean,
    shareEnd: number,
    assistantPrefix?: string,
  ): Opened => {
    const id = targetId(target);
    const verdict = guardAttempt(target, input.classification.dataClass, input.lease);
    if (!verdict.allowed)
      return {
        kind: "not_sent",
        attempt: {
          target: id,
          outcome: "refused",
          latencyMs: 0,
          errorClass: "policy",
          message: verdict.reason,
          retryable: false,
        },
      };
    const admitted = health.admit(id, target.breaker);
    if (!admitted.allowed)
      return {
        kind: "not_sent",
        attempt: skippedAttempt(id, admitted.reason, retry),
        skip: admitted.skip,
        ...(admitted.retryAfterMs !== undefined && { retryAfterMs: admitted.retryAfterMs }),
      };
    // The last target's share ends at the deadline, which bounds it anyway.
    const share = shareEnd < deadline ? shareEnd - clock.now() : Number.POSITIVE_INFINITY;
    const firstTokenBudgetMs =
      Number.isFinite(share) && (budgets.firstTokenMs === undefined || share < budgets.firstTokenMs)
        ? Math.max(1, Math.floor(share))
        : budgets.firstTokenMs;
    // A hosted provider gets the redacted request (when anything was redacted); the answer then
    // has its tokens restored. Every answer has the secrets the model wrote masked.
    const redaction = sendsOutside(target.provider, input.lease) ? input.safeguards.redaction : undefined;
    const run = new AttemptRun({
      request: input.request,
      admission: input.admission,
      target,
      adapter: verdict.adapter,
      permit: admitted.permit,
      ...(redaction && { redaction }),
      tools: redaction?.tools ?? input.safeguards.tools,
      budgets,
      firstTokenBudgetMs,
      budgetMs: Math.min(
        firstTokenBudgetMs ?? Number.POSITIVE_INFINITY,
        Number.isFinite(deadline)
          ? Math.max(1, Math.floor(deadline - clock.now()))
          : Number.POSITIVE_INFINITY,
      ),
      callSignal,
      callerSignal: input.signal,
      incremental: deliver,
      clock,
      logger: input.logger,
      retry,
      hedge,
      ...(assistantPrefix !== undefined && { assistantPrefix }),
    });
    live.add(run);
    return { kind: "run", run };
  };

  /** A target refused by policy or skipped by its health: recorded, and said (stream mode). */
  function* notSent(opened: Extract<Opened, { kind: "not_sent" }>): Generator<ProgressEvent> {
    decision.attempts.push(opened.attempt);
    if (opened.skip) skips.add(opened.skip);
    if (opened.retryAfterMs !== undefined)
      coolingLeft = Math.min(coolingLeft ?? Number.POSITIVE_INFINITY, opened.retryAfterMs);
    if (deliver) yield { type: "attempt", attempt: opened.attempt };
  }

  /** Writes a finished attempt into the decision; returns its index there. */
  const record = (run: AttemptRun, attempt: Attempt, consumed: boolean): number => {
    live.delete(run);
    const index = decision.attempts.length;
    decision.attempts.push({
      ...attempt,
      ...(run.setup.redaction && { redacted: run.setup.redaction.count }),
      ...(Number.isFinite(run.setup.budgetMs) && { budgetMs: run.setup.budgetMs }),
      ...(run.setup.retry > 0 && { retry: run.setup.retry }),
      ...(run.setup.hedge && { hedge: true }),
      ...(run.setup.assistantPrefix !== undefined && { continues: true }),
      startedMs: run.startedAt - requestStarted,
      ...(run.firstTokenMs !== undefined && { firstTokenMs: run.firstTokenMs }),
    });
    recordMasked(run, input);
    if (consumed) input.consumed.push(run.consumption(index));
    return index;
  };

  const recordFailure = (run: AttemptRun, failure: ProviderError): Attempt => {
    const latencyMs = clock.now() - run.startedAt;
    const attempt = failedAttempt(run.id, failure, latencyMs);
    record(run, attempt, run.started || run.reported !== undefined);
    health.ended(run.setup.permit, attemptHealth(failure, latencyMs, run.endedByCallTime));
    if (failure.errorClass === "rate_limited") {
      rateLimitCooling = health.rateLimited(run.id, failure.retryAfterMs);
      soonestRateLimitRetryMs = Math.min(
        soonestRateLimitRetryMs ?? Number.POSITIVE_INFINITY,
        rateLimitCooling,
      );
    }
    // A 503 (or 500) that says when to come back: no call goes to the target before then.
    else if (failure.retryAfterMs !== undefined)
      health.cool(run.id, failure.retryAfterMs, "the provider's retry-after");
    return decision.attempts[decision.attempts.length - 1] ?? attempt;
  };

  /** Budget events for a failure (stream mode), then the attempt. */
  function* failureEvents(run: AttemptRun, attempt: Attempt): Generator<ProgressEvent> {
    if (!deliver) return;
    const at = clock.now();
    const timedOut = run.timedOut;
    if (timedOut === "first_token")
      yield budgetEvent("first_token", at - run.startedAt, run.setup.budgetMs, true);
    else if (timedOut === "token_gap")
      yield budgetEvent("token_gap", at - run.lastTokenAt, budgets.maxTokenGapMs, true);
    else if (totalTimer.fired) yield budgetEvent("total", at - requestStarted, budgets.maxLatencyMs, true);
    if (!run.started) yield { type: "attempt", attempt };
  }

  /**
   * Waits for the first step of `first`, starting a hedge beside it when the route says so and
   * it is slow. The first run to bring a part (or a whole empty answer) wins; the other is
   * stopped and recorded as a lost hedge. Runs that fail first are recorded as they fail.
   */
  async function* firstStep(
    first: AttemptRun,
    pending: RouteTarget[],
    shareEnd: number,
  ): AsyncGenerator<ProgressEvent, FirstStep> {
    type Arrival = { run: AttemptRun; step: AttemptStep };
    const racing = new Map<AttemptRun, Promise<Arrival>>();
    const pull = (run: AttemptRun) =>
      racing.set(
        run,
        run.next().then((step) => ({ run, step })),
      );
    pull(first);
    const hedgeDelay = route.hedge && pending.length > 0 ? hedgeDelayMs(first) : undefined;
    // Stopped when the race is over (a stopped wait resolves into a race nobody runs any more).
    const hedgeWait = new AbortController();
    let hedgeDue: Promise<"hedge"> | undefined =
      hedgeDelay === undefined
        ? undefined
        : pause(clock, hedgeDelay, hedgeWait.signal).then(() => "hedge" as const);
    let failure: ProviderError | undefined;
    try {
      while (racing.size > 0) {
        const arrival = await Promise.race<Arrival | "hedge">([
          ...racing.values(),
          ...(hedgeDue ? [hedgeDue] : []),
        ]);
        if (arrival === "hedge") {
          hedgeDue = undefined;
          const hedge = yield* startHedge(first, pending, shareEnd);
          if (hedge) pull(hedge);
          continue;
        }
        const { run, step } = arrival;
        racing.delete(run);
        if (step.type !== "failed") {
          for (const loser of racing.keys()) {
            loser.stop(new ProviderError("cancelled", `hedge: ${run.id} answered first`));
            const latencyMs = clock.now() - loser.startedAt;
            // The loser was sent the prompt: what it read is priced even if it wrote nothing.
            const index = record(
              loser,
              {
                target: loser.id,
                outcome: "cancelled",
                latencyMs,
                errorClass: "cancelled",
                message: `hedge: ${run.id} answered first; the upstream request was aborted`,
                retryable: false,
              },
              true,
            );
            health.ended(loser.setup.permit, { kind: "neutral" });
            const attempt = decision.attempts[index];
            if (deliver && attempt) yield { type: "attempt", attempt };
          }
          return { kind: "started", run, step };
        }
        // A failure that forbids moving on (a bad request, a refusal) stands over a retryable one
        // that came after it in the race.
        if (failure === undefined || failure.retryable) failure = step.failure;
        lastFailure = failure;
        yield* failureEvents(run, recordFailure(run, failure));
        // A failure of the call itself (the caller left, the deadline passed) ends every run.
        if (callSignal.aborted)
          for (const other of racing.keys())
            other.stop(attemptFailure(callSignal.reason, callSignal, input.signal, input.logger));
      }
    } finally {
      hedgeWait.abort();
    }
    return { kind: "failed", failure: failure ?? new ProviderError("cancelled", "no attempt ran") };
  }

  /** Runs hedged beside another: their failures are not retried on the same target. */
  const hedged = new Set<AttemptRun>();

  /** The next pending target that may take the hedge (guarded and admitted), started; others it passes are recorded. */
  async function* startHedge(
    beside: AttemptRun,
    pending: RouteTarget[],
    shareEnd: number,
  ): AsyncGenerator<ProgressEvent, AttemptRun | undefined> {
    if (!health.mayRetry(beside.id)) return undefined;
    while (pending.length > 0) {
      const target = pending.shift() as RouteTarget;
      const opened = open(target, 0, true, pending.length === 0 ? deadline : shareEnd);
      if (opened.kind === "run") {
        hedged.add(beside);
        return opened.run;
      }
      yield* notSent(opened);
    }
    return undefined;
  }

  const hedgeDelayMs = (run: AttemptRun): number => {
    const hedge = route.hedge;
    if (!hedge) return Number.POSITIVE_INFINITY;
    if (hedge.after === "p95") {
      const stats = health.stats(run.id);
      if (stats.p95FirstTokenMs !== undefined && stats.samples >= P95_MIN_SAMPLES)
        return stats.p95FirstTokenMs;
    }
    return hedge.afterMs;
  };

  /**
   * Takes a started run to its end: the answer, or (Route only) a failure the next target may
   * fix. `before` is what the caller already received from the cut attempt this one continues.
   */
  async function* follow(
    run: AttemptRun,
    first: Exclude<AttemptStep, { type: "failed" }>,
    before = "",
  ): AsyncGenerator<ProgressEvent, Followed> {
    let step: AttemptStep = first;
    if (deliver && run.started && before === "") {
      decision.target = run.id;
      yield budgetEvent("first_token", run.firstTokenMs ?? 0, run.setup.budgetMs, false);
    }
    while (step.type === "part") {
      if (deliver && step.shown) yield toDelta(step.shown, run.setup.target);
      step = await run.next();
    }
    if (step.type === "end") {
      // What was held back (an unfinished word, a split token) goes out before the end.
      for (const rest of run.flush()) {
        run.answer.add(rest);
        if (deliver) yield toDelta(rest, run.setup.target);
      }
      const latencyMs = clock.now() - run.startedAt;
      const index = record(run, { target: run.id, outcome: "succeeded", latencyMs }, true);
      health.ended(run.setup.permit, {
        kind: "succeeded",
        latencyMs,
        firstTokenMs: run.firstTokenMs ?? latencyMs,
      });
      decision.target = run.id;
      if (deliver) {
        yield budgetEvent("token_gap", run.largestGapMs, budgets.maxTokenGapMs, false);
        yield budgetEvent("total", clock.now() - requestStarted, budgets.maxLatencyMs, false);
      }
      const message = run.answer.message();
      return {
        kind: "answered",
        execution: {
          message: { ...message, content: before + message.content },
          finishReason: step.finishReason,
          answeredBy: index,
        },
      };
    }
    const failure = step.failure;
    lastFailure = failure;
    // A started stream keeps what it had: the words held back go out before it ends.
    const held = deliver ? run.flush() : [];
    const attempt = recordFailure(run, failure);
    yield* failureEvents(run, attempt);
    if (deliver) {
      for (const rest of held) {
        run.answer.add(rest);
        yield toDelta(rest, run.setup.target);
      }
      // Only a failure the next target may fix is continued there: never a refusal.
      const resumed = failure.retryable ? yield* resume(run, before) : undefined;
      if (resumed) return resumed;
      throw new StreamInterruptedError(
        `the stream from ${run.id} failed after it had started (${failure.message}); it is not restarted on another model`,
        decision,
        failure.errorClass,
        { cause: failure },
      );
    }
    return { kind: "failed", failure };
  }

  /**
   * A stream cut after tokens reached the caller, continued by the next target that can continue
   * a partial answer (route `resume_on_fallback`): text only, and only on a target on the same
   * side of the boundary (it is sent what the cut one wrote, which was redacted for it or not).
   */
  async function* resume(
    cut: AttemptRun,
    before: string,
  ): AsyncGenerator<ProgressEvent, Followed | undefined> {
    const answer = cut.answer.message();
    if (!route.resumeOnFallback || answer.toolCalls !== undefined || callSignal.aborted) return undefined;
    const prefix = (cut.setup.assistantPrefix ?? "") + cut.rawText;
    const outside = sendsOutside(cut.setup.target.provider, input.lease);
    while (pending.length > 0 && !callSignal.aborted) {
      const target = pending.shift() as RouteTarget;
      const provider = input.lease.policy.providers.get(target.provider);
      if (!provider?.continuesAnswers || sendsOutside(target.provider, input.lease) !== outside) continue;
      const opened = open(target, 0, false, deadline, prefix);
      if (opened.kind === "not_sent") {
        yield* notSent(opened);
        continue;
      }
      const first = yield* firstStep(opened.run, [], deadline);
      if (first.kind === "started") return yield* follow(first.run, first.step, before + answer.content);
      if (!first.failure.retryable) return undefined;
    }
    return undefined;
  }

  try {
    pending = orderTargets(
      plan,
      { request: input.request, admission: input.admission, policy: input.lease.policy },
      (id) => health.stats(id),
      input.random,
    );
    targets: while (pending.length > 0 && !callSignal.aborted) {
      const target = pending.shift() as RouteTarget;
      const id = targetId(target);
      const now = clock.now();
      const shareEnd = pending.length === 0 ? deadline : now + (deadline - now) / (pending.length + 1);
      for (let retry = 0; ; retry += 1) {
        const opened = open(target, retry, false, shareEnd);
        if (opened.kind === "not_sent") {
          yield* notSent(opened);
          continue targets;
        }
        const first = yield* firstStep(opened.run, pending, shareEnd);
        let failure: ProviderError;
        if (first.kind === "started") {
          const followed = yield* follow(first.run, first.step);
          if (followed.kind === "answered") return followed.execution;
          failure = followed.failure;
        } else failure = first.failure;
        if (!failure.retryable || callSignal.aborted) break targets;
        // Hedged runs and runs that had begun answering are not tried again on their target.
        if (hedged.has(opened.run) || opened.run.started || retry + 1 >= route.retry.maxAttempts)
          continue targets;
        const wait = retryWait(failure, retry + 1, pending.length === 0);
        if (
          wait === undefined ||
          clock.now() + wait >= (failure.errorClass === "rate_limited" ? deadline : shareEnd)
        )
          continue targets;
        if (failure.errorClass !== "rate_limited" && !health.mayRetry(id)) continue targets;
        await pause(clock, wait, callSignal);
        if (callSignal.aborted) break targets;
      }
    }

    return yield* degradeOrThrow();
  } finally {
    totalTimer.cancel();
    // The caller stopped iterating while a delta waited for it: the upstream requests still open
    // are aborted; the decision says so and keeps what they cost.
    for (const run of [...live]) {
      run.stop(new ProviderError("cancelled", "the caller stopped taking the stream"));
      record(
        run,
        {
          target: run.id,
          outcome: "cancelled",
          latencyMs: clock.now() - run.startedAt,
          errorClass: "cancelled",
          message: abandonment(input.signal),
          retryable: false,
        },
        true,
      );
      health.ended(run.setup.permit, { kind: "neutral" });
    }
    callScope.release();
  }

  /**
   * How long to wait before trying the same target again, or undefined for no retry. A 429 waits
   * out its cooling, and only on the last target (a fallback serves the caller sooner); other
   * failures a retry can fix back off exponentially with full jitter, or as long as the server
   * asked when that is within `max_backoff_ms`.
   */
  function retryWait(failure: ProviderError, retry: number, lastTarget: boolean): number | undefined {
    if (failure.errorClass === "rate_limited") {
      if (!lastTarget || rateLimitCooling === undefined) return undefined;
      // Without a deadline to fit in, no longer than the route's longest backoff.
      return Number.isFinite(deadline) || rateLimitCooling <= route.retry.maxBackoffMs
        ? rateLimitCooling
        : undefined;
    }
    if (!retriesOnSameTarget(failure)) return undefined;
    // A server that asks for more than the longest backoff is left for the next target.
    if ((failure.retryAfterMs ?? 0) > route.retry.maxBackoffMs) return undefined;
    return Math.max(backoffMs(retry, route.retry, input.random), failure.retryAfterMs ?? 0);
  }

  /**
   * After the attempts ran out: the degrade ladder when the last failure was of the kind a retry
   * could have fixed (never for the caller's cancellation or a bad request), or every target
   * was skipped as unavailable; else the error. When the attempts stopped because the caller went
   * away or the deadline passed, that is the failure reported, whatever came before it.
   */
  async function* degradeOrThrow(): AsyncGenerator<ProgressEvent, Execution> {
    let failure = lastFailure;
    if (callSignal.aborted && (failure === undefined || failure.retryable))
      failure = attemptFailure(callSignal.reason, callSignal, input.signal, input.logger);
    // Every target skipped (open, cooled, out of service): rate limited when every one is cooling
    // after a 429, else unavailable; either way with the soonest a cooled target takes calls
    // again when every one is cooling.
    const everyCooling = [...skips].every((skip) => skip === "rate_limited" || skip === "cooling");
    const allSkipped = decision.attempts.every((attempt) => attempt.outcome === "skipped");
    const soonest =
      everyCooling && allSkipped && coolingLeft !== undefined ? { retryAfterMs: coolingLeft } : {};
    if (!failure && skips.size > 0)
      failure =
        allSkipped && skips.size === 1 && skips.has("rate_limited")
          ? new ProviderError(
              "rate_limited",
              "every target of the route is cooling down after rate limiting",
              soonest,
            )
          : new ProviderError(
              "overloaded",
              "no target of the route is available (breakers open, cooling down or out of service)",
              soonest,
            );

    if (failure?.retryable === true) {
      const degraded = yield* degradeTarget();
      if (degraded) return degraded;
      const answer = route.degrade.answer;
      if (answer !== undefined) {
        decision.degraded = true;
        decision.degradeRung = "answer";
        decision.target = "";
        if (deliver) yield { type: "delta", content: answer, toolCalls: [], degradeRung: "answer" };
        return { message: { role: "assistant", content: answer }, finishReason: "degraded" };
      }
    }
    if (!failure) {
      const reasons = decision.candidates
        .filter((candidate) => !candidate.eligible)
        .map((candidate) => `${candidate.target}: ${candidate.reason}`);
      const refusals = decision.attempts.map((attempt) => `${attempt.target}: ${attempt.message}`);
      throw new NoEligibleTargetError(
        `route "${decision.route}" has no target this request may be sent to (${[...reasons, ...refusals].join("; ")})`,
        decision,
      );
    }
    throw new AllTargetsFailedError(
      `no target of route "${decision.route}" answered; last failure: ${failure.message}`,
      decision,
      failure.errorClass,
      // Rate limited everywhere: the soonest any of them said it would take a call again.
      failure.errorClass === "rate_limited" ? (soonestRateLimitRetryMs ?? coolingLeft) : failure.retryAfterMs,
      { cause: failure },
    );
  }

  /** The ladder's first rung: the route's degrade target, tried once with what is left of the deadline. */
  async function* degradeTarget(): AsyncGenerator<ProgressEvent, Execution | undefined> {
    const target = plan.degradeTo;
    if (!target || callSignal.aborted) return undefined;
    const opened = open(target, 0, false, deadline);
    if (opened.kind === "not_sent") {
      yield* notSent(opened);
      return undefined;
    }
    const first = yield* firstStep(opened.run, [], deadline);
    if (first.kind !== "started") return undefined;
    const followed = yield* follow(first.run, first.step);
    if (followed.kind !== "answered") return undefined;
    decision.degraded = true;
    decision.degradeRung = `target ${targetId(target)}`;
    return followed.execution;
  }
}

/** Hedging on the p95 waits for this many observed first tokens; the fixed delay is used until then. */
const P95_MIN_SAMPLES = 20;

/** Secrets the model wrote, by kind, into the decision (counts only), and one escalation. */
function recordMasked(run: AttemptRun, input: ExecuteInput): void {
  const masked = run.filter.masked;
  if (masked.size === 0) return;
  const findings = input.plan.decision.outputFindings;
  for (const [kind, count] of masked) {
    const known = findings.find((finding) => finding.kind === kind);
    if (known) known.count += count;
    else findings.push({ kind, group: "secret", count, action: "mask", rule: "built-in" });
  }
  input.plan.decision.escalations.push("output.secret");
  input.escalate({ rule: "output.secret", kinds: [...masked.keys()], action: "mask" });
}

/** True when data sent to `provider` leaves the boundary, under the call's policy or the one now in force. */
function sendsOutside(provider: string, lease: PolicyLease): boolean {
  return (
    lease.policy.providers.get(provider)?.hosted !== false ||
    lease.latest().providers.get(provider)?.hosted !== false
  );
}

/**
 * A controller aborted when `parent` is (with the parent's reason) or by its own budgets. Cheaper
 * than AbortSignal.any, which allocates weak references per source; `release` unhooks it from the
 * parent once the scope is over.
 */
function abortScope(parent: AbortSignal): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener("abort", forward, { once: true });
  return { controller, release: () => parent.removeEventListener("abort", forward) };
}
