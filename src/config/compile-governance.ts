import { RE2JS } from "re2js";
import { DETECTORS } from "../classify/detectors/detectors.js";
import type {
  ContentRule,
  DataClass,
  DetectionPolicy,
  DetectRule,
  EscalationPolicy,
  LoggingPolicy,
  ToolPolicy,
} from "../core/policy.js";
import type { PathIssue } from "./read-yaml.js";
import type { CheckedDocument } from "./validate-policy.js";

/** The governance blocks of a policy, compiled: `detect`, `content_rules`, `escalation`, `tools`, `logging`. */
export interface Governance {
  detection: DetectionPolicy;
  contentRules: ContentRule[];
  escalation: EscalationPolicy;
  tools: Map<string, ToolPolicy>;
  logging: LoggingPolicy;
}

const GROUP_OF = new Map(DETECTORS.map((detector) => [detector.kind, detector.group]));

/**
 * Compiles the governance blocks that parsed, enforcing what their schemas cannot: a class to
 * raise to must be declared; secrets may only be blocked, redacted, or raised to a class that
 * may not leave the boundary (DESIGN invariant 3: whatever the file says, a secret never reaches
 * a hosted provider in clear text); patterns must compile (RE2 syntax, linear time); hashing
 * needs a key. Returns undefined for a block that did not parse (already reported).
 */
export function compileGovernance(
  document: CheckedDocument,
  dataClasses: ReadonlyMap<string, DataClass>,
  classesKnown: boolean,
  issues: PathIssue[],
): Governance | undefined {
  const rules = new Map<string, DetectRule>();
  for (const [key, rule] of document.detect?.valid ?? []) {
    const path = ["detect", key];
    const source = `detect.${key}`;
    const secret = key === "secret" || GROUP_OF.get(key) === "secret";
    switch (rule.action) {
      case "raise": {
        const target = dataClasses.get(rule.to);
        if (!target) {
          if (classesKnown)
            issues.push({
              path: [...path, "to"],
              message: `unknown data class "${rule.to}" (declared: ${[...dataClasses.keys()].join(", ")})`,
            });
          continue;
        }
        if (secret && target.mayLeave)
          issues.push({
            path: [...path, "to"],
            message: `a secret may only be raised to a class that may not leave the boundary; "${rule.to}" may`,
          });
        rules.set(key, { action: "raise", to: rule.to, source });
        break;
      }
      case "redact":
        if (secret && rule.form === "mask")
          issues.push({
            path: [...path, "form"],
            message:
              "a secret is redacted with a placeholder or a hash, not a mask (a mask keeps part of it)",
          });
        rules.set(key, { action: "redact", form: rule.form, source });
        break;
      case "allow":
        if (secret)
          issues.push({
            path: [...path, "action"],
            message: "a secret may not be allowed out: block, redact, or raise to a class that may not leave",
          });
        rules.set(key, { action: "allow", source });
        break;
      case "block":
        rules.set(key, { action: "block", source });
        break;
      default:
        return rule satisfies never;
    }
  }

  const contentRules: ContentRule[] = document.contentRules.map(({ rule, path }) => ({
    name: rule.name,
    phrases: rule.phrases.map((phrase) => phrase.toLowerCase().replace(/\s+/g, " ")),
    patterns: rule.patterns.flatMap((source, index) => {
      try {
        const compiled = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
        return [{ source, test: (text: string) => compiled.test(text) }];
      } catch (error) {
        issues.push({
          path: [...path, "patterns", index],
          message: `not a valid RE2 pattern (${error instanceof Error ? error.message : String(error)})`,
        });
        return [];
      }
    }),
    action: rule.action,
  }));
  const seen = new Set<string>();
  document.contentRules.forEach(({ rule, path }) => {
    if (seen.has(rule.name))
      issues.push({ path: [...path, "name"], message: `duplicate rule name "${rule.name}"` });
    seen.add(rule.name);
  });

  const tools = new Map<string, ToolPolicy>(
    [...(document.tools?.valid ?? [])].map(([toolName, tool]) => [
      toolName,
      { name: toolName, writes: tool.writes },
    ]),
  );

  const { logging, escalation } = document;
  // Checked whether or not the other blocks parsed: every issue is reported in one run.
  const hashing =
    logging?.store_prompts === "hashed" ||
    [...rules.values()].some((rule) => rule.action === "redact" && rule.form === "hash");
  if (hashing && logging && logging.hash_key === undefined)
    issues.push({
      path: ["logging", "hash_key"],
      message:
        'required when store_prompts is "hashed" or a detect rule redacts with form: hash (set it from an environment variable such as LOG_HASH_KEY)',
    });
  if (!logging || !escalation) return undefined;
  const sink = logging.eval_sink;
  return {
    detection: { rules },
    contentRules,
    escalation: {
      timeoutMs: escalation.timeout_ms,
      ...(escalation.webhook !== undefined && { webhookUrl: escalation.webhook }),
    },
    tools,
    logging: {
      storePrompts: logging.store_prompts,
      storeOutputs: logging.store_outputs,
      storeToolArgs: logging.store_tool_args,
      ...(logging.hash_key !== undefined && { hashKey: logging.hash_key }),
      evalSink: typeof sink === "string" ? { kind: sink } : { kind: "file", path: sink.file },
    },
  };
}
