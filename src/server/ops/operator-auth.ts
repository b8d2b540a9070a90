import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Requires `authorization: Bearer <token>` on every call of `service` (the operator plane).
 * Compared in constant time over digests, so neither the token nor its length leaks by timing.
 */
export function requireOperatorToken(service: string, token: string): Interceptor {
  const expected = digest(token);
  return (next) => async (request) => {
    if (request.service.typeName !== service) return next(request);
    const presented = /^Bearer (.+)$/i.exec(request.header.get("authorization") ?? "")?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), expected))
      throw new ConnectError(
        "an operator token is required: send authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>",
        Code.Unauthenticated,
      );
    return next(request);
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
