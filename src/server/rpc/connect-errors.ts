import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { DecisionSchema, QuotaExceededSchema } from "../../../gen/switchyard/v1/types_pb.js";
import {
  AllTargetsFailedError,
  DecidedError,
  InvalidRequestError,
  NoEligibleTargetError,
  NoRouteError,
  PolicyDeniedError,
  QuotaExceededError,
  StateUnavailableError,
  StreamInterruptedError,
  TenantDeniedError,
  UnauthenticatedError,
} from "../../core/errors.js";
import type { ErrorClass } from "../../core/types.js";
import { toDecision } from "./from-domain.js";

/** How the last upstream failure surfaces to our caller. */
const CODE_FOR_UPSTREAM_FAILURE: Record<ErrorClass, Code> = {
  connect: Code.Unavailable,
  timeout: Code.DeadlineExceeded,
  rate_limited: Code.ResourceExhausted,
  server: Code.Unavailable,
  overloaded: Code.Unavailable,
  protocol: Code.Unavailable,
  // The provider found the request itself unusable: the caller must change it.
  invalid_request: Code.InvalidArgument,
  context_length: Code.InvalidArgument,
  content_refused: Code.FailedPrecondition,
  policy: Code.PermissionDenied,
  // Our credentials, not the caller's: nothing the caller can fix.
  auth: Code.Internal,
  cancelled: Code.Canceled,
};

/**
 * The one place domain errors become gRPC statuses. Errors taken after a decision carry it as
 * a `switchyard.v1.Decision` error detail, so a failed call still says what was tried. Anything
 * unexpected leaves as Internal with a generic message and is logged once here.
 *
 * `callSignal` is the call's own signal: when a failure was classed `cancelled` because it
 * aborted, its reason says why (DEADLINE_EXCEEDED for a passed deadline, UNAVAILABLE for a
 * shutdown, CANCELED for a caller that went away), and that code is the one to report.
 */
export function toConnectError(
  error: unknown,
  logger: Logger,
  traceId: string,
  callSignal: AbortSignal,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof UnauthenticatedError) {
    // The challenge says how to authenticate, as an HTTP 401 would (RFC 6750).
    const metadata = new Headers();
    if (error.scheme) metadata.set("www-authenticate", `${error.scheme} realm="switchyard"`);
    return new ConnectError(error.message, Code.Unauthenticated, metadata);
  }
  if (error instanceof TenantDeniedError) return new ConnectError(error.message, Code.PermissionDenied);
  if (error instanceof InvalidRequestError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof NoRouteError) return new ConnectError(error.message, Code.FailedPrecondition);
  if (error instanceof StateUnavailableError) return new ConnectError(error.message, Code.Unavailable);
  if (error instanceof DecidedError) {
    const details = [{ desc: DecisionSchema, value: toDecision(error.decision) }];
    if (error instanceof NoEligibleTargetError)
      return new ConnectError(error.message, Code.FailedPrecondition, undefined, details);
    if (error instanceof PolicyDeniedError)
      return new ConnectError(error.message, Code.PermissionDenied, undefined, details);
    if (error instanceof QuotaExceededError) {
      const metadata = new Headers({ "retry-after-ms": String(Math.ceil(error.quota.retryAfterMs)) });
      const { limit, kind, tenant, user, max, used, retryAfterMs } = error.quota;
      return new ConnectError(error.message, Code.ResourceExhausted, metadata, [
        ...details,
        {
          desc: QuotaExceededSchema,
          value: { limit, kind, tenant, user: user ?? "", max, used, retryAfterMs: Math.ceil(retryAfterMs) },
        },
      ]);
    }
    if (error instanceof AllTargetsFailedError) {
      const metadata = new Headers();
      if (error.retryAfterMs !== undefined)
        metadata.set("retry-after-ms", String(Math.ceil(error.retryAfterMs)));
      return new ConnectError(error.message, codeFor(error.lastErrorClass, callSignal), metadata, details);
    }
    if (error instanceof StreamInterruptedError)
      return new ConnectError(error.message, codeFor(error.errorClass, callSignal), undefined, details);
  }
  logger.error({ err: error, traceId }, "unexpected error");
  return new ConnectError(`internal error (trace id ${traceId})`, Code.Internal);
}

function codeFor(errorClass: ErrorClass, callSignal: AbortSignal): Code {
  if (errorClass === "cancelled" && callSignal.aborted && callSignal.reason instanceof ConnectError)
    return callSignal.reason.code;
  return CODE_FOR_UPSTREAM_FAILURE[errorClass];
}
