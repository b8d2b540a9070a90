// Serves the prepared provider streams of bench/wire-bodies.mjs for bench/adapters.mjs: plain
// node:http, keep-alive. Any POST whose path starts with /<kind>/<n>/ (the adapters append their
// own endpoint: /v1/chat/completions, /v1/messages, /v1beta/models/…:streamGenerateContent,
// /model/…/converse-stream, /api/chat) is answered 200 with that kind's content type and its text
// answer of n chunks, each event its own HTTP chunk, all written at once (corked): the server
// waits for nothing, so the client's reading is what is measured. Bodies are built once per
// (kind, n). Signatures and keys are not checked. Prints "wire-server listening on 127.0.0.1:PORT".
//
//   node bench/wire-server.mjs [--port N]
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { CONTENT_TYPES, KINDS, wireEvents } from "./wire-bodies.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });
const bodies = new Map();
let served = 0;

function eventsFor(kind, n) {
  const key = `${kind}/${n}`;
  let events = bodies.get(key);
  if (events === undefined) {
    events = wireEvents(kind, n);
    bodies.set(key, events);
  }
  return events;
}

const server = createServer((req, res) => {
  const [, kind = "", count = ""] = (req.url ?? "").split("/");
  const n = Number(count);
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ served }));
    return;
  }
  req.resume();
  req.once("end", () => {
    if (req.method !== "POST" || !KINDS.includes(kind) || !(Number.isInteger(n) && n >= 1)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"POST /<kind>/<n>/… expected"}');
      return;
    }
    served += 1;
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[kind],
      ...(kind === "bedrock" && { "x-amzn-requestid": "00000000-0000-0000-0000-000000000000" }),
    });
    res.cork();
    for (const event of eventsFor(kind, n)) res.write(event);
    res.uncork();
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`wire-server listening on 127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
});
