import type { Classification, IdentifiedRequest } from "../core/call.js";
import { detectRuleFor, type Policy } from "../core/policy.js";
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
  const findings = summarize(entities, policy);

  const declared = request.dataClass;
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

  const inferred = !request.task && policy.defaults.inferTask;
  return {
    task: request.task || (inferred ? inferTask(request.messages) : policy.defaults.task),
    taskInferred: inferred,
    dataClass,
    declaredDataClass: declared,
    dataClassReason,
    entities,
    findings,
  };
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

/** One line per kind found: how many, and what the policy does with them. */
function summarize(entities: readonly Entity[], policy: Policy): FindingSummary[] {
  const byKind = new Map<string, FindingSummary>();
  for (const entity of entities) {
    const summary = byKind.get(entity.kind);
    if (summary) summary.count++;
    else {
      const rule = detectRuleFor(policy.detection, entity.kind, entity.group);
      byKind.set(entity.kind, {
        kind: entity.kind,
        group: entity.group,
        count: 1,
        action: rule.action === "raise" ? `raise to ${rule.to}` : rule.action,
        rule: rule.source,
      });
    }
  }
  return [...byKind.values()];
}

function rank(policy: Policy, dataClass: string): number {
  return policy.dataClasses.get(dataClass)?.rank ?? -1;
}
