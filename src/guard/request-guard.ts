import type { Classification, IdentifiedRequest, RoutingPlan, Safeguards } from "../core/call.js";
import { PolicyDeniedError } from "../core/errors.js";
import { detectRuleFor, type Policy } from "../core/policy.js";
import type { FindingSummary, WithheldTool } from "../core/types.js";
import { trippedRules } from "./content-rules.js";
import { type RedactTarget, redact } from "./redact.js";

/** An escalation: a rule tripped or a detection blocked. Names and kinds only, never text. */
export interface EscalationEvent {
  rule: string;
  kinds: string[];
  action: "block" | "escalate" | "mask";
}

export interface RequestGuardInput {
  request: IdentifiedRequest;
  classification: Classification;
  plan: RoutingPlan;
  policy: Policy;
  /** Classify and explain: a refusal is recorded in the decision, not thrown, and nothing escalates. */
  dryRun: boolean;
  escalate(event: EscalationEvent): void;
}

/**
 * The request as a whole against the policy's governance rules, once the route is known:
 * refuses a request carrying a kind its `detect:` rules block, or tripping a blocking content
 * rule (PolicyDeniedError → PERMISSION_DENIED, naming the rule and kinds, never the text);
 * escalates what the rules say to; withholds writing tools the request did not approve; and
 * prepares the redacted request that hosted attempts are sent instead. Each action taken is
 * written into the decision.
 */
export function guardRequest(input: RequestGuardInput): Safeguards {
  const { request, classification, plan, policy } = input;
  const decision = plan.decision;

  const blocked = blockedFindings(classification.findings, policy);
  const tripped = trippedRules(policy.contentRules, request);
  for (const rule of tripped.filter((rule) => rule.action === "escalate")) {
    decision.escalations.push(`content_rules.${rule.name}`);
    if (!input.dryRun) input.escalate({ rule: `content_rules.${rule.name}`, kinds: [], action: "escalate" });
  }
  const blockingRule = tripped.find((rule) => rule.action === "block");
  if (blocked.length > 0 || blockingRule) {
    const { rule, refusal, kinds } = blockingRule
      ? {
          rule: `content_rules.${blockingRule.name}`,
          refusal: `refused by content rule "${blockingRule.name}"`,
          kinds: [],
        }
      : {
          rule: [...new Set(blocked.map((finding) => finding.rule))].join(", "),
          refusal: `refused: the request carries ${blocked.map((finding) => `${finding.kind} (${finding.count})`).join(", ")}, which ${[...new Set(blocked.map((finding) => finding.rule))].join(" and ")} blocks`,
          kinds: blocked.map((finding) => finding.kind),
        };
    decision.refusal = refusal;
    decision.escalations.push(rule);
    if (!input.dryRun) {
      input.escalate({ rule, kinds, action: "block" });
      throw new PolicyDeniedError(refusal, decision, rule);
    }
  }

  const targets: RedactTarget[] = classification.entities.flatMap((entity) => {
    const rule = detectRuleFor(policy.detection, entity.kind, entity.group);
    return rule.action === "redact" ? [{ entity, form: rule.form }] : [];
  });
  const redaction = redact(
    { messages: request.messages, tools: request.tools, stop: request.params.stop },
    targets,
    policy.logging.hashKey,
  );
  const withheld = withheldTools(request, policy);
  decision.withheldTools.push(...withheld.values());
  const offered = <T>(tools: readonly T[]) => tools.filter((_, index) => !withheld.has(index));
  return {
    tools: offered(request.tools),
    // Hosted attempts get the same tools, redacted (a name may be, too: they are kept by position).
    ...(redaction && { redaction: { ...redaction, tools: offered(redaction.tools) } }),
  };
}

/** The findings whose kind `policy`'s detect rules block (the request is refused when any is). */
export function blockedFindings<T extends Pick<FindingSummary, "kind" | "group">>(
  findings: readonly T[],
  policy: Policy,
): T[] {
  return findings.filter(
    (finding) => detectRuleFor(policy.detection, finding.kind, finding.group).action === "block",
  );
}

/** The request's writing tools (per the policy's `tools:`) it did not approve, by position. */
function withheldTools(request: IdentifiedRequest, policy: Policy): Map<number, WithheldTool> {
  const approved = new Set(request.approvedTools);
  const withheld = new Map<number, WithheldTool>();
  request.tools.forEach((tool, index) => {
    if (policy.tools.get(tool.name)?.writes && !approved.has(tool.name))
      withheld.set(index, {
        name: tool.name,
        reason: `writes (tools.${tool.name}.writes: true) and the request does not approve it`,
      });
  });
  return withheld;
}
