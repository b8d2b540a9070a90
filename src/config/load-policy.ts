import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Policy } from "../core/policy.js";
import {
  compilePolicy,
  declaredKinds,
  formatPath,
  type PolicyIssue,
  unsetVariableIssues,
} from "./compile-policy.js";
import type { Environment } from "./env.js";
import { interpolate, type MissingVariable } from "./interpolate.js";
import { readYaml } from "./read-yaml.js";
import { policySchema } from "./schema.js";

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

/** Reads, parses, validates and compiles a policy file. Throws PolicyError with every issue. */
export async function loadPolicyFile(path: string, env: Environment, now = new Date()): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new PolicyError(path, [{ path: "", message: `cannot read file: ${(error as Error).message}` }]);
  }
  return parsePolicy(text, { source: path, env, now });
}

/** Parses policy text (YAML). Throws PolicyError with every issue found, each with its path. */
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
  const keyIssues = tree.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
  if (tree.value === undefined) throw new PolicyError(options.source, keyIssues);
  if (!(tree.value instanceof Map))
    throw new PolicyError(options.source, [{ path: "", message: "the policy must be a YAML mapping" }]);

  const missing: MissingVariable[] = [];
  const raw = interpolate(tree.value, options.env, missing);
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success)
    throw new PolicyError(options.source, [
      ...keyIssues,
      ...parsed.error.issues.flatMap((issue) => {
        if (issue.code === "unrecognized_keys")
          return issue.keys.map((key) => ({
            path: formatPath([...issue.path, key]),
            message: "unknown key",
          }));
        // A record key that is not a name: say why, not zod's generic "Invalid key in record".
        if (issue.code === "invalid_key")
          return [{ path: formatPath(issue.path), message: issue.issues[0]?.message ?? issue.message }];
        return [{ path: formatPath(issue.path), message: issue.message }];
      }),
      ...unsetVariableIssues(missing, declaredKinds(raw)),
    ]);

  const { policy, issues } = compilePolicy({
    document: parsed.data,
    missing,
    version: createHash("sha256").update(text).digest("hex").slice(0, 12),
    source: options.source,
    loadedAt: options.now ?? new Date(),
  });
  if (!policy || keyIssues.length > 0) throw new PolicyError(options.source, [...keyIssues, ...issues]);
  return policy;
}
