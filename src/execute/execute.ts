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
import type { Clock, Timer } from "../core/clock.js";
import { AllTargetsFailedError, NoEligibleTargetError, StreamInterruptedError } from "../core/errors.js";
import type { RouteBudgets } from "../core/policy.js";
import {
  type Attempt,
  type BudgetStep,
  type FinishReason,
  type StreamEvent,
  targetId,
  type Usage,
} from "../core/types.js";
import { guardAttempt } from "../guard/guard.js";
import type { EscalationEvent } from "../guard/request-guard.js";
import { ProviderError } from "../providers/provider-error.js";
import type { StreamPart } from "../providers/types.js";
import { createAnswerAssembler } from "./answer.js";
import { attemptFailure, callEnded } from "./attempt-failure.js";
import { startBudgetTimer } from "./budget-timer.js";
import { createOutputFilter, type OutputFilter } from "./output-filter.js";
import { providerCall } from "./provider-call.js";

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
  clock: Clock;
  logger: Logger;
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

/** What execute yields to the caller while it runs (stream mode only). */
export type ProgressEvent = Extract<
  StreamEvent,
  { type: "delta" } | { type: "attempt" } | { type: "budget" }
>;

/**
 * The one attempt loop, for Route and Stream alike. Tries the eligible targets in order, each
 * guarded at the moment it is due; moves on only after a retryable failure (DESIGN invariant
 * 5), while the caller waits and the route's total budget (`max_latency_ms`) lasts. Every
 * attempt streams from its provider, so `first_token_ms` (time to the first token) and
 * `max_token_gap_ms` bound each attempt of both RPCs: a provider that hangs is left at the
 * first-token budget and the next target gets the rest of the total.
 *
 * Every attempt is recorded in the plan's decision. When nothing answers, the route's fixed
 * answer is used if the last failure was retryable; otherwise throws NoEligibleTargetError or
 * AllTargetsFailedError (both carrying the decision). In stream mode, a failure after the first
 * delta throws StreamInterruptedError. The gap budget measures the provider, not the caller: it
 * does not run while a delta waits for the caller to take it. If the caller stops iterating,
 * the attempt in flight is recorded as cancelled (with what it had received) and its upstream
 * request is closed.
 */
export async function* execute(input: ExecuteInput): AsyncGenerator<ProgressEvent, Execution> {
  const { plan, clock, deliver } = input;
  const decision = plan.decision;
  const budgets = plan.route.budgets;
  const requestStarted = clock.now();
  const callScope = abortScope(input.signal);
  const callSignal = callScope.controller.signal;
  const totalTimer = startBudgetTimer(
    clock,
    callScope.controller,
    budgets.maxLatencyMs,
    () => `route budget max_latency_ms=${budgets.maxLatencyMs} exhausted`,
  );
  let lastFailure: ProviderError | undefined;
  try {
    for (const target of plan.eligible) {
      if (callSignal.aborted) break;
      const id = targetId(target);
      const verdict = guardAttempt(target, input.classification.dataClass, input.lease);
      if (!verdict.allowed) {
        const attempt = refusedAttempt(id, verdict.reason);
        decision.attempts.push(attempt);
        if (deliver) yield { type: "attempt", attempt };
        continue;
      }

      const index = decision.attempts.length;
      const attemptStarted = clock.now();
      const attemptScope = abortScope(callSignal);
      const attemptBudget = attemptScope.controller;
      const attemptSignal = attemptBudget.signal;
      const firstToken = startBudgetTimer(
        clock,
        attemptBudget,
        budgets.firstTokenMs,
        () => `no first token within first_token_ms=${budgets.firstTokenMs}`,
      );
      const answer = createAnswerAssembler();
      // A hosted provider gets the redacted request (when anything was redacted); the answer
      // then has its tokens restored. Every answer has the secrets the model wrote masked.
      const redaction = sendsOutside(target.provider, input.lease) ? input.safeguards.redaction : undefined;
      const filter = createOutputFilter(redaction?.vault, { incremental: deliver });
      let receivedCharacters = 0;
      let gap: Timer | undefined;
      let started = false;
      let lastTokenAt = attemptStarted;
      let largestGap = 0;
      let reported: Usage | undefined;
      let finishReason: FinishReason | undefined;
      let failure: ProviderError | undefined;
      const consumption = (): Consumption => ({
        attempt: index,
        target,
        receivedCharacters,
        ...(reported && { reported }),
      });
      let abandoned = true;
      try {
        try {
          const parts = verdict.adapter.stream(
            providerCall(
              redaction
                ? {
                    ...input.request,
                    messages: redaction.messages,
                    params: { ...input.request.params, stop: redaction.stop },
                  }
                : input.request,
              input.admission,
              target.model,
              attemptSignal,
              redaction?.tools ?? input.safeguards.tools,
            ),
          );
          for await (const part of parts) {
            if (part.type === "usage") reported = part.usage;
            else if (part.type === "response-end") {
              finishReason = part.finishReason;
              reported = part.usage ?? reported;
              // The answer is whole: nothing after the end marker may turn it into a failure.
              break;
            } else {
              const at = clock.now();
              // Counted before anything is yielded: a caller that leaves at the next yield has
              // still been sent (and billed for) this part.
              receivedCharacters +=
                part.type === "text-delta" ? part.delta.length : part.argumentsDelta.length;
              const shown = filtered(part, filter);
              if (shown) answer.add(shown);
              if (!started) {
                started = true;
                firstToken.cancel();
                if (deliver) {
                  decision.target = id;
                  yield budgetEvent("first_token", at - attemptStarted, budgets, false);
                }
              } else {
                largestGap = Math.max(largestGap, at - lastTokenAt);
                // The caller's pace is not the provider's: no gap is counted while a delta waits
                // for it. Route yields nothing here, so its gap timer just restarts below.
                if (deliver) gap?.cancel();
              }
              if (deliver && shown) yield toDelta(shown);
              lastTokenAt = clock.now();
              // The gap budget only starts counting once the answer has begun.
              if (gap) gap.restart();
              else
                gap = startBudgetTimer(
                  clock,
                  attemptBudget,
                  budgets.maxTokenGapMs,
                  () => `no token within max_token_gap_ms=${budgets.maxTokenGapMs}`,
                );
            }
          }
        } catch (error) {
          failure = attemptFailure(error, attemptSignal, input.signal, input.logger);
        }
        abandoned = false;
      } finally {
        firstToken.cancel();
        gap?.cancel();
        attemptScope.release();
        // The caller stopped iterating while a delta waited for it: the for-await above has
        // already closed the upstream stream, and the attempt's signal is aborted for adapters
        // that hold the request by it; say so in the decision, and keep what it cost.
        if (abandoned) {
          attemptBudget.abort(new ProviderError("cancelled", "the caller stopped taking the stream"));
          decision.attempts.push({
            target: id,
            outcome: "cancelled",
            latencyMs: clock.now() - attemptStarted,
            errorClass: "cancelled",
            message: abandonment(input.signal),
            retryable: false,
            ...(redaction && { redacted: redaction.count }),
          });
          recordMasked(filter, input);
          input.consumed.push(consumption());
        }
      }

      const latencyMs = clock.now() - attemptStarted;
      const redacted = redaction && { redacted: redaction.count };
      if (failure === undefined && finishReason !== undefined) {
        // What was held back (an unfinished word, a split token) goes out before the end.
        for (const rest of flush(filter)) {
          answer.add(rest);
          if (deliver) yield toDelta(rest);
        }
        recordMasked(filter, input);
        decision.attempts.push({ target: id, outcome: "succeeded", latencyMs, ...redacted });
        decision.target = id;
        input.consumed.push(consumption());
        if (deliver) {
          yield budgetEvent("token_gap", largestGap, budgets, false);
          yield budgetEvent("total", clock.now() - requestStarted, budgets, false);
        }
        return { message: answer.message(), finishReason, answeredBy: index };
      }
      failure ??= new ProviderError("protocol", "the provider's stream ended without its end marker");
      lastFailure = failure;
      // A started stream keeps what it had: the words held back go out before it ends.
      const held = deliver && started ? flush(filter) : [];
      recordMasked(filter, input);
      const attempt = { ...failedAttempt(id, failure, latencyMs), ...redacted };
      decision.attempts.push(attempt);
      if (started || reported) input.consumed.push(consumption());
      if (deliver) {
        const at = clock.now();
        if (firstToken.fired) yield budgetEvent("first_token", at - attemptStarted, budgets, true);
        else if (gap?.fired) yield budgetEvent("token_gap", at - lastTokenAt, budgets, true);
        else if (totalTimer.fired) yield budgetEvent("total", at - requestStarted, budgets, true);
        for (const rest of held) yield toDelta(rest);
        if (started)
          throw new StreamInterruptedError(
            `the stream from ${id} failed after it had started (${failure.message}); it is not restarted on another model`,
            decision,
            failure.errorClass,
            { cause: failure },
          );
        yield { type: "attempt", attempt };
      }
      if (!failure.retryable) break;
    }
  } finally {
    totalTimer.cancel();
    callScope.release();
  }

  const degraded = degradeOrThrow(input, callSignal, lastFailure);
  if (deliver) yield { type: "delta", content: degraded.message.content, toolCalls: [] };
  return degraded;
}

/**
 * After the attempts ran out: the route's fixed answer when the last failure was of the kind a
 * retry could have fixed (never for the caller's cancellation or a bad request), else the error.
 * When the attempts stopped because the caller went away or the total budget ran out, that is
 * the failure reported, whatever came before it.
 */
function degradeOrThrow(
  input: ExecuteInput,
  callSignal: AbortSignal,
  lastFailure: ProviderError | undefined,
): Execution {
  const { plan } = input;
  const decision = plan.decision;
  let failure = lastFailure;
  if (callSignal.aborted && (failure === undefined || failure.retryable))
    failure = attemptFailure(callSignal.reason, callSignal, input.signal, input.logger);

  const answer = plan.route.degradeAnswer;
  if (answer !== undefined && failure?.retryable === true) {
    decision.degraded = true;
    decision.target = "";
    return { message: { role: "assistant", content: answer }, finishReason: "degraded" };
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
    failure.retryAfterMs,
    { cause: failure },
  );
}

type AnswerPart = Extract<StreamPart, { type: "text-delta" } | { type: "tool-call-delta" }>;

/** The part as it may be shown (secrets masked, tokens restored); undefined when all of it is held back. */
function filtered(part: AnswerPart, filter: OutputFilter): AnswerPart | undefined {
  if (part.type === "text-delta") {
    const delta = filter.text(part.delta);
    return delta === "" ? undefined : { type: "text-delta", delta };
  }
  const argumentsDelta = filter.toolArguments(part.index, part.argumentsDelta);
  if (argumentsDelta === "" && part.id === undefined && part.name === undefined) return undefined;
  return {
    ...part,
    argumentsDelta,
    ...(part.id !== undefined && { id: filter.identifier(part.id) }),
    ...(part.name !== undefined && { name: filter.identifier(part.name) }),
  };
}

/** What the filter still holds at the answer's end, as parts. */
function flush(filter: OutputFilter): AnswerPart[] {
  const rest = filter.end();
  const parts: AnswerPart[] = [];
  if (rest.text !== "") parts.push({ type: "text-delta", delta: rest.text });
  for (const [index, argumentsDelta] of rest.toolArguments)
    if (argumentsDelta !== "") parts.push({ type: "tool-call-delta", index, argumentsDelta });
  return parts;
}

/** Secrets the model wrote, by kind, into the decision (counts only), and one escalation. */
function recordMasked(filter: OutputFilter, input: ExecuteInput): void {
  if (filter.masked.size === 0) return;
  const findings = input.plan.decision.outputFindings;
  for (const [kind, count] of filter.masked) {
    const known = findings.find((finding) => finding.kind === kind);
    if (known) known.count += count;
    else findings.push({ kind, group: "secret", count, action: "mask", rule: "built-in" });
  }
  input.plan.decision.escalations.push("output.secret");
  input.escalate({ rule: "output.secret", kinds: [...filter.masked.keys()], action: "mask" });
}

/** True when data sent to `provider` leaves the boundary, under the call's policy or the one now in force. */
function sendsOutside(provider: string, lease: PolicyLease): boolean {
  return (
    lease.policy.providers.get(provider)?.hosted !== false ||
    lease.latest().providers.get(provider)?.hosted !== false
  );
}

function refusedAttempt(target: string, reason: string): Attempt {
  return {
    target,
    outcome: "refused",
    latencyMs: 0,
    errorClass: "policy",
    message: reason,
    retryable: false,
  };
}

function failedAttempt(target: string, failure: ProviderError, latencyMs: number): Attempt {
  const cancelled = failure.errorClass === "cancelled";
  return {
    target,
    outcome: cancelled ? "cancelled" : "failed",
    latencyMs,
    errorClass: failure.errorClass,
    // Said the same way whether the abort reached the attempt while it read or while it waited.
    message: cancelled ? `${failure.message}; the upstream request was aborted` : failure.message,
    retryable: failure.retryable,
  };
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

/** Why the caller stopped taking the stream, for the decision record. */
function abandonment(signal: AbortSignal): string {
  const why = signal.aborted ? callEnded(signal) : "the caller stopped receiving the stream";
  return `${why}; the upstream request was aborted`;
}

function budgetEvent(
  step: BudgetStep,
  elapsedMs: number,
  budgets: RouteBudgets,
  exceeded: boolean,
): ProgressEvent {
  const limit =
    step === "first_token"
      ? budgets.firstTokenMs
      : step === "token_gap"
        ? budgets.maxTokenGapMs
        : budgets.maxLatencyMs;
  return { type: "budget", step, elapsedMs, limitMs: limit ?? 0, exceeded };
}

function toDelta(
  part: Extract<StreamPart, { type: "text-delta" } | { type: "tool-call-delta" }>,
): ProgressEvent {
  if (part.type === "text-delta") return { type: "delta", content: part.delta, toolCalls: [] };
  return {
    type: "delta",
    content: "",
    toolCalls: [
      {
        index: part.index,
        argumentsDelta: part.argumentsDelta,
        ...(part.id !== undefined && { id: part.id }),
        ...(part.name !== undefined && { name: part.name }),
      },
    ],
  };
}
