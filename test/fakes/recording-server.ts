import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One request as a fake provider saw it. Fields marked live are updated as the connection progresses. */
export interface RecordedRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  /** Path including the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as sent. */
  rawBody: string;
  /** The parsed JSON body; undefined when the body was not JSON. */
  body: unknown;
  /**
   * Which TCP connection carried it (1-based, in accept order, never reused, not reset by `reset()`);
   * equal ids mean a reused connection.
   */
  connectionId: number;
  /** performance.now() when the body had been read. */
  receivedAt: number;
  /** Live: performance.now() when the response was completely written. */
  responseEndedAt?: number;
  /** Live: performance.now() when the TCP connection carrying this request closed. */
  socketClosedAt?: number;
  /** Live: true when the connection closed before the response was completely written (the client went away). */
  closedBeforeResponseEnd: boolean;
  /** Resolves when the TCP connection carrying this request closes. Never rejects. */
  socketClosed: Promise<void>;
}

/** The plumbing every fake provider shares: a loopback HTTP server that records what it is sent. */
export interface RecordingServer<R extends RecordedRequest> {
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: R[];
  /** TCP connections accepted since start or the last `reset()`. */
  readonly connectionCount: number;
  /** TCP connections open right now. */
  readonly openConnections: number;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<R[]>;
  /** Forgets recorded requests and zeroes the connection count. */
  reset(): void;
  /** Destroys every open connection and stops listening. */
  close(): Promise<void>;
}

interface Connection {
  id: number;
  closedAt?: number;
  closed: Promise<void>;
}

/**
 * Starts a recording server on 127.0.0.1 and a random free port. Each request's body is read
 * whole, recorded (with what `extra` adds for this wire), then handed to `respond`; whatever
 * `respond` throws destroys the response. `name` says whose fake it is in timeout messages.
 */
export async function startRecordingServer<R extends RecordedRequest>(options: {
  name: string;
  extra?: (request: IncomingMessage, raw: Buffer, body: unknown) => Omit<R, keyof RecordedRequest>;
  respond(recorded: R, request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}): Promise<RecordingServer<R>> {
  const requests: R[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Map<Socket, Connection>();
  let connectionCount = 0;
  let lastConnectionId = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      res.destroy();
    });
  });
  server.on("connection", (socket: Socket) => {
    connectionCount += 1;
    lastConnectionId += 1;
    let markClosed!: () => void;
    const entry: Connection = {
      id: lastConnectionId,
      closed: new Promise<void>((resolve) => {
        markClosed = resolve;
      }),
    };
    sockets.set(socket, entry);
    socket.once("close", () => {
      entry.closedAt = performance.now();
      sockets.delete(socket);
      markClosed();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on("error", () => {});
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const rawBody = raw.toString("utf8");
    let body: unknown;
    try {
      body = rawBody === "" ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const connection = sockets.get(req.socket);
    const recorded = {
      index: requests.length,
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      rawBody,
      body,
      connectionId: connection?.id ?? 0,
      receivedAt: performance.now(),
      closedBeforeResponseEnd: false,
      socketClosed: connection?.closed ?? Promise.resolve(),
      ...options.extra?.(req, raw, body),
    } as R;
    void connection?.closed.then(() => {
      recorded.socketClosedAt = connection.closedAt;
    });
    res.on("close", () => {
      if (!res.writableFinished) recorded.closedBeforeResponseEnd = true;
    });
    res.on("finish", () => {
      recorded.responseEndedAt = performance.now();
    });
    requests.push(recorded);
    for (const wake of [...waiters]) wake();
    await options.respond(recorded, req, res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    get openConnections() {
      return sockets.size;
    },
    waitForRequests(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (requests.length < count) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(requests.slice(0, count));
          return true;
        };
        const wake = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(
              `${options.name}: ${requests.length} of ${count} requests arrived within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      });
    },
    reset() {
      requests.length = 0;
      connectionCount = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
