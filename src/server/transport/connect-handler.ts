import type { IncomingMessage, ServerResponse } from "node:http";
import { type Http2ServerRequest, type Http2ServerResponse, constants as http2Constants } from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import { uResponseNotFound } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * connect-node's `connectNodeAdapter`, with one difference: a response that cannot be delivered
 * (the caller reset the stream, closed the connection, or was cut for not reading) is logged
 * through our logger at debug level, once, as a JSON line. The library prints it with
 * console.error as a plain multi-line stack, among the JSON logs, for every caller that leaves
 * mid-answer. Routing, protocol handling and writing are the library's own (exported) pieces.
 */
export function createConnectHandler(
  options: ConnectRouterOptions & {
    routes(router: ConnectRouter): void;
    contextValues(request: NodeRequest): ContextValues;
    logger: Logger;
  },
): ConnectHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  const streaming = new Set(
    router.handlers
      .filter((handler) => handler.method.methodKind !== "unary")
      .map((handler) => handler.requestPath),
  );
  const handle = (request: NodeRequest, response: NodeResponse): void => {
    const handler = handlers.get(request.url?.split("?", 2)[0] ?? "");
    if (!handler) {
      (response as ServerResponse).writeHead(uResponseNotFound.status).end();
      return;
    }
    const universal = universalRequestFromNodeRequest(
      request,
      response,
      undefined,
      options.contextValues(request),
    );
    handler(universal)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((reason: unknown) => {
        const error = ConnectError.from(reason);
        const rpc = `${handler.service.typeName}/${handler.method.name}`;
        // The caller went away (or was cut for not reading): nobody is there to answer.
        if (request.destroyed || response.destroyed || response.writableEnded) {
          if (error.code !== Code.Aborted)
            options.logger.debug(
              { rpc, code: Code[error.code] },
              "response not delivered: the caller went away",
            );
          return;
        }
        // Writing the answer itself failed with the caller still there: end the call rather than
        // leave it open forever, and say so (a bug to fix, not a caller's doing).
        options.logger.error({ rpc, err: reason }, "could not write the response; the call is reset");
        if ("stream" in request) request.stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
        else response.destroy();
      });
  };
  return { handle, isStreaming: (path) => streaming.has(path.split("?", 2)[0] ?? "") };
}

export interface ConnectHandler {
  handle(request: NodeRequest, response: NodeResponse): void;
  /** Whether `path` is a method that answers with a stream (and so can stall on a slow reader). */
  isStreaming(path: string): boolean;
}
