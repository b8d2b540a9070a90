import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { rejectionOf } from "../helpers/async.js";
import { nextOf } from "../helpers/pushable.js";
import { createTransports, type TransportKind, type TransportSet, userRequest } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

let fake: FakeOpenAi;
let switchyard: TestSwitchyard;
let transports: TransportSet;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  switchyard = await startTestSwitchyard(`
providers:
  upstream:
    kind: openai-compatible
    base_url: ${fake.url}
    hosted: false
routes:
  - name: default
    primary: { provider: upstream, model: gpt-4o-mini }
`);
  transports = createTransports(switchyard.baseUrl);
});

afterEach(() => fake.reset());

afterAll(async () => {
  transports?.close();
  await switchyard?.stop();
  await fake?.close();
});

/** Resolves true when `promise` settles within `ms`, false otherwise. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

const KINDS: TransportKind[] = [
  "gRPC over h2c (binary)",
  "Connect over HTTP/1.1 (JSON)",
  "Connect over h2c (JSON)",
];

describe.each(KINDS)("client cancellation over %s", (kind) => {
  const client = () => createClient(RouterService, transports.get(kind));

  it("aborting a Stream mid-answer closes the upstream connection", async () => {
    fake.script({ type: "reply", content: ["a", " b", " c", " d", " e"], hangAfterTokens: 3 });
    const abort = new AbortController();
    const events = client()
      .stream(userRequest("tell me a long story"), { signal: abort.signal })
      [Symbol.asyncIterator]();
    let deltas = 0;
    while (deltas < 3) if ((await nextOf(events)).event.case === "delta") deltas += 1;

    const [upstream] = await fake.waitForRequests(1);
    expect(upstream?.closedBeforeResponseEnd).toBe(false);
    abort.abort();
    const error = ConnectError.from(await rejectionOf(() => nextOf(events)));
    expect(error.code).toBe(Code.Canceled);

    expect(await within(upstream?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(upstream?.closedBeforeResponseEnd).toBe(true);
  });

  it("aborting a Route while the upstream thinks closes the upstream connection", async () => {
    fake.script({ type: "reply", content: "too late", firstByteDelayMs: 10_000 });
    const abort = new AbortController();
    const call = rejectionOf(() => client().route(userRequest("think hard"), { signal: abort.signal }));
    const [upstream] = await fake.waitForRequests(1);
    abort.abort();
    expect(ConnectError.from(await call).code).toBe(Code.Canceled);
    expect(await within(upstream?.socketClosed ?? Promise.resolve(), 2000)).toBe(true);
    expect(upstream?.closedBeforeResponseEnd).toBe(true);
  });
});
