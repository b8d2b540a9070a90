import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

const MALFORMED_STREAM = /^protocol error: (missing input message|received extra input message)/;

/**
 * A streaming request with no message (e.g. a Connect envelope with only the end-stream flag set)
 * or with more than one for a server-streaming method is a malformed request. connect reports
 * both as UNIMPLEMENTED, which tells a client the method does not exist; this makes them
 * INVALID_ARGUMENT, as the protocol error they are.
 */
export const malformedStreamsAreInvalid: Interceptor = (next) => async (request) => {
  try {
    return await next(request);
  } catch (error) {
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
};
