import { useEffect, useRef, useState } from "preact/hooks";
import {
  type LatencyPercentiles,
  TargetState,
  type TargetStatus,
} from "../../../gen/switchyard/v1/admin_pb.js";
import { admin, type Problem, problemOf } from "../api.js";
import { BREAKER_STATE, ms, percent, TARGET_STATE, when } from "../format.js";
import { useCall } from "../use-call.js";

type Drill = { target: TargetStatus; action: "out" | "return" };

/** Every target's state now, and the outage drill: out of service and back, with a reason, confirmed. */
export function TargetsPage({ onSignIn }: { onSignIn: (p: Problem) => void }) {
  const targets = useCall((signal) => admin.listTargets({}, { signal }), "targets", onSignIn);
  const [drill, setDrill] = useState<Drill | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);

  // Breakers and cooling change on their own: look again while the page is shown.
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") targets.reload();
    }, 5_000);
    return () => clearInterval(timer);
  }, [targets.reload]);

  return (
    <section aria-labelledby="targets-title">
      <div class="heading">
        <h1 id="targets-title">Targets</h1>
        <button type="button" class="quiet" onClick={targets.reload}>
          Refresh
        </button>
      </div>
      <p class="status small" role="status">
        {done}
      </p>
      {targets.problem && !targets.problem.signIn && (
        <p class="problem" role="alert">
          {targets.problem.text}
        </p>
      )}
      {targets.loading && !targets.data && <p class="muted">Loading…</p>}
      {targets.data &&
        (targets.data.targets.length === 0 ? (
          <div class="empty">
            <p>The policy names no targets: add a provider and a route to the policy file.</p>
          </div>
        ) : (
          <div class="table-wrap">
            <table class="targets">
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">State</th>
                  <th scope="col">Breaker</th>
                  <th scope="col" class="num">
                    Failures
                  </th>
                  <th scope="col" class="num">
                    In flight
                  </th>
                  <th scope="col" class="num" title={RECENT}>
                    First token p50 / p95 / p99
                  </th>
                  <th scope="col" class="num" title={RECENT}>
                    Whole attempt p50 / p95 / p99
                  </th>
                  <th scope="col">Drill</th>
                </tr>
              </thead>
              <tbody>
                {targets.data.targets.map((target) => (
                  <tr key={target.target} data-target={target.target}>
                    <th scope="row" class="mono">
                      {target.target}
                      <div class="muted small">
                        {target.kind}
                        {target.hosted ? ", hosted" : ", self-hosted"}
                        {target.region && `, ${target.region}`}
                      </div>
                    </th>
                    <td data-label="State">
                      <span class={`badge ${stateTone(target.state)}`}>{TARGET_STATE[target.state]}</span>
                      {target.reason && <div class="small reason">{target.reason}</div>}
                      {target.cooledUntil && (
                        <div class="small">cooling until {when(target.cooledUntil)}</div>
                      )}
                    </td>
                    <td data-label="Breaker">
                      {BREAKER_STATE[target.breaker]}
                      {target.breakerSince && (
                        <div class="muted small">since {when(target.breakerSince)}</div>
                      )}
                    </td>
                    <td class="num" data-label="Failures">
                      {target.recentCalls > 0
                        ? `${percent(target.recentFailureRate)} of ${target.recentCalls}`
                        : "no calls"}
                    </td>
                    <td class="num" data-label="In flight">
                      {target.inFlight}
                    </td>
                    <td class="num latency" data-label="First token p50 / p95 / p99">
                      <Percentiles of={target.firstToken} />
                    </td>
                    <td class="num latency" data-label="Whole attempt p50 / p95 / p99">
                      <Percentiles of={target.attempt} />
                    </td>
                    <td>
                      {target.state === TargetState.OUT_OF_SERVICE ? (
                        <button type="button" onClick={() => setDrill({ target, action: "return" })}>
                          Return to service
                        </button>
                      ) : (
                        <button
                          type="button"
                          class="danger"
                          disabled={target.state === TargetState.DISABLED}
                          onClick={() => setDrill({ target, action: "out" })}
                        >
                          Take out of service
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      {drill && (
        <ConfirmDrill
          drill={drill}
          onClose={(message) => {
            setDrill(undefined);
            if (message) {
              setDone(message);
              targets.reload();
            }
          }}
          onSignIn={onSignIn}
        />
      )}
    </section>
  );
}

const RECENT = "Over each worker's most recent successful attempts";

/** p50 / p95 / p99 and how many attempts they are taken over; "—" before the first. */
function Percentiles({ of }: { of: LatencyPercentiles | undefined }) {
  if (!of) return <>—</>;
  return (
    <>
      {ms(of.p50Ms)} / {ms(of.p95Ms)} / {ms(of.p99Ms)}
      <div class="muted small">{of.samples === 1 ? "1 sample" : `${of.samples} samples`}</div>
    </>
  );
}

function stateTone(state: TargetState): string {
  switch (state) {
    case TargetState.AVAILABLE:
      return "good";
    case TargetState.DISABLED:
      return "";
    case TargetState.COOLING:
      return "warn";
    default:
      return "bad";
  }
}

/** A modal dialog (focus kept inside, Escape cancels) that asks before changing what takes calls. */
function ConfirmDrill({
  drill,
  onClose,
  onSignIn,
}: {
  drill: Drill;
  onClose: (done?: string) => void;
  onSignIn: (p: Problem) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const name = drill.target.target;
  const out = drill.action === "out";

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const confirm = async () => {
    setBusy(true);
    try {
      if (out) await admin.takeTargetOutOfService({ target: name, reason: reason.trim() });
      else await admin.returnTargetToService({ target: name });
      onClose(out ? `${name} is out of service: ${reason.trim()}` : `${name} is back in service.`);
    } catch (error) {
      const found = problemOf(error);
      if (found.signIn) onSignIn(found);
      setProblem(found.text);
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} aria-labelledby="drill-title" onCancel={() => onClose()} onClose={() => onClose()}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          void confirm();
        }}
      >
        <h2 id="drill-title">{out ? `Take ${name} out of service?` : `Return ${name} to service?`}</h2>
        <p>
          {out
            ? "It takes no calls on this replica until returned; every decision it would have served says it was skipped, with your reason."
            : "It takes calls again at once."}
        </p>
        {out && (
          <label>
            Reason (recorded in the decisions it affects)
            <input
              name="reason"
              required
              maxLength={200}
              value={reason}
              onInput={(event) => setReason(event.currentTarget.value)}
            />
          </label>
        )}
        {problem && (
          <p class="problem" role="alert">
            {problem}
          </p>
        )}
        <div class="actions">
          <button type="button" class="quiet" onClick={() => onClose()}>
            Cancel
          </button>
          <button type="submit" class={out ? "danger" : undefined} disabled={busy}>
            {out ? "Take out of service" : "Return to service"}
          </button>
        </div>
      </form>
    </dialog>
  );
}
