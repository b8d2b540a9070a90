import type { Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import type { StreamResponse } from "../../gen/switchyard/v1/router_pb.js";
import { type Decision, Role } from "../../gen/switchyard/v1/types_pb.js";

/** Every protocol / HTTP version / codec combination connect-node's client transports offer. */
export const TRANSPORT_KINDS = [
  "gRPC over h2c (binary)",
  "gRPC over h2c (JSON)",
  "gRPC-Web over HTTP/1.1",
  "gRPC-Web over h2c",
  "Connect over HTTP/1.1 (JSON)",
  "Connect over HTTP/1.1 (binary)",
  "Connect over h2c (JSON)",
] as const;
export type TransportKind = (typeof TRANSPORT_KINDS)[number];

export interface TransportSet {
  get(kind: TransportKind): Transport;
  /** Closes the HTTP/2 connections these transports opened. */
  close(): void;
}

/**
 * Client transports against `baseUrl`, built on first use. HTTP/2 ones get their own session
 * manager so `close()` can drop their connections when a suite ends.
 */
export function createTransports(baseUrl: string): TransportSet {
  const managers: Http2SessionManager[] = [];
  const built = new Map<TransportKind, Transport>();
  const session = () => {
    const manager = new Http2SessionManager(baseUrl);
    managers.push(manager);
    return manager;
  };
  const build = (kind: TransportKind): Transport => {
    switch (kind) {
      case "gRPC over h2c (binary)":
        return createGrpcTransport({ baseUrl, sessionManager: session() });
      case "gRPC over h2c (JSON)":
        return createGrpcTransport({ baseUrl, useBinaryFormat: false, sessionManager: session() });
      case "gRPC-Web over HTTP/1.1":
        return createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
      case "gRPC-Web over h2c":
        return createGrpcWebTransport({ baseUrl, httpVersion: "2", sessionManager: session() });
      case "Connect over HTTP/1.1 (JSON)":
        return createConnectTransport({ baseUrl, httpVersion: "1.1" });
      case "Connect over HTTP/1.1 (binary)":
        return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true });
      case "Connect over h2c (JSON)":
        return createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: session() });
      default:
        return kind satisfies never;
    }
  };
  return {
    get(kind) {
      let transport = built.get(kind);
      if (!transport) {
        transport = build(kind);
        built.set(kind, transport);
      }
      return transport;
    },
    close() {
      for (const manager of managers) manager.abort();
    },
  };
}

/** The fields every router request shares, for a one-message conversation. */
export function userRequest(content: string, extra: { task?: string; dataClass?: string } = {}) {
  return {
    messages: [{ role: Role.USER, content }],
    task: extra.task ?? "",
    dataClass: extra.dataClass ?? "",
  };
}

/** The case of each stream event, e.g. ["decision", "attempt", "budget", "delta", …, "done"]. */
export function eventCases(events: StreamResponse[]): Array<string | undefined> {
  return events.map((event) => event.event.case);
}

/** The decision a stream opens with; throws when the stream opened with anything else. */
export function openingDecision(events: StreamResponse[]): Decision {
  const first = events[0]?.event;
  if (first?.case !== "decision") throw new Error(`the stream opened with ${first?.case ?? "nothing"}`);
  return first.value;
}

/** A W3C traceparent carrying `traceId`. */
export function traceparent(traceId: string): string {
  return `00-${traceId}-00f067aa0ba902b7-01`;
}

export const TRACE_ID = /^[0-9a-f]{32}$/;
