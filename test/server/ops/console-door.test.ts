import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request as http1Request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsoleDoor } from "../../../src/server/ops/console-door.js";
import type { DoorCall, NodeRequest, NodeResponse } from "../../../src/server/transport/http-door.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  // The path goes out as written (a URL would resolve its dot segments before sending).
  const [, origin = "", path = "/"] = /^(http:\/\/[^/]+)(\/.*)?$/.exec(url) ?? [];
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    http1Request({ hostname, port, path, headers, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
    })
      .on("error", reject)
      .end();
  });
}

/** The door alone, over a plain HTTP server, on a directory the test writes. */
describe("the console door", () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "console-door-"));
    dir = join(root, "console");
    await mkdir(join(dir, "assets"), { recursive: true });
    await writeFile(join(dir, "index.html"), "<!doctype html><title>console</title>");
    await writeFile(
      join(dir, "assets", "main-ABCD1234.js"),
      `console.log(${JSON.stringify("x".repeat(4000))});`,
    );
    await writeFile(join(dir, "assets", "main-ABCD1234.css"), "body{}");
    await writeFile(join(root, "secret.txt"), "outside the console");
    const door = createConsoleDoor(dir);
    server = createServer((request, response) => {
      const path = request.url?.split("?", 1)[0] ?? "";
      if (!door.handles(path)) {
        response.writeHead(418).end();
        return;
      }
      const call: DoorCall = {
        path,
        enter: () => () => {},
        shutdown: new AbortController().signal,
        watchStall: () => new AbortController().signal,
      };
      door.handle(request as NodeRequest, response as NodeResponse, call);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  it("answers only /console and what is under /console/", async () => {
    expect((await get(`${base}/consoles`)).status).toBe(418);
    expect((await get(`${base}/metrics`)).status).toBe(418);
    const bare = await get(`${base}/console`);
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe("/console/");
  });

  it("serves index.html for /console/, revalidated on every load, with a strict content security policy", async () => {
    const index = await get(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["cache-control"]).toBe("no-cache");
    expect(index.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(index.headers["content-security-policy"]).toContain("connect-src 'self'");
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    expect(index.body.toString()).toContain("<title>console</title>");
    const again = await get(`${base}/console/index.html`, { "if-none-match": String(index.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it("serves hashed assets with their content type, cached for a year, gzipped when asked", async () => {
    const script = await get(`${base}/console/assets/main-ABCD1234.js`, { "accept-encoding": "gzip, br" });
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(script.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(script.body).toString()).toContain("console.log");
    const plain = await get(`${base}/console/assets/main-ABCD1234.js`);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toContain("console.log");
    const style = await get(`${base}/console/assets/main-ABCD1234.css`);
    expect(style.headers["content-type"]).toBe("text/css; charset=utf-8");
    const head = await get(`${base}/console/assets/main-ABCD1234.css`, {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it("answers 404 for anything else, and never reads outside its directory", async () => {
    for (const path of [
      "/console/nope.js",
      "/console/assets/",
      "/console/../secret.txt",
      "/console/%2e%2e/secret.txt",
      "/console/assets/..%2f..%2fsecret.txt",
      "/console//index.html",
      "/console/./index.html",
    ]) {
      const answer = await get(`${base}${path}`);
      expect(answer.status, path).toBe(404);
      expect(answer.body.toString(), path).not.toContain("outside the console");
    }
  });

  it("refuses methods other than GET and HEAD", async () => {
    const answer = await get(`${base}/console/`, {}, "POST");
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("GET, HEAD");
  });

  it("says the console is not built when its directory is missing", async () => {
    const door = createConsoleDoor(join(dir, "missing"));
    const missing = createServer((request, response) =>
      door.handle(request as NodeRequest, response as NodeResponse, {
        path: request.url ?? "",
        enter: () => () => {},
        shutdown: new AbortController().signal,
        watchStall: () => new AbortController().signal,
      }),
    );
    await new Promise<void>((resolve) => missing.listen(0, "127.0.0.1", resolve));
    const answer = await get(`http://127.0.0.1:${(missing.address() as AddressInfo).port}/console/`);
    await new Promise((resolve) => missing.close(resolve));
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toContain("npm run build");
  });
});

describe("the console on the operator listener", () => {
  let service: TestSwitchyard | undefined;
  afterAll(async () => {
    await service?.stop();
  });

  it("serves the built console beside /metrics, without the operator token (the data needs it)", async () => {
    service = await startTestSwitchyard(MINIMAL_POLICY, { operatorToken: "operator-token-0123456789" });
    const index = await get(`${service.operatorUrl}/console/`);
    expect(index.status).toBe(200);
    const html = index.body.toString();
    const script = /src="(assets\/main-[^"]+\.js)"/.exec(html)?.[1];
    const style = /href="(assets\/[^"]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    expect((await get(`${service.operatorUrl}/console/${script}`)).status).toBe(200);
    expect((await get(`${service.operatorUrl}/console/${style}`)).status).toBe(200);
    expect((await get(`${service.operatorUrl}/metrics`)).status).toBe(401);
    // The router listener serves no console.
    expect((await get(`${service.baseUrl}/console/`)).status).not.toBe(200);
  });
});
