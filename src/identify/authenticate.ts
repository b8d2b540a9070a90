import { bearerCredential, findByDigest } from "../core/credentials.js";
import { UnauthenticatedError } from "../core/errors.js";
import type { AuthPolicy } from "../core/policy.js";
import type { Caller } from "../core/types.js";

/** What a tenant's name may be (the policy's identifiers), for a name a proxy's header carries. */
const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/;

/** A remote caller that presented nothing: what a call context without a caller stands for. */
export const NOTHING_PRESENTED: Caller = { kind: "remote", header: () => undefined };

/**
 * The tenant `caller` proves it is under `auth`, or undefined when nothing is to be proven
 * (`auth.mode` none, or an in-process caller): then the request's own `tenant` stands.
 *
 * keys: `authorization: Bearer <key>` must be one of the policy's keys, compared as SHA-256
 * digests in constant time. identity_header: the header the operator trusts must name a tenant;
 * with any other mode that header is not read at all, so a caller cannot claim a tenant by
 * sending it. Throws UnauthenticatedError, whose message never echoes what was presented.
 */
export function authenticatedTenant(caller: Caller, auth: AuthPolicy): string | undefined {
  if (caller.kind === "in-process" || auth.mode === "none") return undefined;
  if (auth.mode === "identity_header") {
    const identity = auth.identityHeader === undefined ? undefined : caller.header(auth.identityHeader);
    if (identity === undefined || identity === "")
      throw new UnauthenticatedError(
        "no caller identity: this router takes the tenant from its proxy's identity header, which the call did not carry",
      );
    // Sent twice, it arrives joined ("a, b"), which names no tenant.
    if (!TENANT_NAME.test(identity))
      throw new UnauthenticatedError("the proxy's identity header does not name a tenant");
    return identity;
  }
  const authorization = caller.header("authorization");
  if (authorization === undefined || authorization === "")
    throw new UnauthenticatedError(
      "a tenant API key is required: send authorization: Bearer <key>",
      "Bearer",
    );
  const key = bearerCredential(authorization);
  const found = key === undefined ? undefined : findByDigest(key, auth.keys);
  if (!found)
    throw new UnauthenticatedError(
      key === undefined
        ? "the authorization header must be Bearer <key>"
        : "the API key presented is not valid (it may have been revoked)",
      "Bearer",
    );
  return found.tenant;
}
