import { isIP } from "node:net";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health } from "../../gen/health/v1/health_pb.js";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import type { Environment } from "../config/env.js";
import type { PolicyStore } from "../config/policy-store.js";
import type { TargetHealth } from "../health/target-health.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { DecisionLog } from "../record/decision-log.js";
import type { StateStore } from "../state/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { createTracing, type Tracing } from "../telemetry/tracing.js";
import { createOpenAiDoor } from "./openai/openai-door.js";
import { type AdminDeps, createAdminService, type ReloadHistory } from "./ops/admin-service.js";
import { createConsoleDoor } from "./ops/console-door.js";
import { createHealthService, createHealthState, type HealthState } from "./ops/health-service.js";
import { createMetricsDoor } from "./ops/metrics-door.js";
import { identifyAdminCaller } from "./ops/operator-auth.js";
import { createReflectionServices } from "./ops/reflection-service.js";
import { rpcDoor } from "./rpc/error-interceptor.js";
import { createRouterService } from "./rpc/router-service.js";
import { joinDoors } from "./transport/http-door.js";
import { type Listener, startListener } from "./transport/listener.js";
import { checkLimits, DEFAULT_LIMITS, type ServerLimits } from "./transport/server-limits.js";

export interface ServerDeps {
  pipeline: Pipeline;
  policies: PolicyStore;
  decisions: DecisionLog;
  reloads: ReloadHistory;
  /** Target health (breakers, cooling, drills), shown and drilled through AdminService. */
  health: TargetHealth;
  /** Served as `/metrics` on the operator listener. */
  metrics: Metrics;
  /** The shared counters (budgets, limits), read by AdminService GetUsage. */
  store: StateStore;
  /** The server's environment, which ReplayPolicy's candidate policies read. */
  env: () => Environment;
  logger: Logger;
  /** Opens every call's span; the global tracer's (exporting only when configured) when not given. */
  tracing?: Tracing;
}

/** What the operator listener answers from: AdminService, `/metrics`, the console under `/console/`. */
export interface OperatorDeps extends AdminDeps {
  metrics: Pick<Metrics, "render">;
  logger: Logger;
  /** Where the console's built files are; the package's dist/console when not given. */
  consoleDir?: string;
}

/**
 * The operator plane: AdminService (and health and reflection, for the same tools). Bound to
 * loopback unless `token` is set, which every AdminService call must then present as
 * `authorization: Bearer <token>`.
 */
export interface OperatorOptions {
  host: string;
  port: number;
  token?: string;
}

export interface ServerOptions {
  /** The data plane: RouterService, health, reflection. */
  host: string;
  port: number;
  /**
   * The operator listener; none when absent (a `serve --workers N` worker, whose primary serves
   * the operator plane for all of them). A tenant's API key is taken there too, for reads of
   * that tenant's own records only.
   */
  operator?: OperatorOptions;
  limits?: Partial<ServerLimits>;
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  /** Undefined when no operator listener was asked for. */
  readonly operatorPort: number | undefined;
  readonly operatorHost: string | undefined;
  readonly health: HealthState;
  /**
   * Graceful stop of both listeners: health goes NOT_SERVING, new calls are refused with
   * UNAVAILABLE, calls in flight get `drainTimeoutMs` to finish, then the rest are cancelled.
   */
  drain(): Promise<void>;
}

/** The operator listener alone (the primary of `serve --workers N` serves it for its workers). */
export interface OperatorServer {
  readonly port: number;
  readonly host: string;
  readonly health: HealthState;
  /** As RunningServer's: NOT_SERVING, then the listener drains. */
  drain(): Promise<void>;
}

/** Thrown at startup for an operator listener that would expose AdminService without a credential. */
export class OperatorExposedError extends Error {
  override readonly name = "OperatorExposedError";
}

export async function startServer(deps: ServerDeps, options: ServerOptions): Promise<RunningServer> {
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  const { operator } = options;
  if (operator) checkOperatorExposure(operator);
  const health = createHealthState([RouterService.typeName, AdminService.typeName]);
  // Each listener's reflection lists what that listener serves: no tool sees a method it cannot call there.
  const routerReflection = createReflectionServices([RouterService, Health, ReflectionV1, ReflectionV1alpha]);
  const healthService = createHealthService(health);
  const tracing = deps.tracing ?? createTracing();

  const router = await startListener({
    name: "router",
    host: options.host,
    port: options.port,
    limits,
    logger: deps.logger,
    boundedServices: [RouterService.typeName],
    interceptors: [rpcDoor(RouterService.typeName, deps.logger, tracing)],
    door: createOpenAiDoor(
      { pipeline: deps.pipeline, policies: deps.policies, logger: deps.logger, tracing },
      limits,
    ),
    routes(routes) {
      routes.service(RouterService, createRouterService({ pipeline: deps.pipeline }));
      routes.service(Health, healthService);
      routes.service(ReflectionV1, routerReflection.v1);
      routes.service(ReflectionV1alpha, routerReflection.v1alpha);
    },
  });
  let operatorListener: Listener | undefined;
  try {
    operatorListener =
      operator &&
      (await startOperatorListener(
        {
          policies: deps.policies,
          decisions: deps.decisions,
          reloads: deps.reloads,
          health: deps.health,
          metrics: deps.metrics,
          logger: deps.logger,
          store: deps.store,
          env: deps.env,
        },
        operator,
        limits,
        healthService,
      ));
  } catch (error) {
    await router.drain();
    throw error;
  }

  let drained: Promise<void> | undefined;
  return {
    port: router.port,
    host: router.host,
    operatorPort: operatorListener?.port,
    operatorHost: operatorListener?.host,
    health,
    drain() {
      drained ??= (async () => {
        health.setServing(false);
        await Promise.all([router.drain(), operatorListener?.drain()]);
      })();
      return drained;
    },
  };
}

/** The operator listener on its own, answering from `deps` (see OperatorServer). */
export async function startOperatorServer(
  deps: OperatorDeps,
  options: OperatorOptions & { limits?: Partial<ServerLimits> },
): Promise<OperatorServer> {
  const limits = checkLimits({ ...DEFAULT_LIMITS, ...options.limits });
  checkOperatorExposure(options);
  const health = createHealthState([RouterService.typeName, AdminService.typeName]);
  const listener = await startOperatorListener(deps, options, limits, createHealthService(health));
  let drained: Promise<void> | undefined;
  return {
    port: listener.port,
    host: listener.host,
    health,
    drain() {
      drained ??= (async () => {
        health.setServing(false);
        await listener.drain();
      })();
      return drained;
    },
  };
}

function checkOperatorExposure(operator: OperatorOptions): void {
  if (
    operator.token !== undefined &&
    (operator.token.length < 16 || operator.token.trim() !== operator.token)
  )
    throw new OperatorExposedError(
      "the operator token (SWITCHYARD_ADMIN_TOKEN) must be at least 16 characters, with no surrounding whitespace",
    );
  if (!operator.token && !isLoopback(operator.host))
    throw new OperatorExposedError(
      `the operator listener may bind ${operator.host} only with an operator token (set SWITCHYARD_ADMIN_TOKEN), or bind it to loopback`,
    );
}

function startOperatorListener(
  deps: OperatorDeps,
  operator: OperatorOptions,
  limits: ServerLimits,
  healthService: ServiceImpl<typeof Health>,
): Promise<Listener> {
  const operatorReflection = createReflectionServices([
    AdminService,
    Health,
    ReflectionV1,
    ReflectionV1alpha,
  ]);
  return startListener({
    name: "operator",
    host: operator.host,
    port: operator.port,
    limits,
    logger: deps.logger,
    boundedServices: [AdminService.typeName],
    interceptors: [identifyAdminCaller(AdminService.typeName, operator.token, deps.policies)],
    door: joinDoors([createMetricsDoor(deps.metrics, operator.token), createConsoleDoor(deps.consoleDir)]),
    routes(routes) {
      routes.service(
        AdminService,
        createAdminService({
          policies: deps.policies,
          decisions: deps.decisions,
          reloads: deps.reloads,
          health: deps.health,
          logger: deps.logger.child({ component: "admin" }),
          store: deps.store,
          env: deps.env,
        }),
      );
      routes.service(Health, healthService);
      routes.service(ReflectionV1, operatorReflection.v1);
      routes.service(ReflectionV1alpha, operatorReflection.v1alpha);
    },
  });
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "[::1]";
}
