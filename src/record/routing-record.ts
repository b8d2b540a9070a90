import { createHash } from "node:crypto";
import { inferTask } from "../classify/infer-task.js";
import type { IdentifiedRequest, RoutingPlan } from "../core/call.js";
import type { PicoUsd } from "../core/money.js";
import type { Policy } from "../core/policy.js";
import { estimateInputTokens } from "../core/token-estimate.js";
import { type Candidate, type TargetId, type TargetRef, targetId, type Usage } from "../core/types.js";
import { hasImageByUrl } from "../decide/decide.js";
import { costOf } from "../settle/settle.js";

/**
 * What replay (src/replay/replay.ts) needs, besides the decision, to run `decide` again for a
 * recorded call under another policy: the inputs decide and the text-free part of classify read
 * that the decision does not already hold (the decision holds the tenant, the declared data
 * class, the task and the kinds detected), and the baseline a replay compares with. Never text:
 * the labels a caller chose are kept as digests, everything else is a policy identifier, a
 * count or a flag (DESIGN invariant 10).
 */
export interface RoutingRecord {
  /** Format of this record: a reader that does not know it reports the call as not replayable. */
  version: typeof ROUTING_RECORD_VERSION;
  /** Whether the caller declared the task (the decision's task is then that one). */
  taskDeclared: boolean;
  /** What task inference reads the prompt as (`code`, `chat`…), whether or not the policy inferred; "" when declared. */
  inferredTask: string;
  /** The model the caller named: `auto`, a route or a model of the policy's; "" for none. */
  model: string;
  /** The request's labels, each key and value as its `labelDigest`. */
  labels: [string, string][];
  /** Whether the request has an image by URL (not inline), which some targets cannot take. */
  imagesByUrl: boolean;
  /** The answer's input tokens as reported (or estimated by settle); without an answer, estimated from the request. */
  inputTokens: number;
  /** The answer's output tokens; 0 when no answer came. */
  outputTokens: number;
  /** The baseline: what the policy then in force made of the call. */
  baseline: {
    /** Targets eligible on a provider marked `hosted: true` (the degrade target included). */
    hostedEligible: TargetId[];
    /** `estimatedCost` of the chosen target (`chosenTarget`) at that policy's prices, in picodollars. */
    estimatedCostPicoUsd: PicoUsd;
  };
}

export const ROUTING_RECORD_VERSION = 1;

/**
 * A label key or value as kept in a RoutingRecord: the first 128 bits of its SHA-256, in hex.
 * Replay digests a policy's label values the same way and matches on equality; the ledger never
 * holds what a caller wrote.
 */
export function labelDigest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/**
 * The target a decision sends the call to first: the first eligible one in the route's order,
 * not counting the degrade target (tried only after an eligible one failed); undefined when none
 * is eligible (the call fails with NoEligibleTargetError). A pool orders its members per call as
 * it runs (by weight, load or latency), so for a pool this is its first eligible member as listed.
 */
export function chosenTarget(candidates: readonly Candidate[]): TargetId | undefined {
  return candidates.find((candidate) => candidate.eligible && candidate.role !== "degrade")?.target;
}

/**
 * What `tokens` would cost on `target` at `policy`'s prices (settle's `costOf`), in
 * picodollars; 0 for no target or an unpriced model. An estimate: another model counts the same
 * text in other tokens, and answers at another length.
 */
export function estimatedCost(
  policy: Policy,
  target: TargetId | undefined,
  tokens: Pick<Usage, "inputTokens" | "outputTokens">,
): PicoUsd {
  if (target === undefined) return 0;
  const slash = target.indexOf("/");
  const ref: TargetRef = { provider: target.slice(0, slash), model: target.slice(slash + 1) };
  return costOf(ref, { inputTokens: tokens.inputTokens, outputTokens: tokens.outputTokens }, policy);
}

/**
 * The routing record of a call that reached a routing plan, built by the record step.
 * `answer`: the answering attempt's usage, when an attempt answered.
 */
export function routingRecordOf(
  request: IdentifiedRequest,
  plan: RoutingPlan,
  policy: Policy,
  answer: Usage | undefined,
): RoutingRecord {
  const { decision } = plan;
  const taskDeclared = request.task !== "";
  const inputTokens = answer?.inputTokens ?? estimateInputTokens(request.messages, request.tools);
  const outputTokens = answer?.outputTokens ?? 0;
  const eligible = plan.degradeTo ? [...plan.eligible, plan.degradeTo] : plan.eligible;
  return {
    version: ROUTING_RECORD_VERSION,
    taskDeclared,
    inferredTask: taskDeclared ? "" : decision.taskInferred ? decision.task : inferTask(request.messages),
    model: request.model ?? "",
    labels: Object.entries(request.labels).map(([key, value]) => [labelDigest(key), labelDigest(value)]),
    imagesByUrl: hasImageByUrl(request.messages),
    inputTokens,
    outputTokens,
    baseline: {
      hostedEligible: eligible
        .filter((target) => policy.providers.get(target.provider)?.hosted)
        .map((target) => targetId(target)),
      estimatedCostPicoUsd: estimatedCost(policy, chosenTarget(decision.candidates), {
        inputTokens,
        outputTokens,
      }),
    },
  };
}
