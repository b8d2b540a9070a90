import { render } from "preact";
import { useCallback, useEffect, useLayoutEffect, useState } from "preact/hooks";
import { admin, type Problem, problemOf, storedToken, storeToken } from "./api.js";
import { DecisionPage } from "./pages/decision.js";
import { DecisionsPage } from "./pages/decisions.js";
import { PolicyPage } from "./pages/policy.js";
import { ReplayPage } from "./pages/replay.js";
import { SignIn } from "./pages/sign-in.js";
import { SpendPage } from "./pages/spend.js";
import { TargetsPage } from "./pages/targets.js";
import { parseRoute, type Route } from "./route.js";

type Access =
  | { kind: "checking" }
  | { kind: "granted"; open: boolean }
  | { kind: "refused"; problem: Problem };

function App() {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  // Each visit (a link followed, back, forward) shows the page afresh, with new data.
  const [visit, setVisit] = useState(0);
  const [access, setAccess] = useState<Access>({ kind: "checking" });
  const [failure, setFailure] = useState<string | undefined>(undefined);

  useEffect(() => {
    const follow = () => {
      setRoute(parseRoute(location.hash));
      setVisit((n) => n + 1);
    };
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);

  // One cheap call tells whether the credential (or none, on a listener without a token) is
  // accepted. The page is shown meanwhile, so its own call goes out beside this one rather than
  // after it (one round trip, not two, before the content): a refused credential refuses both,
  // and the page is replaced by the sign-in form.
  const check = useCallback(() => {
    setAccess({ kind: "checking" });
    setFailure(undefined);
    admin.getPolicy({}).then(
      () => setAccess({ kind: "granted", open: storedToken() === undefined }),
      (error: unknown) => {
        const problem = problemOf(error);
        if (problem.signIn) setAccess({ kind: "refused", problem });
        else setFailure(problem.text);
      },
    );
  }, []);
  // As soon as rendered, beside the page's own call (see useCall).
  useLayoutEffect(check, []);

  const refused = useCallback((problem: Problem) => setAccess({ kind: "refused", problem }), []);
  const signIn = (token: string) => {
    storeToken(token);
    check();
  };
  const signOut = () => {
    storeToken(undefined);
    check();
  };

  return (
    <>
      <button type="button" class="skip" onClick={skipToMain}>
        Skip to content
      </button>
      <header class="topbar">
        <span class="brand">Switchyard</span>
        {access.kind === "granted" && (
          <nav aria-label="Pages">
            <NavLink route={route} page="decisions" label="Decisions" />
            <NavLink route={route} page="targets" label="Targets" />
            <NavLink route={route} page="policy" label="Policy" />
            <NavLink route={route} page="spend" label="Spend" />
            <NavLink route={route} page="replay" label="Replay" />
          </nav>
        )}
        {access.kind === "granted" &&
          (access.open ? (
            <span
              class="muted small"
              title="The operator listener has no token: it is bound to loopback only"
            >
              no operator token (loopback)
            </span>
          ) : (
            <button type="button" class="quiet" onClick={signOut}>
              Sign out
            </button>
          ))}
      </header>
      <main id="main" tabIndex={-1}>
        {failure !== undefined ? (
          <div class="problem" role="alert">
            <p>{failure}</p>
            <button type="button" onClick={check}>
              Try again
            </button>
          </div>
        ) : access.kind === "refused" ? (
          <SignIn problem={access.problem} onSignIn={signIn} />
        ) : (
          <Page key={visit} route={route} onSignIn={refused} />
        )}
      </main>
    </>
  );
}

function Page({ route, onSignIn }: { route: Route; onSignIn: (problem: Problem) => void }) {
  switch (route.page) {
    case "decisions":
      return <DecisionsPage query={route.query} onSignIn={onSignIn} />;
    case "decision":
      return <DecisionPage callId={route.callId} onSignIn={onSignIn} />;
    case "targets":
      return <TargetsPage onSignIn={onSignIn} />;
    case "policy":
      return <PolicyPage onSignIn={onSignIn} />;
    case "spend":
      return <SpendPage query={route.query} onSignIn={onSignIn} />;
    case "replay":
      return <ReplayPage onSignIn={onSignIn} />;
    default:
      return route satisfies never;
  }
}

function NavLink({ route, page, label }: { route: Route; page: string; label: string }) {
  const current = route.page === page || (page === "decisions" && route.page === "decision");
  return (
    <a href={`#/${page}`} aria-current={current ? "page" : undefined}>
      {label}
    </a>
  );
}

// The hash carries the page, so skipping to the content moves focus rather than navigating.
function skipToMain() {
  document.getElementById("main")?.focus();
}

const root = document.getElementById("app");
if (root) render(<App />, root);
