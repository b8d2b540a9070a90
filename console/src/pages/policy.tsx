import { ReloadOutcome } from "../../../gen/switchyard/v1/admin_pb.js";
import { admin, type Problem } from "../api.js";
import { isoOf, RELOAD_OUTCOME, usd, when } from "../format.js";
import { useCall } from "../use-call.js";

/** The policy in force, the targets it names, and what came of the last reload. */
export function PolicyPage({ onSignIn }: { onSignIn: (p: Problem) => void }) {
  const found = useCall(
    async (signal) => {
      const [policy, targets] = await Promise.all([
        admin.getPolicy({}, { signal }),
        admin.listTargets({}, { signal }),
      ]);
      return { policy, targets: targets.targets };
    },
    "policy",
    onSignIn,
  );
  const policy = found.data?.policy;
  const reload = policy?.lastReload;
  const rules = new Map(policy?.routeRules.map((route) => [route.name, route.rule]));
  return (
    <section aria-labelledby="policy-title">
      <div class="heading">
        <h1 id="policy-title">Policy</h1>
        <button type="button" class="quiet" onClick={found.reload}>
          Refresh
        </button>
      </div>
      {found.problem && !found.problem.signIn && (
        <p class="problem" role="alert">
          {found.problem.text}
        </p>
      )}
      {found.loading && !found.data && <p class="muted">Loading…</p>}
      {policy && (
        <>
          <dl class="facts">
            <div>
              <dt>Version</dt>
              <dd class="mono">{policy.version}</dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd class="mono">{policy.source}</dd>
            </div>
            <div>
              <dt>Loaded</dt>
              <dd>
                <time dateTime={isoOf(policy.loadedAt)}>{when(policy.loadedAt)}</time>
              </dd>
            </div>
          </dl>

          <h2>Last reload</h2>
          {reload ? (
            <div class={`reload ${reload.outcome === ReloadOutcome.REFUSED ? "refused" : ""}`}>
              <p>
                <span class={`badge ${reload.outcome === ReloadOutcome.REFUSED ? "bad" : "good"}`}>
                  {RELOAD_OUTCOME[reload.outcome]}
                </span>{" "}
                <time dateTime={isoOf(reload.at)}>{when(reload.at)}</time> on {reload.trigger}
                {reload.version && (
                  <>
                    , version <span class="mono">{reload.version.slice(0, 12)}</span>
                  </>
                )}
              </p>
              {reload.outcome === ReloadOutcome.REFUSED && (
                <>
                  <p>The file was refused; the policy above stays in force. Fix these and save it again:</p>
                  <ul class="issues">
                    {reload.issues.map((issue) => (
                      <li key={issue} class="mono">
                        {issue}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </div>
          ) : (
            <p class="muted">
              No reload since the server started: save the policy file (or send SIGHUP) to reload it.
            </p>
          )}

          {policy.warnings.length > 0 && (
            <>
              <h2>Warnings</h2>
              <ul class="warnings">
                {policy.warnings.map((warning) => (
                  <li key={warning}>{warning}</li>
                ))}
              </ul>
            </>
          )}

          <h2>Routes, in match order</h2>
          {policy.routes.length === 0 ? (
            <p class="muted">No routes.</p>
          ) : (
            <ol class="routes">
              {policy.routes.map((route) => (
                <li key={route}>
                  <a href={`#/decisions?route=${encodeURIComponent(route)}`}>{route}</a>
                  {rules.has(route) && <span class="muted"> — {rules.get(route)}</span>}
                </li>
              ))}
            </ol>
          )}

          <h2>Data classes, least sensitive first</h2>
          <div class="table-wrap">
            <table class="data-classes">
              <thead>
                <tr>
                  <th scope="col">Data class</th>
                  <th scope="col">May leave</th>
                  <th scope="col">Regions</th>
                </tr>
              </thead>
              <tbody>
                {policy.dataClasses.map((dataClass) => (
                  <tr key={dataClass.name}>
                    <th scope="row" class="mono">
                      {dataClass.name}
                    </th>
                    <td>{dataClass.mayLeave ? "yes" : "no"}</td>
                    <td>{dataClass.regions.length > 0 ? dataClass.regions.join(", ") : "any"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2>Detection</h2>
          <p class="muted">A kind's own rule wins over its group's.</p>
          <div class="table-wrap">
            <table class="detection">
              <thead>
                <tr>
                  <th scope="col">Kind or group</th>
                  <th scope="col">Action</th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {policy.detection.map((rule) => (
                  <tr key={rule.kind}>
                    <th scope="row" class="mono">
                      {rule.kind}
                    </th>
                    <td>{rule.redactionForm ? `${rule.action} (${rule.redactionForm})` : rule.action}</td>
                    <td class="mono">{rule.source}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>

          <h2>Targets</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Leaves the boundary</th>
                  <th scope="col">Region</th>
                  <th scope="col" class="num">
                    $ / M input
                  </th>
                  <th scope="col" class="num">
                    $ / M output
                  </th>
                </tr>
              </thead>
              <tbody>
                {found.data?.targets.map((target) => (
                  <tr key={target.target}>
                    <td class="mono">{target.target}</td>
                    <td>{target.kind}</td>
                    <td>{target.hosted ? "yes (hosted)" : "no"}</td>
                    <td>{target.region || "—"}</td>
                    <td class="num">{usd(target.inputUsdPerMtok)}</td>
                    <td class="num">{usd(target.outputUsdPerMtok)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
