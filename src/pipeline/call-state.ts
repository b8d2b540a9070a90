import type { Logger } from "pino";
import type { QuotaHold } from "../admit/quota.js";
import type { PolicyLease } from "../config/policy-store.js";
import type {
  Admission,
  Classification,
  Consumption,
  Execution,
  IdentifiedRequest,
  RoutingPlan,
  Safeguards,
  Settlement,
} from "../core/call.js";
import type { Clock } from "../core/clock.js";
import type { CallContext, LlmRequest, StreamEvent } from "../core/types.js";
import type { StateStore } from "../state/store.js";
import type { LoggableText } from "../telemetry/logging-policy.js";

/** The steps of one call, in the order the conductor runs them. */
export type StepName =
  | "identify"
  | "classify"
  | "decide"
  | "guard"
  | "admit"
  | "execute"
  | "settle"
  | "record";

/** What one call carries through its steps: everything is per call, nothing is shared. */
export interface CallScope {
  /** Trace id, call id and the caller's signal (cancellation, deadline, stalled reader). */
  readonly call: CallContext;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The policy the call started under, the one in force now, and the adapters. */
  readonly lease: PolicyLease;
  /** Shared counters (budgets, limits) for steps that reserve or settle against them. */
  readonly store: StateStore;
  /** Told before and after each step (telemetry: a span per step). */
  readonly observer: StepObserver;
  /** Classify and explain: steps with effects do not run. */
  readonly dryRun: boolean;
  /** Stream: events go to the caller as they happen. Route: the answer is assembled. */
  readonly deliver: boolean;
}

/** The outputs of the steps so far, filled in order (see src/core/call.ts). */
export interface CallState {
  readonly request: LlmRequest;
  identified?: IdentifiedRequest;
  classification?: Classification;
  plan?: RoutingPlan;
  safeguards?: Safeguards;
  admission?: Admission;
  /** Written by execute as each attempt ends, for settle to price. */
  readonly consumed: Consumption[];
  execution?: Execution;
  settlement?: Settlement;
  /** What a step threw; the steps marked `always` still run and see it. */
  failure?: unknown;
  /** True when the caller stopped taking the stream before it ended. */
  abandoned: boolean;
  /** The tenant's counters this call holds (admit reserved them; settle settles them). */
  quota?: QuotaHold[];
  /** How the call ended, as the record step wrote it into the decision log. */
  outcome?: string;
  /**
   * The call's text as the logging policy lets it be stored (telemetry/logging-policy.ts), built
   * once on first use: set by the record step for its log line and the call's span.
   */
  loggableText?: () => LoggableText;
}

/**
 * One step of the pipeline. `run` may return nothing, a promise, or (to send events to the
 * caller while it runs) an async iterable of stream events.
 */
export interface Step {
  readonly name: StepName;
  /** Reserves, calls out or records: skipped in a dry run. */
  readonly effects: boolean;
  /** Runs even after an earlier step failed or the caller left (accounting: settle, record). */
  readonly always?: boolean;
  run(state: CallState, scope: CallScope): void | Promise<void> | AsyncIterable<StreamEvent>;
}

/**
 * Hooks around every step; telemetry hangs spans and timings on them. They read the call state
 * (never change it) and must not throw.
 */
export interface StepObserver {
  stepStarted(step: StepName, scope: CallScope): void;
  stepEnded(
    step: StepName,
    scope: CallScope,
    outcome: { durationMs: number; error?: unknown },
    state: Readonly<CallState>,
  ): void;
}

/** An earlier step's output, which the order of the step list guarantees. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`pipeline step order: ${what} is not there yet`);
  return value;
}
