import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { HttpDoor } from "../transport/http-door.js";

/**
 * The operator console's static files under `/console/` on the operator listener: the bundle
 * `npm run build` writes to dist/console (console/build.mjs). The files are public on purpose:
 * they are the same code as the repository and hold no data; every piece of data the page shows
 * comes from AdminService, which the page calls with the operator token it asks for
 * (`authorization: Bearer`), and which refuses it without one exactly as it refuses any client.
 * Gating the files too would need a cookie (and CSRF defences for it) or a Basic-auth prompt,
 * since a browser cannot attach a bearer token to a page load.
 *
 * Only the files found in `dir` when the first request comes are served, from memory, by their
 * exact name: no path from a request ever reaches the file system, so `..`, encoded or not,
 * finds nothing (404). Names under `assets/` carry a content hash: cached for a year,
 * immutable; everything else (index.html) is revalidated on every load (ETag, 304).
 */
export function createConsoleDoor(dir: string = consoleAssetsDir()): HttpDoor {
  let files: Promise<Map<string, ConsoleFile>> | undefined;
  return {
    handles: (path) => path === PREFIX.slice(0, -1) || path.startsWith(PREFIX),
    handle(request, nodeResponse, call) {
      const response = nodeResponse as ServerResponse;
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("GET only\n");
        return;
      }
      if (call.path === PREFIX.slice(0, -1)) {
        response.writeHead(308, { location: PREFIX, "content-type": "text/plain" }).end("see /console/\n");
        return;
      }
      const leave = call.enter();
      if (!leave) {
        response.writeHead(503, { "content-type": "text/plain" }).end("the server is shutting down\n");
        return;
      }
      response.once("close", leave);
      files ??= loadFiles(dir);
      files.then(
        (found) => {
          if (response.destroyed) return;
          if (found.size === 0) {
            notFound(response, "the console is not built: `npm run build` writes it to dist/console\n");
            return;
          }
          const name = call.path.slice(PREFIX.length) || "index.html";
          const file = found.get(name);
          if (!file) {
            notFound(response, "no such file in the console\n");
            return;
          }
          serve(request.headers, request.method === "HEAD", file, response);
        },
        () => {
          files = undefined;
          if (!response.headersSent)
            response
              .writeHead(500, { "content-type": "text/plain" })
              .end("the console files are unreadable\n");
        },
      );
    },
  };
}

const PREFIX = "/console/";

/**
 * dist/console of the package this module belongs to, found from the nearest package.json up
 * from here: the same place whether this runs compiled (dist/src/server/ops) or from source.
 */
export function consoleAssetsDir(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, "package.json"))) {
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  return join(directory, "dist", "console");
}

interface ConsoleFile {
  body: Buffer;
  gzipped: Buffer | undefined;
  headers: Record<string, string>;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

// The page loads only its own script and style and talks only to its own origin (AdminService).
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async function loadFiles(dir: string): Promise<Map<string, ConsoleFile>> {
  const files = new Map<string, ConsoleFile>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = relative(dir, path).split(sep).join("/");
    const body = await readFile(path);
    const type = CONTENT_TYPES[extname(name)] ?? "application/octet-stream";
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length >= 1024;
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    files.set(name, {
      body,
      gzipped: compressible ? gzipSync(body) : undefined,
      etag,
      headers: {
        "content-type": type,
        "cache-control": name.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
        etag,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        ...(type.startsWith("text/html") && {
          "content-security-policy": CONTENT_SECURITY_POLICY,
          "x-frame-options": "DENY",
        }),
        ...(compressible && { vary: "accept-encoding" }),
      },
    });
  }
  return files;
}

function serve(
  requestHeaders: Record<string, string | string[] | undefined>,
  head: boolean,
  file: ConsoleFile,
  response: ServerResponse,
): void {
  const ifNoneMatch = requestHeaders["if-none-match"];
  if (typeof ifNoneMatch === "string" && ifNoneMatch.split(/\s*,\s*/).includes(file.etag)) {
    response.writeHead(304, file.headers).end();
    return;
  }
  const acceptEncoding = requestHeaders["accept-encoding"];
  const gzip = file.gzipped && typeof acceptEncoding === "string" && /\bgzip\b/.test(acceptEncoding);
  const body = gzip && file.gzipped ? file.gzipped : file.body;
  response.writeHead(200, {
    ...file.headers,
    ...(gzip && { "content-encoding": "gzip" }),
    "content-length": String(body.length),
  });
  response.end(head ? undefined : body);
}

function notFound(response: ServerResponse, text: string): void {
  response.writeHead(404, { "content-type": "text/plain", "x-content-type-options": "nosniff" }).end(text);
}
