// The floor: a bare connect-node unary handler, no Switchyard code. `RouterService.Route` (same
// request decoding as Switchyard) answers a fixed RouteResponse, served by connectNodeAdapter over
// http2.createServer (h2c). Prints "bare listening on 127.0.0.1:PORT" when ready.
//
//   node bench/bare-server.mjs [--port N]      (needs `npm run build`: imports dist/gen)
import { createServer } from "node:http2";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { RouteResponseSchema, RouterService } from "../dist/gen/switchyard/v1/router_pb.js";
import { FinishReason, Role } from "../dist/gen/switchyard/v1/types_pb.js";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });

const FIXED = create(RouteResponseSchema, {
  message: { role: Role.ASSISTANT, content: "Hello from the bare connect-node handler." },
  finishReason: FinishReason.STOP,
  usage: { inputTokens: 5, outputTokens: 7 },
});

const handler = connectNodeAdapter({
  routes(router) {
    router.service(RouterService, {
      route: () => FIXED,
      stream: async function* () {},
      classify: () => ({}),
    });
  },
});
const server = createServer(handler);
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(`bare listening on 127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => process.exit(0));
