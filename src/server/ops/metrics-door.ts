import type { ServerResponse } from "node:http";
import type { Metrics } from "../../telemetry/metrics.js";
import type { HttpDoor } from "../transport/http-door.js";
import { presentsOperatorToken } from "./operator-auth.js";

/**
 * `GET /metrics` on the operator listener, for Prometheus. With an operator token set, a scrape
 * must present it (`authorization: Bearer …`, Prometheus's `authorization` scrape setting), as
 * AdminService calls must: the operator plane needs an operator credential (DESIGN invariant 9).
 */
export function createMetricsDoor(metrics: Pick<Metrics, "render">, token: string | undefined): HttpDoor {
  return {
    handles: (path) => path === "/metrics",
    handle(request, nodeResponse) {
      const response = nodeResponse as ServerResponse;
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET", "content-type": "text/plain" }).end("GET only\n");
        return;
      }
      const header = request.headers.authorization;
      if (
        token !== undefined &&
        !presentsOperatorToken(typeof header === "string" ? header : undefined, token)
      ) {
        response
          .writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" })
          .end("an operator token is required: authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>\n");
        return;
      }
      metrics.render().then(
        ({ text, contentType }) => {
          if (response.destroyed) return;
          response.writeHead(200, {
            "content-type": contentType,
            "content-length": String(Buffer.byteLength(text)),
          });
          response.end(request.method === "HEAD" ? undefined : text);
        },
        () => {
          if (!response.headersSent)
            response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
        },
      );
    },
  };
}
