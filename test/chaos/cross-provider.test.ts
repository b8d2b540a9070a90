import { createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { RouterService, type StreamResponse } from "../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome, FinishReason } from "../../gen/switchyard/v1/types_pb.js";
import { type FakeAnthropic, startFakeAnthropic } from "../fakes/fake-anthropic-server.js";
import {
  type FakeBedrock,
  startFakeBedrock,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../fakes/fake-bedrock-server.js";
import { type FakeGemini, startFakeGemini } from "../fakes/fake-gemini-server.js";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { deliveredText, streamed } from "../helpers/chaos.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

/**
 * The seed's shape across wire protocols: an Anthropic primary, then Gemini, then Bedrock, then a
 * self-hosted OpenAI-compatible model, each a real fake speaking its provider's wire. Whichever
 * serves, a gRPC caller gets the same normalized stream (the decision, the text as deltas, done
 * with usage and the finish reason) and the decision names the one that did.
 */
interface Rig {
  switchyard: TestSwitchyard;
  anthropic: FakeAnthropic;
  gemini: FakeGemini;
  bedrock: FakeBedrock;
  local: FakeOpenAi;
  transports: TransportSet;
  stop(): Promise<void>;
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const ANSWER = ["Paris", " is", " the", " capital", " of", " France."];

async function start(): Promise<Rig> {
  const [anthropic, gemini, bedrock, local] = await Promise.all([
    startFakeAnthropic(),
    startFakeGemini(),
    startFakeBedrock(),
    startFakeOpenAi(),
  ]);
  const switchyard = await startTestSwitchyard(`
providers:
  anthropic: { kind: anthropic, base_url: "${anthropic.url}", api_key: test-key, hosted: false }
  google: { kind: gemini, base_url: "${gemini.url}", api_key: test-key, hosted: false }
  aws:
    kind: bedrock
    base_url: "${bedrock.url}"
    region: ${TEST_REGION}
    access_key_id: ${TEST_CREDENTIALS.accessKeyId}
    secret_access_key: ${TEST_CREDENTIALS.secretAccessKey}
    hosted: false
  local: { kind: openai-compatible, base_url: "${local.url}", hosted: false }
routes:
  - name: chat
    primary: { provider: anthropic, model: claude-sonnet-4-5 }
    fallback:
      - { provider: google, model: gemini-2.5-flash }
      - { provider: aws, model: "anthropic.claude-3-5-haiku-20241022-v1:0" }
      - { provider: local, model: llama }
    retry: { max_attempts: 1 }
`);
  const transports = createTransports(switchyard.baseUrl);
  return {
    switchyard,
    anthropic,
    gemini,
    bedrock,
    local,
    transports,
    async stop() {
      transports.close();
      await switchyard.stop();
      await Promise.all([anthropic.close(), gemini.close(), bedrock.close(), local.close()]);
    },
  };
}

/** The stream as its kinds of events, attempt and budget events aside, runs of deltas as one. */
function shape(events: readonly StreamResponse[]): Array<string | undefined> {
  const cases = events
    .map((event) => event.event.case)
    .filter((kind) => kind !== "attempt" && kind !== "budget");
  return cases.filter((kind, index) => !(kind === "delta" && cases[index - 1] === "delta"));
}

const scenarios = [
  { serves: "anthropic/claude-sonnet-4-5", failing: 0 },
  { serves: "google/gemini-2.5-flash", failing: 1 },
  { serves: "aws/anthropic.claude-3-5-haiku-20241022-v1:0", failing: 2 },
  { serves: "local/llama", failing: 3 },
];

describe("one route over four wire protocols", () => {
  for (const { serves, failing } of scenarios)
    it(`streams the same normalized events when ${serves} serves`, async () => {
      rig = await start();
      const { anthropic, gemini, bedrock, local } = rig;
      // The ones before it fail in their own way, before the first token.
      const failures = [
        () => anthropic.script({ type: "error", status: 529, retryAfterSeconds: null }),
        () => gemini.script({ type: "error", status: 503 }),
        () => bedrock.script({ type: "error", status: 503 }),
      ];
      for (const fail of failures.slice(0, failing)) fail();
      const replies = [
        () => anthropic.script({ type: "reply", content: ANSWER }),
        () => gemini.script({ type: "reply", content: ANSWER }),
        () => bedrock.script({ type: "reply", content: ANSWER }),
        () => local.script({ type: "reply", content: ANSWER }),
      ];
      replies[failing]?.();

      const router = createClient(RouterService, rig.transports.get("gRPC over h2c (binary)"));
      const { events, error } = await streamed(router.stream(userRequest("What is the capital of France?")));
      expect(error).toBeUndefined();
      expect(shape(events)).toEqual(["decision", "delta", "done"]);
      expect(deliveredText(events)).toBe(ANSWER.join(""));
      const done = events.at(-1)?.event;
      expect(done?.case).toBe("done");
      if (done?.case !== "done") return;
      expect(done.value.finishReason).toBe(FinishReason.STOP);
      expect(done.value.usage?.outputTokens).toBeGreaterThan(0);
      expect(done.value.usage?.estimated).toBe(false);
      expect(done.value.decision?.target).toBe(serves);
      expect(done.value.decision?.attempts.map((attempt) => [attempt.target, attempt.outcome])).toEqual([
        ...scenarios
          .slice(0, failing)
          .map((scenario) => [scenario.serves, AttemptOutcome.FAILED] as [string, AttemptOutcome]),
        [serves, AttemptOutcome.SUCCEEDED],
      ]);
      // Each upstream was asked once at most, and only those up to the one that served.
      expect([anthropic, gemini, bedrock, local].map((fake) => fake.requests.length)).toEqual(
        [0, 1, 2, 3].map((index) => (index <= failing ? 1 : 0)),
      );
    });
});
