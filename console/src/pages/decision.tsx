import type { ComponentChildren } from "preact";
import type { Attempt, Decision, FindingSummary } from "../../../gen/switchyard/v1/types_pb.js";
import { AttemptOutcome } from "../../../gen/switchyard/v1/types_pb.js";
import { admin, type Problem } from "../api.js";
import { ATTEMPT_OUTCOME, ERROR_CLASS, isoOf, ms, usd, when } from "../format.js";
import { decisionsHref } from "../route.js";
import { useCall } from "../use-call.js";

/** One call's decision: why the route, every candidate, every attempt on a timeline, what it cost. */
export function DecisionPage({ callId, onSignIn }: { callId: string; onSignIn: (p: Problem) => void }) {
  const found = useCall((signal) => admin.getDecision({ callId }, { signal }), callId, onSignIn);
  const decision = found.data?.decision;
  return (
    <section aria-labelledby="decision-title">
      <p class="small">
        <a href="#/decisions">← All decisions</a>
      </p>
      <h1 id="decision-title">
        Call <span class="mono">{callId}</span>
      </h1>
      {found.loading && !found.data && <p class="muted">Loading…</p>}
      {found.problem && !found.problem.signIn && (
        <p class="problem" role="alert">
          {found.problem.text}
        </p>
      )}
      {decision && (
        <DecisionView
          decision={decision}
          outcome={found.data?.outcome ?? ""}
          recordedAt={when(found.data?.recordedAt)}
          recordedIso={isoOf(found.data?.recordedAt)}
        />
      )}
    </section>
  );
}

function DecisionView({
  decision,
  outcome,
  recordedAt,
  recordedIso,
}: {
  decision: Decision;
  outcome: string;
  recordedAt: string;
  recordedIso: string | undefined;
}) {
  const raised = decision.declaredDataClass !== "" && decision.declaredDataClass !== decision.dataClass;
  return (
    <>
      <dl class="facts">
        <Fact term="Outcome">
          <span class={`badge ${outcome === "ok" ? "good" : "bad"}`}>{outcome || "—"}</span>
          {decision.degraded && <span class="badge warn">degraded: {decision.degradeRung || "yes"}</span>}
        </Fact>
        <Fact term="Recorded">
          <time dateTime={recordedIso}>{recordedAt}</time>
        </Fact>
        <Fact term="Served by">
          <span class="mono">{decision.target || "none"}</span>
        </Fact>
        <Fact term="Tenant">
          {decision.tenant ? <a href={decisionsHref({ tenant: decision.tenant })}>{decision.tenant}</a> : "—"}
        </Fact>
        {decision.user && (
          <Fact term="User">
            <a href={decisionsHref({ tenant: decision.tenant, user: decision.user })}>{decision.user}</a>
          </Fact>
        )}
        <Fact term="Route">
          {decision.route ? <a href={decisionsHref({ route: decision.route })}>{decision.route}</a> : "—"}
        </Fact>
        <Fact term="Rule">
          <code>{decision.rule || "(matches everything)"}</code>
        </Fact>
        <Fact term="Task">
          {decision.task || "—"}
          {decision.taskInferred && <span class="muted"> (inferred)</span>}
        </Fact>
        <Fact term="Data class">
          <span class="mono">{decision.declaredDataClass || "(none declared)"}</span> →{" "}
          <strong class={raised ? "raised" : undefined}>{decision.dataClass || "—"}</strong>
          {decision.dataClassReason && <span class="muted"> ({decision.dataClassReason})</span>}
        </Fact>
        <Fact term="Cost">
          {usd(decision.costUsd)}
          <span class="muted">
            {" "}
            (estimated {usd(decision.estimatedCostUsd)} for {decision.estimatedInputTokens} input tokens
            {decision.maxTokens > 0 && `, max ${decision.maxTokens} output`})
          </span>
          {decision.unpriced && <span class="badge warn">unpriced target</span>}
        </Fact>
        {decision.quota && <Fact term="Quota">{decision.quota}</Fact>}
        {decision.pool && <Fact term="Pool">{decision.pool}</Fact>}
        {decision.refusal && (
          <Fact term="Refused">
            <span class="badge bad">{decision.refusal}</span>
          </Fact>
        )}
        <Fact term="Trace">
          <a class="mono" href={decisionsHref({ trace: decision.traceId })}>
            {decision.traceId}
          </a>
        </Fact>
        <Fact term="Policy version">
          <span class="mono">{decision.policyVersion.slice(0, 12)}</span>
        </Fact>
      </dl>

      <h2>Attempts</h2>
      <Timeline attempts={decision.attempts} />

      <h2>Candidates</h2>
      {decision.candidates.length === 0 ? (
        <p class="muted">No route matched, so no target was considered.</p>
      ) : (
        <ul class="candidates">
          {decision.candidates.map((candidate) => (
            <li key={candidate.target} class={candidate.eligible ? "eligible" : "ineligible"}>
              <span class="mark" aria-hidden="true">
                {candidate.eligible ? "✓" : "✗"}
              </span>
              <span class="mono">{candidate.target}</span> <span class="muted">{candidate.role}</span>{" "}
              {candidate.eligible ? (
                <span class="visually-hidden">eligible</span>
              ) : (
                <span>not eligible: {candidate.reason}</span>
              )}
            </li>
          ))}
        </ul>
      )}

      <h2>Findings</h2>
      <Findings title="In the request" findings={decision.findings} />
      <Findings title="In the answer (masked)" findings={decision.outputFindings} />
      {decision.withheldTools.length > 0 && (
        <>
          <h3>Tools withheld</h3>
          <ul>
            {decision.withheldTools.map((tool) => (
              <li key={tool.name}>
                <span class="mono">{tool.name}</span>: {tool.reason}
              </li>
            ))}
          </ul>
        </>
      )}
      {decision.escalations.length > 0 && (
        <p>
          Escalations: <span class="mono">{decision.escalations.join(", ")}</span>
        </p>
      )}
    </>
  );
}

function Fact({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/**
 * Each attempt as a bar from `started_ms` over `latency_ms` on one time axis (so backoff, a
 * hedge's delay and overlap show), a tick at its first token; skipped and refused ones (never
 * sent) as a row with no bar.
 */
function Timeline({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <p class="muted">No attempt was made.</p>;
  const span = Math.max(1, ...attempts.map((attempt) => attempt.startedMs + attempt.latencyMs));
  const at = (value: number) => `${Math.min(100, (value / span) * 100)}%`;
  return (
    <>
      <ol class="timeline" aria-label={`Attempts over ${ms(span)}`}>
        {attempts.map((attempt, index) => {
          const outcome = ATTEMPT_OUTCOME[attempt.outcome];
          const sent =
            attempt.outcome !== AttemptOutcome.SKIPPED && attempt.outcome !== AttemptOutcome.REFUSED;
          return (
            <li key={index} class={`attempt ${outcome}`} data-target={attempt.target}>
              <div class="attempt-label">
                <span class="mono">{attempt.target}</span>
                <span class={`badge ${outcomeTone(attempt.outcome)}`}>{outcome}</span>
                {attempt.errorClass !== 0 && <span class="badge">{ERROR_CLASS[attempt.errorClass]}</span>}
                {attempt.hedge && <span class="badge">hedge</span>}
                {attempt.retry > 0 && <span class="badge">retry {attempt.retry}</span>}
                {attempt.continues && <span class="badge">continues stream</span>}
              </div>
              <div class="track">
                {sent && (
                  <span
                    class="bar"
                    style={{ left: at(attempt.startedMs), width: `max(3px, ${at(attempt.latencyMs)})` }}
                    title={`from ${ms(attempt.startedMs)} for ${ms(attempt.latencyMs)}`}
                  />
                )}
                {sent && attempt.firstTokenMs > 0 && (
                  <span
                    class="first-token"
                    style={{ left: at(attempt.startedMs + attempt.firstTokenMs) }}
                    title={`first token at ${ms(attempt.firstTokenMs)}`}
                  />
                )}
              </div>
              <div class="attempt-detail small">
                {sent ? (
                  <>
                    started {ms(attempt.startedMs)}, took {ms(attempt.latencyMs)}
                    {attempt.firstTokenMs > 0 && `, first token ${ms(attempt.firstTokenMs)}`}
                    {attempt.budgetMs > 0 && `, budget ${ms(attempt.budgetMs)}`}
                    {attempt.usage && `, ${usd(attempt.usage.costUsd)}`}
                    {attempt.redacted > 0 && `, ${attempt.redacted} values redacted`}
                  </>
                ) : (
                  "not sent"
                )}
                {attempt.message && <span class="attempt-message">: {attempt.message}</span>}
                {attempt.retryAfterMs > 0 && ` (asked to wait ${ms(attempt.retryAfterMs)})`}
              </div>
            </li>
          );
        })}
      </ol>
      <p class="axis small muted" aria-hidden="true">
        <span>0 ms</span>
        <span>{ms(span)}</span>
      </p>
    </>
  );
}

function outcomeTone(outcome: AttemptOutcome): string {
  switch (outcome) {
    case AttemptOutcome.SUCCEEDED:
      return "good";
    case AttemptOutcome.FAILED:
    case AttemptOutcome.REFUSED:
      return "bad";
    default:
      return "warn";
  }
}

function Findings({ title, findings }: { title: string; findings: FindingSummary[] }) {
  if (findings.length === 0) return <p class="muted">{title}: nothing found.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Group</th>
            <th scope="col" class="num">
              Count
            </th>
            <th scope="col">Action</th>
            <th scope="col">Rule</th>
          </tr>
        </thead>
        <tbody>
          {findings.map((finding) => (
            <tr key={finding.kind}>
              <td class="mono">{finding.kind}</td>
              <td>{finding.group}</td>
              <td class="num">{finding.count}</td>
              <td>{finding.action}</td>
              <td class="mono">{finding.rule}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
