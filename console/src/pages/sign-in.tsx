import { useState } from "preact/hooks";
import type { Problem } from "../api.js";

/** Asks for the operator token; the caller keeps it (sessionStorage) and checks it. */
export function SignIn({ problem, onSignIn }: { problem: Problem; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  return (
    <section class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p class="problem" role="alert">
        {problem.text}
      </p>
      <p class="muted">
        Enter the operator token the server was started with (<code>SWITCHYARD_ADMIN_TOKEN</code>). It is kept
        in this tab only and sent to AdminService with each call.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (token !== "") onSignIn(token);
        }}
      >
        <label for="token">Operator token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
        />
        <button type="submit">Sign in</button>
      </form>
    </section>
  );
}
