import { Code, ConnectError } from "@connectrpc/connect";
import { labelProblem } from "../../config/schema.js";
import type { Whose } from "../../record/decision-log.js";
import { DEFAULT_REQUEST_LIMITS } from "../request-limits.js";

/**
 * Who calls AdminService: the operator sees and does everything; a tenant (authenticated by one
 * of its API keys) only reads its own records (DESIGN invariant 9).
 */
export type AdminCaller = { kind: "operator" } | { kind: "tenant"; tenant: string };

/**
 * The scope of a read: which tenant's records `caller` may see when it asks for `requested`
 * (empty: it names none). The operator gets what it asked for (undefined: every tenant); a
 * tenant gets its own, and PERMISSION_DENIED for naming another. Records found by id are then
 * checked with `mayRead`. Every read uses it: GetDecision, ListDecisions, GetUsage, GetSpend.
 */
export function readScope(caller: AdminCaller, requested: string): { tenant?: string } {
  if (caller.kind === "operator") return requested === "" ? {} : { tenant: requested };
  if (requested !== "" && requested !== caller.tenant)
    throw new ConnectError(
      `tenant: this caller is authenticated as tenant "${caller.tenant}" and may read only its own records`,
      Code.PermissionDenied,
    );
  return { tenant: caller.tenant };
}

/**
 * `scope` narrowed to one user's records when `user` names one (empty: every user's). A user is
 * one tenant's, so naming one needs a tenant in scope (a tenant's key has its own); INVALID_ARGUMENT
 * otherwise, or for a user no call could have named (not one line of printable text, or longer
 * than the front doors take).
 */
export function userScope(scope: { tenant?: string }, user: string): Whose {
  if (user === "") return scope;
  const { maxIdentifierChars } = DEFAULT_REQUEST_LIMITS;
  if (user.length > maxIdentifierChars)
    throw new ConnectError(`user: longer than ${maxIdentifierChars} characters`, Code.InvalidArgument);
  const problem = labelProblem(user);
  if (problem) throw new ConnectError(`user: ${problem}`, Code.InvalidArgument);
  if (scope.tenant === undefined)
    throw new ConnectError("user: needs tenant (a user is one tenant's)", Code.InvalidArgument);
  return { tenant: scope.tenant, user };
}

/**
 * Whether `caller` may see a record of `tenant`. A record it may not see is answered exactly as
 * one that does not exist (NOT_FOUND), so ids cannot be probed for other tenants' calls.
 */
export function mayRead(caller: AdminCaller, tenant: string): boolean {
  return caller.kind === "operator" || caller.tenant === tenant;
}

/** Refuses a method only the operator may call (mutations, the policy, the fleet) to a tenant. */
export function requireOperator(caller: AdminCaller, method: string): void {
  if (caller.kind !== "operator")
    throw new ConnectError(
      `${method} needs the operator token; a tenant's key reads only its own decisions`,
      Code.PermissionDenied,
    );
}
