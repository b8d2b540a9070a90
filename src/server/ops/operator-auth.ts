import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Requires `authorization: Bearer <token>` on every call of `service` (the operator plane). */
export function requireOperatorToken(service: string, token: string): Interceptor {
  return (next) => async (request) => {
    if (request.service.typeName !== service) return next(request);
    if (!presentsOperatorToken(request.header.get("authorization") ?? undefined, token))
      throw new ConnectError(
        "an operator token is required: send authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>",
        Code.Unauthenticated,
      );
    return next(request);
  };
}

/**
 * Whether an `authorization` header value is `Bearer <token>`. Compared in constant time over
 * digests, so neither the token nor its length leaks by timing.
 */
export function presentsOperatorToken(authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/i.exec(authorization ?? "")?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
