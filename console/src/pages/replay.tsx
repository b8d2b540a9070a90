import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useRef, useState } from "preact/hooks";
import type { ReplayedCall, ReplayPolicyResponse } from "../../../gen/switchyard/v1/admin_pb.js";
import { admin, type Problem, problemOf } from "../api.js";
import { usd, when } from "../format.js";
import { decisionHref } from "../route.js";

/** The server refuses a bigger candidate (ReplayPolicy); the page says so before sending it. */
const MAX_POLICY_BYTES = 1024 * 1024;

const CHANGE_LABELS: Record<string, string> = {
  route: "route",
  eligible: "eligible",
  target: "target",
  "data-class": "data class",
  cost: "est. cost",
  refusal: "refusal",
};

interface Form {
  policy: string;
  fileName: string;
  since: string;
  until: string;
  tenant: string;
  route: string;
  limit: string;
  failOn: string;
}

type Run =
  | { kind: "idle" }
  | { kind: "running" }
  | { kind: "failed"; problem: Problem }
  | { kind: "done"; response: ReplayPolicyResponse };

/**
 * Replay: a candidate policy (a file, or pasted) tried on the recorded calls of a time range
 * (ReplayPolicy, which `switchyard replay` does from a ledger file): what would change, call by
 * call, and which of the operator's rules the changes break. Nothing is sent to any provider and
 * the policy in force is untouched.
 */
export function ReplayPage({ onSignIn }: { onSignIn: (p: Problem) => void }) {
  const [form, setForm] = useState<Form>({
    policy: "",
    fileName: "",
    since: "",
    until: "",
    tenant: "",
    route: "",
    limit: "",
    failOn: "",
  });
  const [run, setRun] = useState<Run>({ kind: "idle" });
  const [hint, setHint] = useState<string | undefined>(undefined);
  const running = useRef<AbortController | undefined>(undefined);
  const set = (changes: Partial<Form>) => {
    setForm({ ...form, ...changes });
    setHint(undefined);
  };

  const submit = (event: Event) => {
    event.preventDefault();
    if (form.policy.trim() === "") return setHint("Choose a policy file or paste one first.");
    if (new TextEncoder().encode(form.policy).length > MAX_POLICY_BYTES)
      return setHint("The candidate policy is over 1 MiB: the server replays smaller ones only.");
    running.current?.abort();
    const abort = new AbortController();
    running.current = abort;
    setRun({ kind: "running" });
    admin
      .replayPolicy(
        {
          policyYaml: form.policy,
          tenant: form.tenant.trim(),
          route: form.route.trim(),
          limit: form.limit === "" ? 0 : Number(form.limit),
          failOn: form.failOn.split(/[\s,]+/).filter((rule) => rule !== ""),
          ...(form.since && { since: timestampFromDate(new Date(form.since)) }),
          ...(form.until && { until: timestampFromDate(new Date(form.until)) }),
        },
        // Thousands of calls are replayed in batches on the server: allow it more than a read.
        { signal: abort.signal, timeoutMs: 60_000 },
      )
      .then(
        (response) => {
          if (!abort.signal.aborted) setRun({ kind: "done", response });
        },
        (error: unknown) => {
          if (abort.signal.aborted) return;
          const problem = problemOf(error);
          if (problem.signIn) onSignIn(problem);
          setRun({ kind: "failed", problem });
        },
      );
  };

  return (
    <section aria-labelledby="replay-title">
      <div class="heading">
        <h1 id="replay-title">Replay</h1>
      </div>
      <p class="muted">
        Try a candidate policy on the calls already recorded: each is decided again under it (nothing is sent
        to any provider, the policy in force is untouched) and the calls whose decision would change are
        listed.
      </p>
      <form class="replay-form" aria-label="Replay a candidate policy" onSubmit={submit}>
        <div class="replay-policy">
          <label for="replay-file">
            Candidate policy file
            <input
              id="replay-file"
              type="file"
              accept=".yaml,.yml,text/yaml,application/yaml,text/plain"
              onChange={(event) => {
                const file = event.currentTarget.files?.[0];
                if (!file) return;
                if (file.size > MAX_POLICY_BYTES) {
                  setHint(`${file.name} is over 1 MiB: the server replays smaller policies only.`);
                  return;
                }
                file.text().then(
                  (text) => set({ policy: text, fileName: file.name }),
                  () => setHint(`${file.name} could not be read.`),
                );
              }}
            />
          </label>
          <label for="replay-text">
            or paste it (YAML){form.fileName && <span class="muted small"> — from {form.fileName}</span>}
            <textarea
              id="replay-text"
              name="policy"
              rows={10}
              spellcheck={false}
              value={form.policy}
              onInput={(event) => set({ policy: event.currentTarget.value, fileName: "" })}
            />
          </label>
        </div>
        <div class="replay-filters">
          <label for="replay-since">
            Since
            <input
              id="replay-since"
              type="datetime-local"
              value={form.since}
              onInput={(event) => set({ since: event.currentTarget.value })}
            />
          </label>
          <label for="replay-until">
            Until
            <input
              id="replay-until"
              type="datetime-local"
              value={form.until}
              onInput={(event) => set({ until: event.currentTarget.value })}
            />
          </label>
          <label for="replay-tenant">
            Tenant
            <input
              id="replay-tenant"
              value={form.tenant}
              onInput={(event) => set({ tenant: event.currentTarget.value })}
            />
          </label>
          <label for="replay-route">
            Route (as recorded)
            <input
              id="replay-route"
              value={form.route}
              onInput={(event) => set({ route: event.currentTarget.value })}
            />
          </label>
          <label for="replay-limit">
            Most recent calls
            <input
              id="replay-limit"
              type="number"
              min={1}
              max={10000}
              placeholder="1000"
              value={form.limit}
              onInput={(event) => set({ limit: event.currentTarget.value })}
            />
          </label>
          <label for="replay-fail-on">
            Fail on (rules)
            <input
              id="replay-fail-on"
              placeholder="hosted:pii route-change"
              spellcheck={false}
              aria-describedby="replay-rules"
              value={form.failOn}
              onInput={(event) => set({ failOn: event.currentTarget.value })}
            />
          </label>
        </div>
        <p id="replay-rules" class="muted small">
          Rules: <code>hosted:CLASS</code> (a call of that data class gains a hosted target),{" "}
          <code>route-change</code>, <code>target-change</code>, <code>refused</code>,{" "}
          <code>cost-increase:PCT</code>; separated by spaces.
        </p>
        <div class="actions">
          <button type="submit" disabled={run.kind === "running"}>
            {run.kind === "running" ? "Running…" : "Run"}
          </button>
        </div>
        {hint && (
          <p class="problem" role="alert">
            {hint}
          </p>
        )}
      </form>
      {run.kind === "failed" && !run.problem.signIn && (
        <p class="problem" role="alert">
          {run.problem.text}
        </p>
      )}
      {run.kind === "done" && <ReplayResult response={run.response} />}
    </section>
  );
}

function ReplayResult({ response }: { response: ReplayPolicyResponse }) {
  if (!response.valid)
    return (
      <section class="replay-result" aria-labelledby="replay-invalid">
        <h2 id="replay-invalid">The candidate policy is invalid</h2>
        <p class="muted">Nothing was replayed. Fix these and run again:</p>
        <ul class="issues">
          {response.issues.map((issue) => (
            <li key={`${issue.path}\n${issue.message}`}>
              {issue.path && <code>{issue.path}</code>}
              {issue.path && ": "}
              {issue.message}
            </li>
          ))}
        </ul>
      </section>
    );
  const totals = response.totals;
  const replayed = Number(totals?.replayed ?? 0n);
  const notReplayable = Number(totals?.notReplayable ?? 0n);
  const before = totals?.estimatedCostBeforeUsd ?? 0;
  const after = totals?.estimatedCostAfterUsd ?? 0;
  const kinds = Object.entries(totals?.changedByKind ?? {}).filter(([, count]) => count > 0n);
  return (
    <section class="replay-result" aria-labelledby="replay-result-title">
      <h2 id="replay-result-title">
        What would change <span class="muted small">(candidate version {response.version})</span>
      </h2>
      {response.warnings.length > 0 && (
        <ul class="warnings">
          {response.warnings.map((warning) => (
            <li key={warning}>warning: {warning}</li>
          ))}
        </ul>
      )}
      {replayed + notReplayable === 0 ? (
        <div class="empty">
          <p>
            No recorded calls in this range: widen the time range or the filters, or send a Route and run
            again.
          </p>
        </div>
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>Replayed</dt>
              <dd>
                {replayed} {replayed === 1 ? "call" : "calls"}
                {response.truncated && " (the most recent; more matched: narrow the range to see older ones)"}
              </dd>
            </div>
            <div>
              <dt>Changed</dt>
              <dd>
                {String(totals?.changed ?? 0n)}
                {kinds.length > 0 &&
                  ` (${kinds.map(([kind, count]) => `${CHANGE_LABELS[kind] ?? kind} ${count}`).join(", ")})`}
              </dd>
            </div>
            {notReplayable > 0 && (
              <div>
                <dt>Not replayable</dt>
                <dd>{notReplayable} (recorded by a server before routing inputs were kept)</dd>
              </div>
            )}
            <div>
              <dt>Estimated cost</dt>
              <dd>
                {usd(before)} before, {usd(after)} after
                <span class="muted small"> — each call's recorded tokens at its chosen target's prices</span>
              </dd>
            </div>
          </dl>
          {response.violations.length > 0 && (
            <div class="violations" role="alert">
              <h3>Rules broken</h3>
              <ul>
                {response.violations.map((violation) => (
                  <li key={violation.rule}>
                    <code>{violation.rule}</code>: {violation.detail}
                    {violation.callIds.length > 0 && (
                      <>
                        {" "}
                        (
                        {violation.callIds.map((callId, index) => (
                          <span key={callId}>
                            {index > 0 && ", "}
                            <a href={decisionHref(callId)} class="mono">
                              {callId}
                            </a>
                          </span>
                        ))}
                        )
                      </>
                    )}
                  </li>
                ))}
              </ul>
            </div>
          )}
          {response.calls.length === 0 ? (
            <div class="empty">
              <p>
                Nothing would change: the candidate decides every one of these {replayed} calls as they were
                decided.
              </p>
            </div>
          ) : (
            <ChangedCalls calls={response.calls} />
          )}
        </>
      )}
    </section>
  );
}

function ChangedCalls({ calls }: { calls: ReplayedCall[] }) {
  return (
    <div class="table-wrap">
      <table class="decisions replay">
        <caption class="visually-hidden">Calls whose decision would change</caption>
        <thead>
          <tr>
            <th scope="col">Recorded</th>
            <th scope="col">Call</th>
            <th scope="col">Tenant</th>
            <th scope="col">Changes (before → after)</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((call) => (
            <tr key={call.callId}>
              <td data-label="Recorded">{when(call.recordedAt)}</td>
              <td data-label="Call">
                <a href={decisionHref(call.callId)} class="mono">
                  {call.callId}
                </a>
              </td>
              <td data-label="Tenant">{call.tenant || "—"}</td>
              <td data-label="Changes" class="changes">
                <ul>
                  {call.changes.map((change) => (
                    <li key={change.what}>
                      <span class="change-what">{CHANGE_LABELS[change.what] ?? change.what}</span>{" "}
                      <span class="mono">{change.before || "—"}</span> →{" "}
                      <span class="mono">{change.after || "—"}</span>
                    </li>
                  ))}
                  {call.gainedHosted.length > 0 && (
                    <li>
                      <span class="badge warn">newly eligible on a hosted provider</span>{" "}
                      <span class="mono">{call.gainedHosted.join(", ")}</span>
                    </li>
                  )}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
