import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  createClient,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import {
  type ClassifyRequestSchema,
  type ClassifyResponse,
  type RouteRequestSchema,
  type RouteResponse,
  RouterService,
  type StreamRequestSchema,
  type StreamResponse,
} from "../../gen/switchyard/v1/router_pb.js";
import { type Decision, DecisionSchema } from "../../gen/switchyard/v1/types_pb.js";

export type SwitchyardProtocol = "grpc" | "connect" | "grpc-web";

export interface SwitchyardClients {
  router: Client<typeof RouterService>;
  admin: Client<typeof AdminService>;
  transport: Transport;
}

export interface SwitchyardConnection {
  /** "http://host:port" of the router listener. */
  baseUrl: string;
  protocol?: SwitchyardProtocol;
  httpVersion?: "1.1" | "2";
}

/**
 * Typed clients for a Switchyard server, e.g. `createSwitchyardClients({ baseUrl: "http://127.0.0.1:50051" })`.
 * gRPC needs HTTP/2 (h2c here); Connect and gRPC-Web default to HTTP/1.1, which is what most
 * proxies pass through.
 */
export function createSwitchyardClients(options: SwitchyardConnection): SwitchyardClients {
  const protocol = options.protocol ?? "grpc";
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: options.baseUrl })
      : protocol === "connect"
        ? createConnectTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "1.1" })
        : createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "1.1" });
  return {
    router: createClient(RouterService, transport),
    admin: createClient(AdminService, transport),
    transport,
  };
}

/**
 * The routing decision a failed call carries (every error raised after routing has one), or
 * undefined: lets a caller log which targets were tried and why they failed.
 */
export function decisionOf(error: unknown): Decision | undefined {
  return ConnectError.from(error).findDetails(DecisionSchema)[0];
}

/**
 * What every call of a SwitchyardClient throws: the gRPC status code, the server's message and,
 * when the call got as far as routing, the decision (targets tried and why each failed).
 * It is a ConnectError, so code that already catches those keeps working.
 */
export class SwitchyardError extends ConnectError {
  /** The `switchyard.v1.Decision` error detail, or undefined for errors raised before routing. */
  readonly decision: Decision | undefined;

  constructor(error: ConnectError) {
    super(error.rawMessage, error.code, error.metadata, undefined, error.cause);
    this.details = error.details;
    this.decision = this.findDetails(DecisionSchema)[0];
  }

  /** Wraps whatever a call threw (a cancelled call becomes Code.Canceled). */
  static wrap(reason: unknown): SwitchyardError {
    return reason instanceof SwitchyardError ? reason : new SwitchyardError(ConnectError.from(reason));
  }

  // ConnectError answers `instanceof` by shape, which every ConnectError matches; a
  // SwitchyardError is only what this class constructed.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(SwitchyardError, value);
  }
}

export interface SwitchyardClientOptions extends SwitchyardConnection {
  /** Sent as the request's `tenant` when the request names none. */
  tenant?: string;
  /**
   * The tenant's API key, sent as `authorization: Bearer <key>` on every call (a policy that
   * declares keys refuses calls without one). Use TLS to send it off the host.
   */
  apiKey?: string;
  /** Deadline of each call (a whole stream included) in milliseconds; default 60 000. */
  deadlineMs?: number;
}

/** Per call: a deadline replacing the client's, and a signal that cancels the call (and its upstream request). */
export interface SwitchyardCallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
}

export type RouteRequestInit = MessageInitShape<typeof RouteRequestSchema>;
export type StreamRequestInit = MessageInitShape<typeof StreamRequestSchema>;
export type ClassifyRequestInit = MessageInitShape<typeof ClassifyRequestSchema>;
/** One event of a stream, as `{ case, value }`: decision, delta, attempt, budget, and last done. */
export type StreamEvent = Exclude<StreamResponse["event"], { case: undefined }>;

export interface SwitchyardClient {
  /** Answers one request; throws SwitchyardError. */
  route(request: RouteRequestInit, options?: SwitchyardCallOptions): Promise<RouteResponse>;
  /**
   * Answers one request as events; the last is `done`, carrying the decision. Throws
   * SwitchyardError, also when the stream ends without `done` (it was cut short). Breaking out
   * of the loop cancels the call.
   */
  stream(request: StreamRequestInit, options?: SwitchyardCallOptions): AsyncGenerator<StreamEvent, void>;
  /** What the request is and where it would go (a dry run: nothing is sent); throws SwitchyardError. */
  classify(request: ClassifyRequestInit, options?: SwitchyardCallOptions): Promise<ClassifyResponse>;
  /** The underlying typed clients, for AdminService and anything the helper does not cover. */
  clients: SwitchyardClients;
}

const DEFAULT_DEADLINE_MS = 60_000;

/**
 * The helper clients/python and clients/go mirror: `createSwitchyardClient({ baseUrl, tenant, apiKey })`,
 * then `route`, `stream`, `classify`.
 */
export function createSwitchyardClient(options: SwitchyardClientOptions): SwitchyardClient {
  const clients = createSwitchyardClients(options);
  const { router } = clients;
  const tenant = options.tenant ?? "";
  const callOptions = (call: SwitchyardCallOptions | undefined): CallOptions => ({
    timeoutMs: call?.deadlineMs ?? options.deadlineMs ?? DEFAULT_DEADLINE_MS,
    ...(call?.signal && { signal: call.signal }),
    ...(options.apiKey && { headers: { authorization: `Bearer ${options.apiKey}` } }),
  });
  // Spread, not mutate: the caller's request object may be reused for another tenant.
  const withTenant = <R extends { tenant?: string }>(request: R): R =>
    request.tenant ? request : { ...request, tenant };

  return {
    clients,
    async route(request, call) {
      try {
        return await router.route(withTenant(request), callOptions(call));
      } catch (error) {
        throw SwitchyardError.wrap(error);
      }
    },
    async *stream(request, call) {
      let done = false;
      try {
        for await (const response of router.stream(withTenant(request), callOptions(call))) {
          if (response.event.case === undefined) continue;
          done ||= response.event.case === "done";
          yield response.event;
        }
      } catch (error) {
        throw SwitchyardError.wrap(error);
      }
      if (!done)
        throw new SwitchyardError(new ConnectError("the stream ended without its done event", Code.Internal));
    },
    async classify(request, call) {
      try {
        return await router.classify(withTenant(request), callOptions(call));
      } catch (error) {
        throw SwitchyardError.wrap(error);
      }
    },
  };
}
