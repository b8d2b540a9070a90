import type { PolicyIssue } from "../config/compile-policy.js";
import type { Environment } from "../config/env.js";
import { PolicyError, parsePolicy } from "../config/load-policy.js";
import type { Policy } from "../core/policy.js";
import type { RecordedDecision } from "../record/decision-log.js";
import { createReplay, type ReplayedCall, type ReplayReport, type ReplayRule } from "./replay.js";

/** The largest candidate policy a server replays, in bytes of UTF-8: ten times a large real one. */
export const MAX_CANDIDATE_BYTES = 1024 * 1024;

/** Calls replayed between two turns of the event loop. */
const CALLS_PER_TURN = 200;

/**
 * A candidate policy sent to a server (ReplayPolicy), loaded as `switchyard check` loads a file:
 * the loaded policy and its warnings, or every issue with its path.
 *
 * Its `${VAR}` references read `env`, the server's environment, so the candidate behaves as it
 * would if deployed there (a provider whose key the server lacks is left out, with a warning).
 * The loader's messages never quote a file's values, but a variable's value could still reach
 * one through a field that echoes what it rejects; every value the candidate references is
 * replaced by its `${NAME}` in what is returned, so none goes back to the caller.
 */
export function loadCandidate(
  text: string,
  source: string,
  env: Environment,
): { policy: Policy; warnings: string[] } | { issues: PolicyIssue[] } {
  const redact = redactor(text, env);
  try {
    const policy = parsePolicy(text, { source, env });
    return { policy, warnings: policy.warnings.map(redact) };
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return { issues: error.issues.map((issue) => ({ path: issue.path, message: redact(issue.message) })) };
  }
}

/** Replaces the value of every variable `text` references (`${NAME}`) by that reference. */
function redactor(text: string, env: Environment): (message: string) => string {
  const names = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] ?? ""));
  const values = [...names]
    .flatMap((name) => {
      const value = env[name];
      return value === undefined || value === "" ? [] : [[value, `\${${name}}`] as const];
    })
    // Longest first: a value containing another is replaced whole.
    .sort(([a], [b]) => b.length - a.length);
  return (message) => values.reduce((out, [value, reference]) => out.split(value).join(reference), message);
}

/**
 * replayAll over `records` for a server: the calls are decided again CALLS_PER_TURN at a time,
 * yielding to the event loop between batches, so thousands of them do not stall the calls being
 * served. Returns the report and the calls that changed, in the order of `records`. Rejects with
 * `signal`'s reason once it aborts (the caller went away), replaying nothing more.
 */
export async function replayRecorded(
  records: readonly RecordedDecision[],
  policy: Policy,
  rules: readonly ReplayRule[],
  signal: AbortSignal,
): Promise<{ report: ReplayReport; changed: ReplayedCall[] }> {
  const replay = createReplay(policy, rules);
  const changed: ReplayedCall[] = [];
  for (let start = 0; start < records.length; start += CALLS_PER_TURN) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    signal.throwIfAborted();
    for (const recorded of records.slice(start, start + CALLS_PER_TURN)) {
      const call = replay.add(recorded);
      if (call && call.changes.length > 0) changed.push(call);
    }
  }
  return { report: replay.report(), changed };
}
