import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Policy } from "../core/policy.js";
import { writtenKeys } from "./compile-auth.js";
import { compilePolicy, declaredKinds, type PolicyIssue } from "./compile-policy.js";
import type { Environment } from "./env.js";
import { interpolate, type MissingVariable } from "./interpolate.js";
import { formatPath, type PathIssue, readYaml } from "./read-yaml.js";
import { validatePolicy } from "./validate-policy.js";

/** Thrown when a policy cannot be loaded; `issues` lists every problem with its path. */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly source: string,
    readonly issues: PolicyIssue[],
  ) {
    super(`${source}: invalid policy\n${issues.map(formatIssue).join("\n")}`);
  }
}

export function formatIssue(issue: PolicyIssue): string {
  return issue.path ? `  ${issue.path}: ${issue.message}` : `  ${issue.message}`;
}

/** A policy's version: a short hash of the file's text. */
export function policyVersion(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** Reads, parses, validates and compiles a policy file. Throws PolicyError with every issue. */
export async function loadPolicyFile(path: string, env: Environment, now = new Date()): Promise<Policy> {
  return parsePolicy(await readPolicyText(path), { source: path, env, now });
}

/** The file's text; throws PolicyError when it cannot be read. */
export async function readPolicyText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new PolicyError(path, [{ path: "", message: `cannot read file: ${(error as Error).message}` }]);
  }
}

/**
 * Parses policy text (YAML). Throws PolicyError with every issue found, each with its path, in
 * the order they appear in the file: syntax errors alone (nothing else can be read), otherwise
 * the schema's and the cross-references' together.
 */
export function parsePolicy(text: string, options: { source: string; env: Environment; now?: Date }): Policy {
  const tree = readYaml(text);
  if (tree.syntaxErrors.length > 0)
    throw new PolicyError(
      options.source,
      tree.syntaxErrors.map((error) => ({
        path: error.line !== undefined ? `line ${error.line}, column ${error.column}` : "",
        message: error.message,
      })),
    );
  const inFileOrder = (issues: PathIssue[]) => sortAndFormat(issues, tree.positionOf);
  if (tree.value === undefined) throw new PolicyError(options.source, inFileOrder(tree.issues));
  if (!(tree.value instanceof Map))
    throw new PolicyError(options.source, [{ path: "", message: "the policy must be a YAML mapping" }]);

  const missing: MissingVariable[] = [];
  const raw = interpolate(tree.value, options.env, missing) as Record<string, unknown>;
  const validated = validatePolicy(raw, missing);
  const { policy, issues } = compilePolicy({
    document: validated.document,
    missing,
    kinds: declaredKinds(raw),
    writtenKeys: writtenKeys(tree.value),
    version: policyVersion(text),
    source: options.source,
    loadedAt: options.now ?? new Date(),
  });
  const all = [...tree.issues, ...validated.issues, ...issues];
  if (!policy || all.length > 0) throw new PolicyError(options.source, inFileOrder(all));
  return policy;
}

/** In the order of the file (stable, so issues at one place keep the order they were found in), once each. */
function sortAndFormat(
  issues: PathIssue[],
  positionOf: (path: readonly (string | number)[]) => number,
): PolicyIssue[] {
  const placed = issues.map((issue) => ({ at: positionOf(issue.path), issue }));
  placed.sort((a, b) => a.at - b.at);
  const seen = new Set<string>();
  const out: PolicyIssue[] = [];
  for (const { issue } of placed) {
    const formatted = { path: formatPath(issue.path), message: issue.message };
    const key = `${formatted.path}\n${formatted.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(formatted);
  }
  return out;
}
