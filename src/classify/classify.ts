import type { Classification, IdentifiedRequest } from "../core/call.js";
import { detectActionText, detectRuleFor, type Policy } from "../core/policy.js";
import { type Entity, type FindingSummary, IMAGE_KIND } from "../core/types.js";
import { inferTask } from "./infer-task.js";
import { scanText } from "./scan.js";
import { sentTexts } from "./sent-text.js";

/**
 * Says what the request is: its task (declared, else inferred from the prompt when the policy
 * lets it, else the policy's default), what sensitive values it carries (every message's content
 * and every tool call's arguments), and its effective data class. Detection may only raise the
 * class the caller declared (or the default), never lower it (DESIGN invariant 2): each `raise`
 * rule that fired names a class, and the most sensitive of those and the declared one wins.
 */
export function classify(request: IdentifiedRequest, policy: Policy): Classification {
  const entities = findEntities(request);
  const findings = judgeFindings(countByKind(entities), policy);
  return {
    ...chooseTask(request.task, policy, () => inferTask(request.messages)),
    ...effectiveDataClass(request.dataClass, findings, policy),
    declaredDataClass: request.dataClass,
    entities,
    findings,
  };
}

/**
 * The task routes are matched on: the declared one, else (when the policy infers) what `infer`
 * reads the prompt as, else the policy's default. Replay passes the inference recorded with the
 * call, since it has no text to read.
 */
export function chooseTask(
  declared: string,
  policy: Policy,
  infer: () => string,
): Pick<Classification, "task" | "taskInferred"> {
  const inferred = !declared && policy.defaults.inferTask;
  return { task: declared || (inferred ? infer() : policy.defaults.task), taskInferred: inferred };
}

/**
 * The effective data class of a request that declared `declared` ("" for none) and carries
 * `findings`, judged by `policy`: each `raise` rule that fired names a class, and the most
 * sensitive of those and the declared one (or the default) wins. Never lower than declared.
 */
export function effectiveDataClass(
  declared: string,
  findings: readonly Pick<FindingSummary, "kind" | "group">[],
  policy: Policy,
): Pick<Classification, "dataClass" | "dataClassReason"> {
  const base = declared || policy.defaults.dataClass;
  let dataClass = base;
  let dataClassReason = declared ? "declared by the caller" : "the policy's default (none declared)";
  for (const finding of findings) {
    const rule = detectRuleFor(policy.detection, finding.kind, finding.group);
    if (rule.action !== "raise") continue;
    if (rank(policy, rule.to) > rank(policy, dataClass)) {
      dataClass = rule.to;
      dataClassReason = `raised from ${base} to ${rule.to} by ${rule.source}: ${finding.kind} found`;
    }
  }
  return { dataClass, dataClassReason };
}

/** Every finding in what the request would send a provider (see sent-text.ts), in order. */
export function findEntities(request: Pick<IdentifiedRequest, "messages" | "tools" | "params">): Entity[] {
  const inText = sentTexts(request).flatMap(({ text, message, field }) =>
    scanText(text).map((finding) => ({ ...finding, message, field })),
  );
  return [...inText, ...imageEntities(request.messages)];
}

/**
 * Each image as an `image` finding in the personal-data group: detection cannot read an image
 * (a photographed ID card, a screenshot of a customer record), so the policy decides what images
 * may do as for any personal data (`detect.image` or `detect.pii`: raise, block, redact, allow).
 */
function imageEntities(messages: IdentifiedRequest["messages"]): Entity[] {
  return messages.flatMap((message, index) =>
    (message.images ?? []).map((_, imageIndex) => ({
      kind: IMAGE_KIND,
      group: "pii" as const,
      message: index,
      field: `images[${imageIndex}]`,
      start: 0,
      end: 0,
      score: 1,
    })),
  );
}

/** What was found, one entry per kind in order of first appearance, with how many. */
function countByKind(entities: readonly Entity[]): Pick<FindingSummary, "kind" | "group" | "count">[] {
  const byKind = new Map<string, Pick<FindingSummary, "kind" | "group" | "count">>();
  for (const entity of entities) {
    const counted = byKind.get(entity.kind);
    if (counted) counted.count++;
    else byKind.set(entity.kind, { kind: entity.kind, group: entity.group, count: 1 });
  }
  return [...byKind.values()];
}

/**
 * One line per kind found, with what `policy`'s detect rules do with it. Replay judges the kinds
 * a recorded call carried by a new policy through this same function.
 */
export function judgeFindings(
  found: readonly Pick<FindingSummary, "kind" | "group" | "count">[],
  policy: Policy,
): FindingSummary[] {
  return found.map(({ kind, group, count }) => {
    const rule = detectRuleFor(policy.detection, kind, group);
    return {
      kind,
      group,
      count,
      action: detectActionText(rule),
      rule: rule.source,
    };
  });
}

function rank(policy: Policy, dataClass: string): number {
  return policy.dataClasses.get(dataClass)?.rank ?? -1;
}
