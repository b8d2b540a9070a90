import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import type { Pipeline } from "../../core/pipeline.js";
import type { CallContext } from "../../core/types.js";
import { traceIdFrom } from "../../telemetry/trace-context.js";
import { toConnectError } from "./connect-errors.js";
import { toClassifyResponse, toRouteResponse, toStreamResponse } from "./from-domain.js";
import { toLlmRequest } from "./to-domain.js";

export interface RouterDeps {
  pipeline: Pipeline;
  logger: Logger;
}

/** Handlers only map in, call the core, map out; errors leave through toConnectError. */
export function createRouterService(deps: RouterDeps): ServiceImpl<typeof RouterService> {
  return {
    async route(request, context) {
      const call = callFrom(context);
      try {
        return toRouteResponse(await deps.pipeline.route(toLlmRequest(request), call));
      } catch (error) {
        throw toConnectError(error, deps.logger, call.traceId, context.signal);
      }
    },
    async *stream(request, context) {
      const call = callFrom(context);
      try {
        for await (const event of deps.pipeline.stream(toLlmRequest(request), call))
          yield toStreamResponse(event);
      } catch (error) {
        throw toConnectError(error, deps.logger, call.traceId, context.signal);
      }
    },
    async classify(request, context) {
      const call = callFrom(context);
      try {
        return toClassifyResponse(deps.pipeline.classify(toLlmRequest(request), call));
      } catch (error) {
        throw toConnectError(error, deps.logger, call.traceId, context.signal);
      }
    },
  };
}

/** The trace id is echoed in `x-trace-id` so a caller can find the decision even on failure. */
function callFrom(context: HandlerContext): CallContext {
  const traceId = traceIdFrom(context.requestHeader.get("traceparent"));
  context.responseHeader.set("x-trace-id", traceId);
  return { signal: context.signal, traceId };
}
