import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, DecisionSchema, ErrorClass } from "../../../gen/switchyard/v1/types_pb.js";
import { collect, rejectionOf } from "../../helpers/async.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY } from "../../helpers/policies.js";
import { createTransports, type TransportKind, userRequest } from "../../helpers/rpc.js";
import { startTestSwitchyard } from "../../helpers/switchyard.js";

const frontDoor = useFrontDoor();

const HUNG = userRequest("anyone there?", { task: "hang" });
/** Well above the 200 ms deadline, well below a hang: "promptly". */
const PROMPTLY_MS = 1500;

const KINDS: TransportKind[] = [
  "gRPC over h2c (binary)",
  "gRPC-Web over HTTP/1.1",
  "Connect over HTTP/1.1 (JSON)",
  "Connect over h2c (JSON)",
];

/** The deadline header of each protocol, sent by hand so only the server enforces it. */
function deadlineHeader(kind: TransportKind, ms: number): Record<string, string> {
  return kind.startsWith("Connect") ? { "connect-timeout-ms": String(ms) } : { "grpc-timeout": `${ms}m` };
}

describe.each(KINDS)("deadlines over %s", (kind) => {
  const client = () => createClient(RouterService, frontDoor.transports.get(kind));

  it("a Route to a hung upstream with timeoutMs 200 fails DEADLINE_EXCEEDED promptly", async () => {
    const started = performance.now();
    const error = ConnectError.from(await rejectionOf(() => client().route(HUNG, { timeoutMs: 200 })));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(PROMPTLY_MS);
  });

  it("the server itself answers DEADLINE_EXCEEDED, with the decision, when the deadline passes", async () => {
    const started = performance.now();
    const error = ConnectError.from(
      await rejectionOf(() =>
        // No client-side timer: the safety signal is far later than the deadline sent.
        client().route(HUNG, { headers: deadlineHeader(kind, 200), signal: AbortSignal.timeout(5000) }),
      ),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(PROMPTLY_MS);
    const [decision] = error.findDetails(DecisionSchema);
    expect(decision?.route).toBe("hang");
    expect(decision?.attempts).toEqual([
      expect.objectContaining({
        target: "hung/forever",
        outcome: AttemptOutcome.CANCELLED,
        errorClass: ErrorClass.CANCELLED,
      }),
    ]);
  });

  it("a Stream to a hung upstream fails DEADLINE_EXCEEDED promptly", async () => {
    const started = performance.now();
    const error = ConnectError.from(
      await rejectionOf(() =>
        collect(
          client().stream(HUNG, { headers: deadlineHeader(kind, 200), signal: AbortSignal.timeout(5000) }),
        ),
      ),
    );
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(performance.now() - started).toBeLessThan(PROMPTLY_MS);
  });
});

describe("deadlines beyond the server's maximum", () => {
  it("are lowered rather than turned into an instant DEADLINE_EXCEEDED", async () => {
    const client = createClient(RouterService, frontDoor.transports.get("gRPC over h2c (binary)"));
    // ~11,000 years: handed to setTimeout unbounded it would fire at once.
    const response = await client.route(userRequest("hello"), { headers: { "grpc-timeout": "99999999H" } });
    expect(response.message?.content).toBe(LOCAL_REPLY);
  });
});

describe("a call that sends no deadline", () => {
  it("gets the server's maximum deadline, over every protocol", async () => {
    const bounded = await startTestSwitchyard(FRONT_DOOR_POLICY, { limits: { maxDeadlineMs: 300 } });
    const boundedTransports = createTransports(bounded.baseUrl);
    try {
      for (const kind of KINDS) {
        const started = performance.now();
        const error = ConnectError.from(
          await rejectionOf(() =>
            createClient(RouterService, boundedTransports.get(kind)).route(HUNG, {
              signal: AbortSignal.timeout(5000),
            }),
          ),
        );
        expect(error.code, kind).toBe(Code.DeadlineExceeded);
        expect(performance.now() - started, kind).toBeLessThan(PROMPTLY_MS);
      }
    } finally {
      boundedTransports.close();
      await bounded.stop();
    }
  });
});
