import { Agent } from "undici";
import type { HttpProviderSettings } from "./http-settings.js";

/**
 * How long undici waits for response headers, and between two reads of a body, before failing the
 * call as a timeout. The pipeline's budgets, delivered through the call's signal, are the real
 * clocks; this only bounds a call nobody is watching, and must not cut off a reasoning model that
 * thinks silently for minutes before its first token.
 */
export const IDLE_LIMIT_MS = 10 * 60 * 1000;

/**
 * The keep-alive connection pool of one provider: at most `settings.maxConnections` sockets to its
 * origin, each given `settings.connectTimeoutMs` to connect (TCP, and TLS for https), reused across
 * calls. `idleLimitMs` overrides {@link IDLE_LIMIT_MS} (tests). Destroying the Agent closes every
 * socket and fails the requests on them.
 */
export function createKeepAlivePool(
  settings: Pick<HttpProviderSettings, "maxConnections" | "connectTimeoutMs">,
  options: { idleLimitMs?: number } = {},
): Agent {
  const idleLimitMs = options.idleLimitMs ?? IDLE_LIMIT_MS;
  return new Agent({
    connections: settings.maxConnections,
    connect: { timeout: settings.connectTimeoutMs },
    headersTimeout: idleLimitMs,
    bodyTimeout: idleLimitMs,
  });
}
