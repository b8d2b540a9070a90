import { Code, type ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Span } from "@opentelemetry/api";
import type { Logger } from "pino";
import { endCallSpan, type Tracing } from "../../telemetry/tracing.js";
import { CALL_IDENTITY, identifyCall } from "./call-identity.js";
import { toConnectError } from "./connect-errors.js";

/**
 * The RPC door's wrapper around every call of `service`: gives the call its identity (trace id,
 * call id, span; handlers read it from the context values), turns whatever the call throws, also
 * midway through a response stream, into a ConnectError through the one error table, and ends
 * the call's span with the status the caller got.
 */
export function rpcDoor(service: string, logger: Logger, tracing: Tracing): Interceptor {
  return (next) => async (request) => {
    if (request.service.typeName !== service) return next(request);
    const identity = identifyCall(
      tracing,
      `${request.service.typeName}/${request.method.name}`,
      (name) => request.header.get(name) ?? undefined,
      { "rpc.service": request.service.typeName, "rpc.method": request.method.name },
    );
    request.contextValues.set(CALL_IDENTITY, identity);
    try {
      const response = await next(request);
      if (!response.stream) {
        endSpan(identity.span);
        return response;
      }
      return {
        ...response,
        message: mapStreamErrors(response.message, identity.traceId, identity.span, request.signal, logger),
      };
    } catch (error) {
      const status = toConnectError(error, logger, identity.traceId, request.signal);
      endSpan(identity.span, error, status);
      throw status;
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
  span: Span,
  signal: AbortSignal,
  logger: Logger,
): AsyncIterable<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let failure: { error: unknown; status: ConnectError } | undefined;
  try {
    for (;;) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        failure = { error, status: toConnectError(error, logger, traceId, signal) };
        throw failure.status;
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // A caller that stopped reading leaves the pipeline's accounting steps to run in `return`.
    try {
      await iterator.return?.();
    } finally {
      endSpan(span, failure?.error, failure?.status);
    }
  }
}

/** gRPC codes that are the server's fault, as the OpenTelemetry RPC conventions count them. */
const SERVER_FAULTS = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

function endSpan(span: Span, error?: unknown, status?: ConnectError): void {
  const code: number = status?.code ?? 0;
  endCallSpan(span, {
    attributes: { "rpc.grpc.status_code": code },
    ...(status && {
      error: {
        type: error instanceof Error ? error.name : typeof error,
        description: Code[code] ?? String(code),
        serverFault: SERVER_FAULTS.has(code as Code),
      },
    }),
  });
}
