import type { ServerResponse } from "node:http";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { AdminService, type TargetStatus } from "../../gen/switchyard/v1/admin_pb.js";
import { RouterService, type StreamResponse } from "../../gen/switchyard/v1/router_pb.js";
import { type Decision, DecisionSchema } from "../../gen/switchyard/v1/types_pb.js";
import { type FakeOpenAi, type ScriptedResponse, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { rejectionOf } from "./async.js";
import { createTransports, type TransportSet } from "./rpc.js";
import { startTestSwitchyard, type TestSwitchyard, type TestSwitchyardOptions } from "./switchyard.js";

/**
 * A real Switchyard in process whose providers are `kind: openai-compatible` pointing at real
 * fake OpenAI servers on loopback, one fake per provider: the rig of the chaos suite
 * (test/chaos). Each test starts its own, so breakers, cooling and request counts never leak
 * from one test to the next.
 */
export interface Chaos<Name extends string> {
  switchyard: TestSwitchyard;
  /** One fake upstream per provider name. */
  fakes: Record<Name, FakeOpenAi>;
  router: Client<typeof RouterService>;
  admin: Client<typeof AdminService>;
  /** Clients over other protocols (the Connect protocol puts error metadata in headers). */
  transports: TransportSet;
  stop(): Promise<void>;
}

/**
 * Starts one fake per name in `providers`, then Switchyard on the policy `policy` writes given
 * a `providers:` block (from {@link providersYaml}) naming each fake as a self-hosted
 * openai-compatible provider.
 */
export async function startChaos<Name extends string>(
  providers: readonly Name[],
  policy: (providersBlock: string) => string,
  options: {
    breaker?: string;
    models?: Partial<Record<Name, string>>;
    /** How Switchyard itself is started (a tracer, a ledger…). */
    switchyard?: TestSwitchyardOptions;
  } = {},
): Promise<Chaos<Name>> {
  const fakes = {} as Record<Name, FakeOpenAi>;
  for (const name of providers) fakes[name] = await startFakeOpenAi();
  const switchyard = await startTestSwitchyard(policy(providersYaml(fakes, options)), options.switchyard);
  const transports = createTransports(switchyard.baseUrl);
  const operator = createTransports(switchyard.operatorUrl);
  return {
    switchyard,
    fakes,
    router: createClient(RouterService, transports.get("gRPC over h2c (binary)")),
    admin: createClient(AdminService, operator.get("gRPC over h2c (binary)")),
    transports,
    async stop() {
      transports.close();
      operator.close();
      await switchyard.stop();
      await Promise.all(Object.values<FakeOpenAi>(fakes).map((fake) => fake.close()));
    },
  };
}

/**
 * The `providers:` block: each fake as `kind: openai-compatible`, `hosted: false` (the default
 * data class may use it), with `breaker` (flow YAML, e.g. "{ open_ms: 300 }") on every one and
 * `models` (flow YAML of the models block) where given.
 */
export function providersYaml<Name extends string>(
  fakes: Record<Name, FakeOpenAi>,
  options: { breaker?: string; models?: Partial<Record<Name, string>> } = {},
): string {
  const blocks = Object.entries<FakeOpenAi>(fakes).map(([name, fake]) => {
    const models = options.models?.[name as Name];
    return [
      `  ${name}:`,
      "    kind: openai-compatible",
      `    base_url: ${fake.url}`,
      "    hosted: false",
      ...(options.breaker ? [`    breaker: ${options.breaker}`] : []),
      ...(models ? [`    models: ${models}`] : []),
    ].join("\n");
  });
  return `providers:\n${blocks.join("\n")}`;
}

/** A 429 with no retry-after of any form (no retry-after, retry-after-ms or x-ratelimit-reset-*). */
export const RATE_LIMITED_WITHOUT_RETRY_AFTER: ScriptedResponse = {
  type: "handler",
  handle(_request, res: ServerResponse) {
    res.writeHead(429, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: { message: "Rate limit reached.", type: "requests", param: null, code: "rate_limit_exceeded" },
      }),
    );
  },
};

/** Resets the connection before any response header: what a crashing upstream or a proxy does. */
export const RESET_BEFORE_HEADERS: ScriptedResponse = {
  type: "handler",
  handle(_request, res: ServerResponse) {
    res.socket?.destroy();
  },
};

/** Accepts the request and never sends a byte (the socket stays open until the client leaves). */
export const NEVER_ANSWERS: ScriptedResponse = {
  type: "handler",
  handle() {},
};

/** Every request to `fake` from now on gets `response`. */
export function always(fake: FakeOpenAi, response: ScriptedResponse): void {
  fake.setFallback(() => response);
}

/** The decision a failed call carried as its error detail; throws when it carried none. */
export function decisionOf(error: ConnectError): Decision {
  const [decision] = error.findDetails(DecisionSchema);
  if (!decision) throw new Error(`the error carried no decision: ${error.message}`);
  return decision;
}

/** What a Route call failed with; fails the test when it succeeded. */
export async function failedRoute(
  call: Promise<unknown>,
): Promise<{ error: ConnectError; decision: Decision }> {
  const error = ConnectError.from(await rejectionOf(() => call));
  return { error, decision: decisionOf(error) };
}

/** Every event of a Stream until it ends, and how it ended (undefined: cleanly). */
export async function streamed(
  events: AsyncIterable<StreamResponse>,
): Promise<{ events: StreamResponse[]; error?: ConnectError }> {
  const seen: StreamResponse[] = [];
  try {
    for await (const event of events) seen.push(event);
  } catch (error) {
    return { events: seen, error: ConnectError.from(error) };
  }
  return { events: seen };
}

/** The text of every delta a stream delivered, joined. */
export function deliveredText(events: readonly StreamResponse[]): string {
  return events.map((event) => (event.event.case === "delta" ? event.event.value.content : "")).join("");
}

/** The skipped attempts' messages. */
export function skipMessages(decision: Decision | undefined): string[] {
  return (decision?.attempts ?? [])
    .map((attempt) => attempt.message)
    .filter((message) => message.startsWith("skipped:"));
}

/** Until when (wall clock, ms) ListTargets says `status` is cooled; 0 when it is not. */
export function cooledUntilMs(status: TargetStatus): number {
  return status.cooledUntil ? timestampDate(status.cooledUntil).getTime() : 0;
}

/** The status ListTargets reports for `target`; throws when it lists none. */
export async function targetStatus(
  admin: Client<typeof AdminService>,
  target: string,
): Promise<TargetStatus> {
  const { targets } = await admin.listTargets({});
  const status = targets.find((candidate) => candidate.target === target);
  if (!status) throw new Error(`ListTargets lists no ${target}`);
  return status;
}

/** Resolves true when `promise` settles within `ms`, false otherwise. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
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

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
