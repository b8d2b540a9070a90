import type { Logger } from "pino";
import type { Admission, Consumption, IdentifiedRequest, Redaction } from "../core/call.js";
import type { Clock, Timer } from "../core/clock.js";
import type { RouteBudgets, RouteTarget } from "../core/policy.js";
import { type FinishReason, type TargetId, type ToolSpec, targetId, type Usage } from "../core/types.js";
import type { TargetPermit } from "../health/target-health.js";
import { ProviderError } from "../providers/provider-error.js";
import type { ProviderAdapter, StreamPart } from "../providers/types.js";
import { type AnswerAssembler, createAnswerAssembler } from "./answer.js";
import { attemptFailure } from "./attempt-failure.js";
import { startBudgetTimer } from "./budget-timer.js";
import { createOutputFilter, type OutputFilter } from "./output-filter.js";
import { providerCall } from "./provider-call.js";

export type AnswerPart = Extract<StreamPart, { type: "text-delta" } | { type: "tool-call-delta" }>;

/** What one step of an attempt brought. */
export type AttemptStep =
  /** A piece of the answer from the provider; `shown` is what may be passed on (undefined: all held back). */
  | { type: "part"; shown: AnswerPart | undefined }
  | { type: "end"; finishReason: FinishReason }
  | { type: "failed"; failure: ProviderError };

export interface AttemptSetup {
  request: IdentifiedRequest;
  admission: Admission;
  target: RouteTarget;
  adapter: ProviderAdapter;
  permit: TargetPermit;
  /** What is sent to a hosted provider, when anything was redacted; the answer's tokens are restored. */
  redaction?: Redaction;
  tools: readonly ToolSpec[];
  budgets: RouteBudgets;
  /** Time to the first token: the route's first_token_ms or the attempt's share of the deadline. */
  firstTokenBudgetMs: number | undefined;
  /**
   * What it was given to its first token, as the decision shows it: the timer's budget, or for
   * the last target what was left of the call's deadline (which bounds it on its own).
   */
  budgetMs: number | undefined;
  /** The call's signal (the caller's, the call's total budget): aborting it aborts the attempt. */
  callSignal: AbortSignal;
  callerSignal: AbortSignal;
  /** Stream: the filter holds back only what may still turn into a secret. Route: scanned at the end. */
  incremental: boolean;
  clock: Clock;
  logger: Logger;
  /** 0 for the first try on its target, then 1, 2… */
  retry: number;
  hedge: boolean;
  /** The partial answer of a cut stream, for this target to continue (route `resume_on_fallback`). */
  assistantPrefix?: string;
}

/**
 * One attempt against one target, pulled a step at a time so that two can run side by side (a
 * hedge) and the caller's pace is not counted against the provider. It owns the attempt's
 * budgets: the first-token timer from the start, and once the answer has begun, the gap timer,
 * which only runs while a step is being waited for. Every part is counted (for pricing) before
 * it is returned, and passed through the output filter (secrets masked, tokens restored).
 */
export class AttemptRun {
  readonly id: TargetId;
  readonly startedAt: number;
  readonly answer: AnswerAssembler = createAnswerAssembler();
  readonly filter: OutputFilter;
  started = false;
  firstTokenMs: number | undefined;
  largestGapMs = 0;
  lastTokenAt: number;
  receivedCharacters = 0;
  /** The answer's text as the provider wrote it (before the output filter), to continue elsewhere. */
  rawText = "";
  reported: Usage | undefined;
  /** Set once it ended, one way or the other. */
  ended = false;

  private readonly controller = new AbortController();
  private readonly unhook: () => void;
  private readonly firstToken: Timer;
  private gap: Timer | undefined;
  private readonly parts: AsyncIterator<StreamPart>;

  constructor(readonly setup: AttemptSetup) {
    const { clock, callSignal, budgets, request, redaction } = setup;
    this.id = targetId(setup.target);
    this.startedAt = clock.now();
    this.lastTokenAt = this.startedAt;
    const forward = () => this.controller.abort(callSignal.reason);
    if (callSignal.aborted) forward();
    else callSignal.addEventListener("abort", forward, { once: true });
    this.unhook = () => callSignal.removeEventListener("abort", forward);
    this.firstToken = startBudgetTimer(clock, this.controller, setup.firstTokenBudgetMs, () =>
      !this.onShare
        ? `no first token within first_token_ms=${budgets.firstTokenMs}`
        : `no first token within this attempt's ${setup.firstTokenBudgetMs} ms share of the call's deadline`,
    );
    this.filter = createOutputFilter(redaction?.vault, { incremental: setup.incremental });
    const sent = redaction
      ? { ...request, messages: redaction.messages, params: { ...request.params, stop: redaction.stop } }
      : request;
    const call = providerCall(sent, setup.admission, setup.target.model, this.controller.signal, setup.tools);
    this.parts = setup.adapter
      .stream(
        setup.assistantPrefix === undefined ? call : { ...call, assistantPrefix: setup.assistantPrefix },
      )
      [Symbol.asyncIterator]();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The next step. Never throws: a failure is a step, classified once (attemptFailure). */
  async next(): Promise<AttemptStep> {
    const { clock, budgets } = this.setup;
    if (this.started) {
      // The gap budget measures the provider: it counts from when the next part is asked for.
      if (this.gap) this.gap.restart();
      else
        this.gap = startBudgetTimer(
          clock,
          this.controller,
          budgets.maxTokenGapMs,
          () => `no token within max_token_gap_ms=${budgets.maxTokenGapMs}`,
        );
    }
    try {
      for (;;) {
        const result = await this.parts.next();
        if (result.done) return this.fail(protocolEnd());
        const part = result.value;
        if (part.type === "usage") {
          this.reported = part.usage;
          continue;
        }
        if (part.type === "response-end") {
          this.reported = part.usage ?? this.reported;
          // The answer is whole: nothing after the end marker may turn it into a failure.
          this.close();
          return { type: "end", finishReason: part.finishReason };
        }
        const at = clock.now();
        this.gap?.cancel();
        // Counted before anything is returned: a caller that leaves now has still been sent (and
        // billed for) this part.
        this.receivedCharacters +=
          part.type === "text-delta" ? part.delta.length : part.argumentsDelta.length;
        if (part.type === "text-delta") this.rawText += part.delta;
        if (!this.started) {
          this.started = true;
          this.firstTokenMs = at - this.startedAt;
          this.firstToken.cancel();
        } else this.largestGapMs = Math.max(this.largestGapMs, at - this.lastTokenAt);
        this.lastTokenAt = at;
        const shown = filtered(part, this.filter);
        if (shown) this.answer.add(shown);
        return { type: "part", shown };
      }
    } catch (error) {
      return this.fail(
        attemptFailure(error, this.controller.signal, this.setup.callerSignal, this.setup.logger),
      );
    }
  }

  /** Aborts the upstream request (its reason becomes the attempt's failure) and closes the stream. */
  stop(reason: ProviderError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.close();
  }

  /** What the filter still holds at the answer's end, as parts. */
  flush(): AnswerPart[] {
    const rest = this.filter.end();
    const parts: AnswerPart[] = [];
    if (rest.text !== "") parts.push({ type: "text-delta", delta: rest.text });
    for (const [index, argumentsDelta] of rest.toolArguments)
      if (argumentsDelta !== "") parts.push({ type: "tool-call-delta", index, argumentsDelta });
    return parts;
  }

  consumption(attempt: number): Consumption {
    return {
      attempt,
      target: this.setup.target,
      receivedCharacters: this.receivedCharacters,
      ...(this.reported && { reported: this.reported }),
    };
  }

  /** Whether its first-token or gap budget is what ended it. */
  get timedOut(): "first_token" | "token_gap" | undefined {
    if (this.firstToken.fired) return "first_token";
    if (this.gap?.fired) return "token_gap";
    return undefined;
  }

  /** Whether its first-token budget is a share of the call's deadline, not the route's first_token_ms. */
  get onShare(): boolean {
    return this.setup.firstTokenBudgetMs !== this.setup.budgets.firstTokenMs;
  }

  /**
   * Whether the call's time, not the target, ended it: its share of the call's deadline ran out,
   * or the call's own total did. A timeout by the route's first_token_ms or max_token_gap_ms, or
   * one the provider reported (a 408, headers that never came), is the target's.
   */
  get endedByCallTime(): boolean {
    const timedOut = this.timedOut;
    if (timedOut !== undefined) return timedOut === "first_token" && this.onShare;
    return this.setup.callSignal.aborted;
  }

  private fail(failure: ProviderError): AttemptStep {
    this.close();
    return { type: "failed", failure };
  }

  private close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimers();
    void this.parts.return?.().catch(() => {});
  }

  private stopTimers(): void {
    this.firstToken.cancel();
    this.gap?.cancel();
    this.unhook();
  }
}

function protocolEnd(): ProviderError {
  return new ProviderError("protocol", "the provider's stream ended without its end marker");
}

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
