import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

const MALFORMED_STREAM = /^protocol error: (missing input message|received extra input message)/;

/**
 * A streaming request with no message (e.g. a Connect envelope with only the end-stream flag set)
 * or with more than one for a server-streaming method is a malformed request. connect reports
 * both as UNIMPLEMENTED, which tells a client the method does not exist; this makes them
 * INVALID_ARGUMENT, as the protocol error they are.
 */
export const malformedStreamsAreInvalid: Interceptor = (next) => (request) =>
  // Only a streaming request can carry no message or several; a unary call passes straight through.
  request.stream ? next(request).catch(refuseMalformed) : next(request);

function refuseMalformed(error: unknown): never {
  if (
    error instanceof ConnectError &&
    error.code === Code.Unimplemented &&
    MALFORMED_STREAM.test(error.rawMessage)
  )
    throw new ConnectError(
      `${error.rawMessage}: a request carries exactly one message`,
      Code.InvalidArgument,
    );
  throw error;
}
