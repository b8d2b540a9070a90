/** The page is in the URL's hash, so links, reloads and the back button work with static files. */
export type Route =
  | { page: "decisions"; query: URLSearchParams }
  | { page: "decision"; callId: string }
  | { page: "targets" }
  | { page: "policy" }
  | { page: "spend"; query: URLSearchParams }
  | { page: "replay" };

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [page = "", id = ""] = path.split("/");
  switch (page) {
    case "targets":
      return { page: "targets" };
    case "policy":
      return { page: "policy" };
    case "spend":
      return { page: "spend", query: new URLSearchParams(search) };
    case "replay":
      return { page: "replay" };
    case "decisions":
      return id
        ? { page: "decision", callId: decodeURIComponent(id) }
        : { page: "decisions", query: new URLSearchParams(search) };
    default:
      return { page: "decisions", query: new URLSearchParams() };
  }
}

export function decisionHref(callId: string): string {
  return `#/decisions/${encodeURIComponent(callId)}`;
}

export function decisionsHref(query: Record<string, string>): string {
  const search = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== "")).toString();
  return search ? `#/decisions?${search}` : "#/decisions";
}

export function spendHref(query: Record<string, string>): string {
  const search = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== "")).toString();
  return search ? `#/spend?${search}` : "#/spend";
}
