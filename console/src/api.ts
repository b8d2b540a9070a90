import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";

/**
 * AdminService from the browser: the generated client over the Connect protocol, to the origin
 * that served the page (the operator listener). The operator token the user signs in with is kept
 * in sessionStorage (this tab only, gone when it closes) and sent as `authorization: Bearer` on
 * every call; nothing else carries it (no cookie, so no request the page did not make has it).
 */
export type Admin = Client<typeof AdminService>;

const TOKEN_KEY = "switchyard.operatorToken";

export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

const bearer: Interceptor = (next) => (request) => {
  const token = storedToken();
  if (token !== undefined) request.header.set("authorization", `Bearer ${token}`);
  return next(request);
};

export const admin: Admin = createClient(
  AdminService,
  createConnectTransport({
    baseUrl: new URL("/", location.href).href,
    interceptors: [bearer],
    // A stuck server shows as an error on the page, not a page that waits forever.
    defaultTimeoutMs: 15_000,
  }),
);

/** What went wrong with a call, as the page says it. */
export interface Problem {
  /** The credential is missing, refused, or not the operator's: sign in again. */
  signIn: boolean;
  text: string;
}

export function problemOf(error: unknown): Problem {
  const connect = ConnectError.from(error);
  switch (connect.code) {
    case Code.Unauthenticated:
      return {
        signIn: true,
        text:
          storedToken() === undefined
            ? "The operator token is required to use the console."
            : "The operator token was refused.",
      };
    case Code.PermissionDenied:
      return { signIn: true, text: `This credential is not the operator's: ${connect.rawMessage}` };
    case Code.Unavailable:
      return { signIn: false, text: `The server is unavailable (${connect.rawMessage}). Try again.` };
    default:
      return { signIn: false, text: connect.rawMessage || String(error) };
  }
}
