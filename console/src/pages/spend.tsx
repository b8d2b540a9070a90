import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import type { GetSpendResponse, LimitUsage } from "../../../gen/switchyard/v1/admin_pb.js";
import { admin, type Problem } from "../api.js";
import { usd } from "../format.js";
import { spendHref } from "../route.js";
import { useCall } from "../use-call.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The ranges the chart offers, each in buckets aligned to UTC hours, so a bucket never straddles
 * the UTC midnight at which a daily budget starts again (src/admit/quota.ts).
 */
const RANGES = {
  "24h": { label: "Last 24 hours", bucketMs: HOUR, buckets: 24 },
  "7d": { label: "Last 7 days", bucketMs: 6 * HOUR, buckets: 28 },
} as const;
type RangeName = keyof typeof RANGES;

/**
 * A tenant's budgets and limits now (GetUsage: each as a bar against its limit, for the tenant
 * and, when a user is named, that user), and its spend over time (GetSpend: cost per bucket, and
 * the day's running total against the daily budget): the named user's against its per-user daily
 * budget, then the whole tenant's.
 */
export function SpendPage({ query, onSignIn }: { query: URLSearchParams; onSignIn: (p: Problem) => void }) {
  const range: RangeName = query.get("range") === "7d" ? "7d" : "24h";
  const user = query.get("user") ?? "";
  // Tenants with budgets or limits: the policy's, each asked for its usage (the ones without are left out).
  const tenants = useCall(
    async (signal) => {
      const policy = await admin.getPolicy({}, { signal });
      const usages = await Promise.all(
        policy.tenants.map((tenant) => admin.getUsage({ tenant }, { signal })),
      );
      return usages.filter((usage) => usage.limited).map((usage) => usage.tenant);
    },
    "tenants",
    onSignIn,
  );
  const tenant = query.get("tenant") || tenants.data?.[0] || "";
  const key = JSON.stringify([tenant, user, range]);
  const found = useCall(
    async (signal) => {
      if (tenant === "") return undefined;
      const { bucketMs, buckets } = RANGES[range];
      const until = Math.ceil((Date.now() + 1) / bucketMs) * bucketMs;
      const spendOf = (who: string) =>
        admin.getSpend(
          {
            tenant,
            user: who,
            since: timestampFromDate(new Date(until - buckets * bucketMs)),
            until: timestampFromDate(new Date(until)),
            bucketSeconds: bucketMs / 1000,
          },
          { signal },
        );
      const [usage, spend, userSpend] = await Promise.all([
        admin.getUsage({ tenant, user }, { signal }),
        spendOf(""),
        user === "" ? undefined : spendOf(user),
      ]);
      return { usage, spend, userSpend };
    },
    key,
    onSignIn,
  );
  const problem = tenants.problem ?? found.problem;
  const dailyBudget = (name: string) => found.data?.usage.limits.find((limit) => limit.limit === name)?.max;

  return (
    <section aria-labelledby="spend-title">
      <div class="heading">
        <h1 id="spend-title">Spend</h1>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            tenants.reload();
            found.reload();
          }}
        >
          Refresh
        </button>
      </div>
      {problem && !problem.signIn && (
        <p class="problem" role="alert">
          {problem.text}
        </p>
      )}
      {tenants.loading && !tenants.data && <p class="muted">Loading…</p>}
      {tenants.data?.length === 0 && (
        <div class="empty">
          <p>
            No tenants with budgets or limits: declare <span class="mono">tenants.&lt;name&gt;.budgets</span>{" "}
            (or <span class="mono">limits</span>) in the policy, e.g.{" "}
            <span class="mono">tenants: {"{ acme: { budgets: { usd_per_day: 5 } } }"}</span>.
          </p>
        </div>
      )}
      {tenants.data && tenants.data.length > 0 && (
        <>
          <SpendForm tenants={tenants.data} tenant={tenant} user={user} range={range} />
          {found.data && (
            <>
              <h2>Now{user ? `: ${tenant} and user ${user}` : `: ${tenant}`}</h2>
              <ul class="usages">
                {found.data.usage.limits.map((limit) => (
                  <UsageBar key={limit.limit} limit={limit} />
                ))}
              </ul>
              {found.data.userSpend && (
                <>
                  <h2>
                    Over time: user {user} of {tenant}, {RANGES[range].label.toLowerCase()}
                  </h2>
                  <SpendChart
                    id="user"
                    whose={`user ${user} of ${tenant}`}
                    spend={found.data.userSpend}
                    bucketMs={RANGES[range].bucketMs}
                    budget={dailyBudget(`tenants.${tenant}.per_user.usd_per_day`)}
                    budgetName="per-user daily budget"
                  />
                </>
              )}
              <h2>
                Over time: {user ? `all of ${tenant}` : tenant}, {RANGES[range].label.toLowerCase()}
              </h2>
              <SpendChart
                id="tenant"
                whose={`tenant ${tenant}`}
                spend={found.data.spend}
                bucketMs={RANGES[range].bucketMs}
                budget={dailyBudget(`tenants.${tenant}.budgets.usd_per_day`)}
                budgetName="daily budget"
              />
            </>
          )}
        </>
      )}
    </section>
  );
}

function SpendForm(props: { tenants: string[]; tenant: string; user: string; range: RangeName }) {
  const [user, setUser] = useState(props.user);
  const go = (change: Partial<{ tenant: string; user: string; range: string }>) => {
    location.hash = spendHref({ tenant: props.tenant, user: props.user, range: props.range, ...change });
  };
  return (
    <div class="search">
      <form
        class="spend-form"
        aria-label="Whose spend"
        onSubmit={(event) => {
          event.preventDefault();
          go({ user: user.trim() });
        }}
      >
        <label for="spend-tenant">
          Tenant
          <select
            id="spend-tenant"
            value={props.tenant}
            onChange={(event) => go({ tenant: event.currentTarget.value })}
          >
            {props.tenants.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label for="spend-range">
          Range
          <select
            id="spend-range"
            value={props.range}
            onChange={(event) => go({ range: event.currentTarget.value })}
          >
            {Object.entries(RANGES).map(([name, { label }]) => (
              <option key={name} value={name}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label for="spend-user">
          User (optional: their per-user limits and spend)
          <input
            id="spend-user"
            value={user}
            onInput={(event) => setUser(event.currentTarget.value)}
            placeholder="the request's user"
          />
        </label>
        <button type="submit">Show</button>
      </form>
    </div>
  );
}

/** One budget or limit: what is used as a bar, its limit as a line (the bar's scale grows past it). */
function UsageBar({ limit }: { limit: LimitUsage }) {
  const amount = (value: number) => (limit.kind === "budget" ? usd(value) : String(Math.round(value)));
  const scale = Math.max(limit.max, limit.used) || 1;
  const over = limit.used >= limit.max;
  const summary = `${amount(limit.used)} of ${amount(limit.max)} used, ${amount(limit.remaining)} left${
    limit.resetsInMs > 0 ? `, starts again in ${duration(limit.resetsInMs)}` : ""
  }`;
  return (
    <li class="usage" data-limit={limit.limit}>
      <div class="usage-head">
        <span class="mono">{limit.limit.replace(/^tenants\.[^.]+\./, "")}</span>
        <span class="small">{summary}</span>
      </div>
      <div class="meter" role="img" aria-label={`${limit.limit}: ${summary}`}>
        <div class={`meter-fill ${over ? "over" : ""}`} style={{ width: `${(limit.used / scale) * 100}%` }} />
        <div
          class="budget-line"
          style={{ left: `${(limit.max / scale) * 100}%` }}
          title={`limit ${amount(limit.max)}`}
        />
      </div>
    </li>
  );
}

const W = 640;
const H = 220;
const PAD = { left: 8, right: 8, top: 14, bottom: 22 };

/**
 * Cost per bucket as bars, the day's running total (from UTC midnight, as the daily budget
 * counts) as a line, and the daily budget as a dashed line; the same numbers as a table below.
 */
function SpendChart({
  id,
  whose,
  spend,
  bucketMs,
  budget,
  budgetName,
}: {
  /** Tells this chart's title and description apart from another chart's on the page. */
  id: string;
  /** "tenant acme", "user ana of acme": whose calls these are, as the empty state says it. */
  whose: string;
  spend: GetSpendResponse;
  bucketMs: number;
  budget?: number;
  budgetName: string;
}) {
  const rows = spend.buckets.map((bucket) => ({
    start: bucket.start ? timestampDate(bucket.start) : new Date(0),
    cost: bucket.costUsd,
    calls: Number(bucket.calls),
    dayToDate: 0,
  }));
  let running = 0;
  for (const row of rows) {
    if (row.start.getTime() % DAY === 0) running = 0;
    running += row.cost;
    row.dayToDate = running;
  }
  if (spend.calls === 0n)
    return (
      <p class="empty">
        No calls recorded for {whose} in this range: send a Route with <span class="mono">tenant</span> (and{" "}
        <span class="mono">user</span>) set, or the tenant's key. Only recorded decisions are counted (the
        recent in-memory log, or the ledger with <span class="mono">serve --ledger</span>).
      </p>
    );
  const top = Math.max(budget ?? 0, ...rows.map((row) => row.dayToDate)) * 1.1 || 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (index: number) => PAD.left + (index / rows.length) * plotW;
  const y = (value: number) => PAD.top + plotH - (value / top) * plotH;
  const barW = Math.max(1, plotW / rows.length - 2);
  const line = rows
    .map((row, index) => `${index === 0 ? "M" : "L"}${(x(index) + x(index + 1)) / 2},${y(row.dayToDate)}`)
    .join(" ");
  const label = (date: Date) =>
    bucketMs < DAY / 4
      ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false })
      : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const first = rows[0];
  const last = rows.at(-1);
  return (
    <figure class="chart" data-chart={id}>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-labelledby={`spend-chart-${id}-title spend-chart-${id}-desc`}
        class="spend-chart"
      >
        <title id={`spend-chart-${id}-title`}>
          Spend of {whose} per {bucketMs / HOUR} h
        </title>
        <desc id={`spend-chart-${id}-desc`}>
          {`${usd(spend.costUsd)} over ${spend.calls} calls in the range`}
          {budget !== undefined ? `; ${budgetName} ${usd(budget)}` : ""}. The same numbers are in the table
          below.
        </desc>
        <line class="axis-line" x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} />
        {rows.map((row, index) => (
          <rect
            key={row.start.getTime()}
            class="spend-bar"
            x={x(index) + 1}
            y={y(row.cost)}
            width={barW}
            height={Math.max(0, y(0) - y(row.cost))}
          >
            <title>{`${row.start.toISOString()}: ${usd(row.cost)}, ${row.calls} calls`}</title>
          </rect>
        ))}
        <path class="day-to-date" d={line} fill="none" />
        {budget !== undefined && (
          <g class="budget">
            <line class="budget-line" x1={PAD.left} x2={W - PAD.right} y1={y(budget)} y2={y(budget)} />
            <text x={W - PAD.right} y={y(budget) - 4} text-anchor="end">
              {budgetName} {usd(budget)}
            </text>
          </g>
        )}
        {first && (
          <text x={PAD.left} y={H - 6}>
            {label(first.start)}
          </text>
        )}
        {last && (
          <text x={W - PAD.right} y={H - 6} text-anchor="end">
            {label(last.start)}
          </text>
        )}
      </svg>
      <figcaption class="small muted">
        <span class="key bar-key" /> cost per {bucketMs / HOUR} h <span class="key line-key" /> spent in the
        (UTC) day so far {budget !== undefined && <span class="key budget-key" />}
        {budget !== undefined && ` ${budgetName}`} · {usd(spend.costUsd)} over {String(spend.calls)} calls
      </figcaption>
      <details>
        <summary>As a table</summary>
        <div class="table-wrap">
          <table class="spend-table">
            <thead>
              <tr>
                <th scope="col">From (UTC)</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col" class="num">
                  Day so far
                </th>
              </tr>
            </thead>
            <tbody>
              {rows
                .filter((row) => row.calls > 0)
                .map((row) => (
                  <tr key={row.start.getTime()}>
                    <th scope="row" class="mono">
                      {row.start.toISOString().slice(0, 16).replace("T", " ")}
                    </th>
                    <td class="num">{row.calls}</td>
                    <td class="num">{usd(row.cost)}</td>
                    <td class="num">{usd(row.dayToDate)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function duration(ms: number): string {
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s`;
  if (ms < HOUR) return `${Math.ceil(ms / 60_000)} min`;
  if (ms < 2 * DAY) return `${Math.floor(ms / HOUR)} h ${Math.ceil((ms % HOUR) / 60_000)} min`;
  return `${Math.round(ms / DAY)} days`;
}
