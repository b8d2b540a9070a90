import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import type { PolicyStore } from "../config/policy-store.js";
import type { Pipeline } from "../core/pipeline.js";
import type { DecisionLog } from "../record/decision-log.js";
import { createAdminService } from "./ops/admin-service.js";
import { createHealthService, createHealthState, type HealthState } from "./ops/health-service.js";
import { createReflectionServices } from "./ops/reflection-service.js";
import { checkRequestLimits } from "./request-limits.js";
import { createRouterService } from "./rpc/router-service.js";
import type { RouterRequest } from "./rpc/to-domain.js";
import { startListener } from "./transport/listener.js";
import { checkLimits, DEFAULT_LIMITS, type ServerLimits } from "./transport/server-limits.js";

export interface ServerDeps {
  pipeline: Pipeline;
  policies: PolicyStore;
  decisions: DecisionLog;
  logger: Logger;
}

export interface ServerOptions {
  host: string;
  port: number;
  limits?: Partial<ServerLimits>;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  readonly health: HealthState;
  /**
   * Graceful stop: health goes NOT_SERVING, new calls are refused with UNAVAILABLE, calls in
   * flight get `drainTimeoutMs` to finish, then the rest are cancelled.
   */
  drain(): Promise<void>;
}

export async function startServer(deps: ServerDeps, options: ServerOptions): Promise<RunningServer> {
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const health = createHealthState([RouterService.typeName, AdminService.typeName]);
  const reflection = createReflectionServices([
    RouterService,
    AdminService,
    Health,
    ReflectionV1,
    ReflectionV1alpha,
  ]);

  const router = await startListener({
    name: "router",
    host: options.host,
    port: options.port,
    limits,
    logger: deps.logger,
    boundedServices: [RouterService.typeName, AdminService.typeName],
    interceptors: [requestLimitsGate],
    routes(routes) {
      routes.service(RouterService, createRouterService({ pipeline: deps.pipeline, logger: deps.logger }));
      routes.service(
        AdminService,
        createAdminService({ policies: deps.policies, decisions: deps.decisions }),
      );
      routes.service(Health, createHealthService(health));
      routes.service(ReflectionV1, reflection.v1);
      routes.service(ReflectionV1alpha, reflection.v1alpha);
    },
  });

  let drained: Promise<void> | undefined;
  return {
    port: router.port,
    host: router.host,
    health,
    drain() {
      drained ??= (async () => {
        health.setServing(false);
        await router.drain();
      })();
      return drained;
    },
  };
}

/** Per-field bounds of request-limits.ts, for every RouterService call, before the handler maps it. */
const requestLimitsGate: Interceptor = (next) => async (request) => {
  if (request.service.typeName !== RouterService.typeName) return next(request);
  if (!request.stream) {
    checkRequestLimits(request.message as RouterRequest);
    return next(request);
  }
  return next({ ...request, message: checkEach(request.message) });
};

/** Checks each request message of a streaming call as connect reads it. */
async function* checkEach<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  for await (const message of messages) {
    checkRequestLimits(message as RouterRequest);
    yield message;
  }
}
