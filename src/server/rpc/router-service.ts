import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import type { CallContext } from "../../core/types.js";
import type { Pipeline } from "../../pipeline/pipeline.js";
import { checkRequestLimits } from "../request-limits.js";
import { CALLER_STALLED } from "../transport/write-stall.js";
import { CALL_IDENTITY } from "./call-identity.js";
import { callSignal } from "./call-signal.js";
import { toClassifyResponse, toRouteResponse, toStreamResponse } from "./from-domain.js";
import { type RouterRequest, toLlmRequest } from "./to-domain.js";

export interface RouterDeps {
  pipeline: Pipeline;
}

/**
 * Handlers only map in, call the core, map out. Errors leave through the RPC door's interceptor
 * (error-interceptor.ts), which also gave the call its identity.
 */
export function createRouterService(deps: RouterDeps): ServiceImpl<typeof RouterService> {
  const toDomain = (request: RouterRequest) => {
    const mapped = toLlmRequest(request);
    checkRequestLimits(mapped);
    return mapped;
  };
  return {
    async route(request, context) {
      return toRouteResponse(await deps.pipeline.route(toDomain(request), callFrom(context)));
    },
    async *stream(request, context) {
      // A stream is the one answer a caller can stop reading midway: that cuts it too.
      const call = callFrom(context, context.values.get(CALLER_STALLED));
      for await (const event of deps.pipeline.stream(toDomain(request), call)) yield toStreamResponse(event);
    },
    async classify(request, context) {
      return toClassifyResponse(await deps.pipeline.classify(toDomain(request), callFrom(context)));
    },
  };
}

/** The trace and call ids are echoed in `x-trace-id` and `x-call-id` so a caller can find the decision even on failure. */
function callFrom(context: HandlerContext, stalled?: AbortSignal): CallContext {
  const identity = context.values.get(CALL_IDENTITY);
  if (!identity) throw new Error("RouterService served without the RPC door's interceptor");
  context.responseHeader.set("x-trace-id", identity.traceId);
  context.responseHeader.set("x-call-id", identity.callId);
  const timeoutMs = context.timeoutMs();
  const deadline =
    timeoutMs === undefined ? undefined : { at: performance.now() + timeoutMs, now: () => performance.now() };
  return {
    signal: callSignal(context.signal, stalled, deadline),
    ...identity,
    // Read by the identify step, under the policy in force for this call.
    caller: { kind: "remote", header: (name) => context.requestHeader.get(name) ?? undefined },
    // On the pipeline's clock (systemClock is performance.now()).
    ...(deadline && { deadline: deadline.at }),
  };
}
