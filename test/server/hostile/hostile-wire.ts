import { connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/health/v1/health_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../../gen/switchyard/v1/types_pb.js";
import type { TestSwitchyard } from "../../helpers/switchyard.js";

/** Wire-level clients for the hostile front-door tests: what well-behaved clients never send. */

/** A normal Route call and a health Check both succeed, over a fresh gRPC connection. */
export async function expectStillServing(switchyard: TestSwitchyard): Promise<void> {
  const sessions = new Http2SessionManager(switchyard.baseUrl);
  try {
    const transport = createGrpcTransport({ baseUrl: switchyard.baseUrl, sessionManager: sessions });
    const answer = await createClient(RouterService, transport).route(
      { messages: [{ role: Role.USER, content: "still there?" }] },
      { timeoutMs: 5000 },
    );
    expect(answer.message?.content).toContain("still there?");
    const health = await createClient(Health, transport).check({ service: "" }, { timeoutMs: 5000 });
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  } finally {
    sessions.abort();
  }
}

/** A gRPC length-prefixed message (flags 1 = compressed). */
export function grpcFrame(message: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export interface RawResponse {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** RST_STREAM code when the server reset the stream. */
  rstCode?: number;
  elapsedMs: number;
}

/** grpc-status from trailers, or from headers for a trailers-only response. */
export function grpcStatus(response: RawResponse): number | undefined {
  const value = response.trailers["grpc-status"] ?? response.headers["grpc-status"];
  return value === undefined ? undefined : Number(value);
}

/**
 * One HTTP/2 request with exactly the given headers and body, on its own connection. `body` may
 * be a function writing to the stream itself (it must end or reset it, or the call runs until
 * the server gives up).
 */
export function http2Request(
  baseUrl: string,
  headers: Record<string, string>,
  body: Uint8Array | ((stream: NodeJS.WritableStream) => void),
): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const session = connectHttp2(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ...headers });
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => {
      responseHeaders = received;
    });
    stream.on("trailers", (received) => {
      trailers = received;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => {
      resolve({
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(chunks),
        ...(stream.rstCode !== undefined && stream.rstCode !== 0 && { rstCode: stream.rstCode }),
        elapsedMs: performance.now() - started,
      });
      session.destroy();
    });
    if (typeof body === "function") body(stream);
    else stream.end(body);
  });
}

/** A TCP connection to the server, recording what it receives and when it closes. */
export interface RawConnection {
  socket: Socket;
  received(): Buffer;
  /** Resolves with the ms from connecting to the server closing the connection. */
  closed: Promise<number>;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = connectTcp(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const opened = performance.now();
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => resolve(performance.now() - opened)),
  );
  return { socket, received: () => Buffer.concat(chunks), closed };
}

/** Rejects if `promise` has not settled within `ms`. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- HTTP/2 frames by hand, for what node's client will not send ---

export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  GOAWAY: 7,
  CONTINUATION: 9,
} as const;
export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;

export function http2Frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
) {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** RFC 7541 §5.1 integer with an N-bit prefix. */
function hpackInteger(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const bytes = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** HPACK header block of literal fields without indexing (RFC 7541 §6.2.2), no Huffman. */
export function hpackBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => [
      Buffer.from([0]),
      hpackInteger(name.length, 7, 0),
      Buffer.from(name, "latin1"),
      hpackInteger(value.length, 7, 0),
      Buffer.from(value, "latin1"),
    ]),
  );
}

/** HEADERS then CONTINUATION frames of at most 16 KiB (the default SETTINGS_MAX_FRAME_SIZE). */
export function headersFrames(streamId: number, block: Buffer, endStream: boolean): Buffer {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < block.length || offset === 0; offset += 16_384) {
    const piece = block.subarray(offset, offset + 16_384);
    const last = offset + 16_384 >= block.length;
    const first = offset === 0;
    const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
    frames.push(http2Frame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, piece));
  }
  return Buffer.concat(frames);
}

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits what an HTTP/2 server sent into frames (incomplete trailing bytes are ignored). */
export function parseFrames(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset + 9 <= bytes.length) {
    const length = bytes.readUIntBE(offset, 3);
    if (offset + 9 + length > bytes.length) break;
    frames.push({
      type: bytes[offset + 3] ?? 0,
      flags: bytes[offset + 4] ?? 0,
      streamId: bytes.readUInt32BE(offset + 5) & 0x7fff_ffff,
      payload: bytes.subarray(offset + 9, offset + 9 + length),
    });
    offset += 9 + length;
  }
  return frames;
}
