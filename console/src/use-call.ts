import { useCallback, useLayoutEffect, useState } from "preact/hooks";
import { type Problem, problemOf } from "./api.js";

export interface CallState<T> {
  data: T | undefined;
  problem: Problem | undefined;
  loading: boolean;
  /** Calls again (after an action, or the Refresh button). */
  reload(): void;
}

/**
 * Runs `call` when `key` changes and on `reload`; reports a refused credential to `onSignIn`
 * (the page then asks for the token) and any other failure as `problem`.
 */
export function useCall<T>(
  call: (signal: AbortSignal) => Promise<T>,
  key: string,
  onSignIn: (problem: Problem) => void,
): CallState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  // `key` names what `call` depends on; `call` itself is a new closure on every render. A layout
  // effect runs as soon as the page is rendered, where useEffect would wait for the next frame to
  // be painted (tens of ms on a busy machine): the call goes out that much sooner.
  useLayoutEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    call(abort.signal).then(
      (value) => {
        if (abort.signal.aborted) return;
        setData(value);
        setProblem(undefined);
        setLoading(false);
      },
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const found = problemOf(error);
        if (found.signIn) onSignIn(found);
        setProblem(found);
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { data, problem, loading, reload };
}
