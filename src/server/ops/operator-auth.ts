import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import type { PolicyStore } from "../../config/policy-store.js";
import { bearerCredential, credentialDigest, findByDigest, sameDigest } from "../../core/credentials.js";
import type { AdminCaller } from "./admin-scope.js";

/** Set by `identifyAdminCaller` on every AdminService call; AdminService refuses calls without it. */
export const ADMIN_CALLER = createContextKey<AdminCaller | undefined>(undefined, {
  description: "switchyard AdminService caller",
});

/**
 * Establishes who calls `service` (AdminService) on the operator listener: the operator (the
 * operator token, or anyone when the listener has no token, which it then binds to loopback
 * only), or a tenant (one of its API keys, read from the policy in force, so a reload adds or
 * revokes one at once), whose reads AdminService scopes to its own records (admin-scope.ts).
 * With a token set, anything else is UNAUTHENTICATED.
 */
export function identifyAdminCaller(
  service: string,
  token: string | undefined,
  policies: PolicyStore,
): Interceptor {
  const tokenDigest = token === undefined ? undefined : credentialDigest(token);
  return (next) => async (request) => {
    if (request.service.typeName !== service) return next(request);
    const presented = bearerCredential(request.header.get("authorization") ?? undefined);
    let caller: AdminCaller | undefined;
    if (presented !== undefined && tokenDigest && sameDigest(credentialDigest(presented), tokenDigest))
      caller = { kind: "operator" };
    else {
      const key = presented === undefined ? undefined : findByDigest(presented, policies.current().auth.keys);
      if (key) caller = { kind: "tenant", tenant: key.tenant };
      else if (!tokenDigest) caller = { kind: "operator" };
    }
    if (!caller)
      throw new ConnectError(
        "an operator token or a tenant API key is required: send authorization: Bearer <SWITCHYARD_ADMIN_TOKEN or key>",
        Code.Unauthenticated,
        new Headers({ "www-authenticate": 'Bearer realm="switchyard"' }),
      );
    request.contextValues.set(ADMIN_CALLER, caller);
    return next(request);
  };
}

/**
 * Whether an `authorization` header value is `Bearer <token>`. Compared in constant time over
 * digests, so neither the token nor its length leaks by timing.
 */
export function presentsOperatorToken(authorization: string | undefined, token: string): boolean {
  const presented = bearerCredential(authorization);
  return presented !== undefined && sameDigest(credentialDigest(presented), credentialDigest(token));
}
