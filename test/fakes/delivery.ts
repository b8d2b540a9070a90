import type { ServerResponse } from "node:http";

/** How the bytes of a fake provider's response go out: what every fake's scripts share. */
export interface Delivery {
  /** Wait this long before sending the status line (slow first byte). */
  firstByteDelayMs?: number;
  /**
   * Cut the whole body into pieces of this many bytes, ignoring frame and UTF-8 character
   * boundaries. Overrides the gap between tokens.
   */
  splitEvery?: number;
  /** Cut the whole body at these byte offsets. Overrides the gap between tokens. */
  splitAt?: number[];
  /** Pause between split pieces so they reach the client as separate reads. Default 1 ms. */
  pieceDelayMs?: number;
  /** Extra or overriding response headers. */
  headers?: Record<string, string>;
}

/** Content types whose bodies go out chunked, as the providers stream them. */
const STREAMED = /^(?:text\/event-stream|application\/x-ndjson|application\/vnd\.amazon\.eventstream)/;

/**
 * Writes the status, headers and body pieces. With `splitEvery`/`splitAt` the concatenated body is
 * re-cut at those byte offsets; otherwise each piece is one write, `gapMs` apart. `end`: finish
 * the response, keep it open until the client leaves (`hang`), or reset the socket (`drop`).
 */
export async function deliver(
  res: ServerResponse,
  delivery: Delivery,
  status: number,
  headers: Record<string, string>,
  pieces: (string | Uint8Array)[],
  end: "end" | "hang" | "drop",
  gapMs = 0,
): Promise<void> {
  if (delivery.firstByteDelayMs !== undefined) await pause(res, delivery.firstByteDelayMs);
  if (res.destroyed) return;

  let writes: Uint8Array[] = pieces.map((piece) =>
    typeof piece === "string" ? Buffer.from(piece, "utf8") : piece,
  );
  let delay = gapMs;
  if (delivery.splitEvery !== undefined || delivery.splitAt !== undefined) {
    const whole = Buffer.concat(writes);
    const offsets = [...(delivery.splitAt ?? [])];
    if (delivery.splitAt === undefined) {
      const size = Math.max(1, delivery.splitEvery ?? 1);
      for (let offset = size; offset < whole.length; offset += size) offsets.push(offset);
    }
    writes = cutAt(whole, offsets);
    delay = delivery.pieceDelayMs ?? 1;
  }

  const streaming = STREAMED.test(headers["content-type"] ?? "") || end !== "end";
  if (!streaming) headers["content-length"] = String(writes.reduce((n, write) => n + write.length, 0));
  res.writeHead(status, headers);
  res.flushHeaders();
  for (const [index, piece] of writes.entries()) {
    if (index > 0 && delay > 0) await pause(res, delay);
    if (res.destroyed) return;
    res.write(piece);
  }
  if (end === "hang") {
    await new Promise<void>((resolve) => {
      if (res.destroyed) resolve();
      else res.once("close", () => resolve());
    });
    return;
  }
  if (end === "drop") {
    // Let the written bytes leave before the reset.
    await pause(res, 5);
    res.socket?.destroy();
    return;
  }
  res.end();
}

function cutAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const sorted = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const offset of sorted) {
    parts.push(bytes.subarray(start, offset));
    start = offset;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

/** Resolves after `ms`, or as soon as the response closes. */
export function pause(res: ServerResponse, ms: number): Promise<void> {
  if (ms <= 0 || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.once("close", done);
  });
}
