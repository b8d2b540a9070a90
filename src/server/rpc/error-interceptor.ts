import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { CALL_IDENTITY, identifyCall } from "./call-identity.js";
import { toConnectError } from "./connect-errors.js";

/**
 * The RPC door's wrapper around every call of `service`: gives the call its identity (trace id,
 * call id; handlers read it from the context values) and turns whatever the call throws, also
 * midway through a response stream, into a ConnectError through the one error table.
 */
export function rpcDoor(service: string, logger: Logger): Interceptor {
  return (next) => async (request) => {
    if (request.service.typeName !== service) return next(request);
    const identity = identifyCall(request.header.get("traceparent"));
    request.contextValues.set(CALL_IDENTITY, identity);
    try {
      const response = await next(request);
      if (!response.stream) return response;
      return {
        ...response,
        message: mapStreamErrors(response.message, identity.traceId, request.signal, logger),
      };
    } catch (error) {
      throw toConnectError(error, logger, identity.traceId, request.signal);
    }
  };
}

/**
 * Maps what the call throws while streaming. What the transport throws back in (a write to a
 * caller that has gone) is passed on untouched: it is not the call's failure, and no one is
 * there to receive an error anyway.
 */
async function* mapStreamErrors<T>(
  messages: AsyncIterable<T>,
  traceId: string,
  signal: AbortSignal,
  logger: Logger,
): AsyncIterable<T> {
  const iterator = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw toConnectError(error, logger, traceId, signal);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
