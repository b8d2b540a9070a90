import { type Client, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { type Decision, DecisionSchema } from "../../gen/switchyard/v1/types_pb.js";

export type SwitchyardProtocol = "grpc" | "connect" | "grpc-web";

export interface SwitchyardClients {
  router: Client<typeof RouterService>;
  admin: Client<typeof AdminService>;
  transport: Transport;
}

/**
 * Typed clients for a Switchyard server, e.g. `createSwitchyardClients({ baseUrl: "http://127.0.0.1:50051" })`.
 * gRPC needs HTTP/2 (h2c here); Connect and gRPC-Web default to HTTP/1.1, which is what most
 * proxies pass through.
 */
export function createSwitchyardClients(options: {
  baseUrl: string;
  protocol?: SwitchyardProtocol;
  httpVersion?: "1.1" | "2";
}): SwitchyardClients {
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
