import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import type { RecordedDecision } from "../../../gen/switchyard/v1/admin_pb.js";
import { admin, type Problem } from "../api.js";
import { usd, when } from "../format.js";
import { decisionHref, decisionsHref } from "../route.js";
import { useCall } from "../use-call.js";

const FILTERS = ["tenant", "user", "route", "target", "since", "until", "trace"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/**
 * Recent decisions: by tenant (and one of its users), route, target (the calls that tried it,
 * failovers included) and time (ListDecisions), or the calls of one trace
 * (GetDecision by trace id); a call id goes straight to that call's decision.
 */
export function DecisionsPage({
  query,
  onSignIn,
}: {
  query: URLSearchParams;
  onSignIn: (p: Problem) => void;
}) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ""])) as Filters;
  const key = JSON.stringify(filters);
  const listed = useCall(
    async (signal) => {
      if (filters.trace !== "") {
        const found = await admin.getDecision({ traceId: filters.trace }, { signal });
        return { decisions: found.traceDecisions.toReversed(), truncated: false };
      }
      return admin.listDecisions(
        {
          tenant: filters.tenant,
          user: filters.user,
          route: filters.route,
          target: filters.target,
          limit: 100,
          ...(filters.since && { since: timestampFromDate(new Date(filters.since)) }),
          ...(filters.until && { until: timestampFromDate(new Date(filters.until)) }),
        },
        { signal },
      );
    },
    key,
    onSignIn,
  );
  const filtered = FILTERS.some((name) => filters[name] !== "");

  return (
    <section aria-labelledby="decisions-title">
      <div class="heading">
        <h1 id="decisions-title">Decisions</h1>
        <button type="button" class="quiet" onClick={listed.reload}>
          Refresh
        </button>
      </div>
      <SearchForm filters={filters} />
      {listed.problem && !listed.problem.signIn && (
        <p class="problem" role="alert">
          {listed.problem.text}
        </p>
      )}
      {listed.data &&
        (listed.data.decisions.length === 0 ? (
          <div class="empty">
            {filtered ? (
              <p>
                No decisions match these filters. <a href="#/decisions">Show all recent decisions</a>.
              </p>
            ) : (
              <p>
                No decisions yet: send a Route (for example <code>npm run example:ts</code>) and its decision
                appears here.
              </p>
            )}
          </div>
        ) : (
          <DecisionTable decisions={listed.data.decisions} truncated={listed.data.truncated} />
        ))}
      {listed.loading && !listed.data && <p class="muted">Loading…</p>}
    </section>
  );
}

function SearchForm({ filters }: { filters: Filters }) {
  const [lookup, setLookup] = useState("");
  const [form, setForm] = useState(filters);
  const [hint, setHint] = useState<string | undefined>(undefined);
  const field = (name: keyof Filters, label: string, time = false) => {
    const props = {
      name,
      value: form[name],
      onInput: (event: { currentTarget: HTMLInputElement }) =>
        setForm({ ...form, [name]: event.currentTarget.value }),
    };
    return (
      <label for={`filter-${name}`}>
        {label}
        {time ? (
          <input id={`filter-${name}`} type="datetime-local" {...props} />
        ) : (
          <input id={`filter-${name}`} type="text" {...props} />
        )}
      </label>
    );
  };
  return (
    <div class="search">
      <form
        class="lookup"
        aria-label="Find a call or a trace"
        onSubmit={(event) => {
          event.preventDefault();
          const id = lookup.trim().toLowerCase();
          // A call id is 16 hex digits, a W3C trace id 32.
          if (/^[0-9a-f]{16}$/.test(id)) location.hash = decisionHref(id);
          else if (/^[0-9a-f]{32}$/.test(id)) location.hash = decisionsHref({ trace: id });
          else setHint("A call id is 16 hex digits (the x-call-id header); a trace id is 32.");
        }}
      >
        <label>
          Call id or trace id
          <input
            name="lookup"
            value={lookup}
            spellcheck={false}
            onInput={(event) => {
              setLookup(event.currentTarget.value);
              setHint(undefined);
            }}
          />
        </label>
        <button type="submit">Find</button>
        {hint && (
          <p class="problem small" role="alert">
            {hint}
          </p>
        )}
      </form>
      <form
        class="filters"
        aria-label="Filter decisions"
        onSubmit={(event) => {
          event.preventDefault();
          location.hash = decisionsHref({ ...form, trace: "" });
        }}
      >
        {field("tenant", "Tenant")}
        {field("user", "User (of that tenant)")}
        {field("route", "Route")}
        {field("target", "Target")}
        {field("since", "Since", true)}
        {field("until", "Until", true)}
        <button type="submit">List</button>
      </form>
    </div>
  );
}

function DecisionTable({ decisions, truncated }: { decisions: RecordedDecision[]; truncated: boolean }) {
  return (
    <>
      <div class="table-wrap">
        <table class="decisions">
          <thead>
            <tr>
              <th scope="col">Recorded</th>
              <th scope="col">Call</th>
              <th scope="col">Tenant</th>
              <th scope="col">Route</th>
              <th scope="col">Served by</th>
              <th scope="col">Attempts</th>
              <th scope="col">Outcome</th>
              <th scope="col" class="num">
                Cost
              </th>
            </tr>
          </thead>
          <tbody>
            {decisions.map(({ decision, recordedAt, outcome }) => (
              <tr key={decision?.callId}>
                <td data-label="Recorded">{when(recordedAt)}</td>
                <td data-label="Call">
                  <a href={decisionHref(decision?.callId ?? "")} class="mono">
                    {decision?.callId}
                  </a>
                </td>
                <td data-label="Tenant">
                  {decision?.tenant || "—"}
                  {decision?.user && <div class="muted small">user {decision.user}</div>}
                </td>
                <td data-label="Route">{decision?.route || "—"}</td>
                <td class="mono" data-label="Served by">
                  {decision?.target || "—"}
                </td>
                <td data-label="Attempts">{decision?.attempts.length ?? 0}</td>
                <td data-label="Outcome">
                  <span class={`badge ${outcome === "ok" ? "good" : "bad"}`}>{outcome}</span>
                  {decision?.degraded && <span class="badge warn">degraded</span>}
                </td>
                <td class="num" data-label="Cost">
                  {usd(decision?.costUsd ?? 0)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {truncated && (
        <p class="muted small">More decisions matched; narrow the time range to see older ones.</p>
      )}
    </>
  );
}
