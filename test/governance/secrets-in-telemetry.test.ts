import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { SpanKind } from "@opentelemetry/api";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { echoConversation, type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { containsValue, type Planted, plantedSecret } from "../helpers/planted.js";
import { createTransports, type TransportSet } from "../helpers/rpc.js";
import { startTestSwitchyard } from "../helpers/switchyard.js";

// A whole server per logging policy and detection action, each sent a dozen calls.
vi.setConfig({ testTimeout: 60_000 });

/**
 * DESIGN invariant 3, end to end: secrets planted in prompts (user text, system text, tool-call
 * arguments, a tool's description) and echoed back by the model never appear in clear text in a
 * span attribute or event, an exported decision record, a metric label, a log line or the
 * decision ledger file, under every logging policy and every action detection may take on them.
 * Everything is sent through the real doors: gRPC Route and Stream, and the OpenAI door.
 */

const LOGGING = ["full", "redacted", "hashed", "none"] as const;
const ACTIONS = ["redact", "raise, to: secret", "block"] as const;
/** Fresh values each run, one of each kind the generator knows and then some. */
const SECRETS: Planted[] = fc.sample(plantedSecret, 6);

let hosted: FakeOpenAi;
let onprem: FakeOpenAi;
let dir: string;

beforeAll(async () => {
  hosted = await startFakeOpenAi({ fallback: echoConversation });
  onprem = await startFakeOpenAi({ fallback: echoConversation });
  dir = await mkdtemp(join(tmpdir(), "switchyard-secrets-"));
});

afterAll(async () => {
  await hosted.close();
  await onprem.close();
  await rm(dir, { recursive: true, force: true });
});

const policy = (logging: string, action: string) => `
providers:
  hosted: { kind: openai-compatible, base_url: "${hosted.url}", hosted: true, region: us }
  onprem: { kind: openai-compatible, base_url: "${onprem.url}", hosted: false }
detect:
  secret: { action: ${action} }
routes:
  - name: outside
    match: { data_class: [public] }
    primary: { provider: hosted, model: m }
  - name: inside
    primary: { provider: onprem, model: m }
logging:
  store_prompts: ${logging}
  store_outputs: true
  store_tool_args: full
  hash_key: "a-test-hmac-key-of-some-length"
`;

/** The calls each secret is sent in: every place a prompt can hold it, through each door. */
async function sendEverywhere(router: Client<typeof RouterService>, baseUrl: string, secret: Planted) {
  const text = `please keep this safe: ${secret.phrase} thanks`;
  const calls: Array<Promise<unknown>> = [
    router.route({ messages: [{ role: Role.USER, content: text }], dataClass: "public" }),
    router.route({
      messages: [
        { role: Role.SYSTEM, content: text },
        { role: Role.USER, content: "go on" },
      ],
      dataClass: "public",
    }),
    router.route({
      messages: [
        { role: Role.USER, content: "file the note" },
        {
          role: Role.ASSISTANT,
          content: "",
          toolCalls: [{ id: "call_1", name: "save_note", arguments: JSON.stringify({ note: text }) }],
        },
        { role: Role.TOOL, toolCallId: "call_1", content: "saved" },
        { role: Role.USER, content: "repeat the note" },
      ],
      dataClass: "public",
    }),
    router.route({
      messages: [{ role: Role.USER, content: "save it" }],
      tools: [{ name: "save_note", description: text, parameters: { type: "object" } }],
      dataClass: "public",
    }),
    (async () => {
      for await (const _ of router.stream({
        messages: [{ role: Role.USER, content: text }],
        dataClass: "public",
      }));
    })(),
    fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-switchyard-data-class": "public" },
      body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: text }], stream: true }),
    }).then((response) => response.text()),
  ];
  // A refusal (block) is an answer too: what matters here is what was kept of it.
  await Promise.allSettled(calls);
}

describe.each(LOGGING)("store_prompts: %s", (logging) => {
  it.each(ACTIONS)(
    "detect secret: %s — no span, record, metric, log line or ledger row holds a secret",
    async (action) => {
      const spans = new InMemorySpanExporter();
      const records = new InMemoryLogRecordExporter();
      const tracerProvider = new TracerProvider({
        spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
      });
      const loggerProvider = new LoggerProvider({
        processors: [new SimpleLogRecordProcessor({ exporter: records })],
      });
      const ledger = join(dir, `${logging}-${action.split(",")[0]}.db`);
      const switchyard = await startTestSwitchyard(policy(logging, action), {
        tracer: tracerProvider.getTracer("switchyard"),
        decisionExport: loggerProvider.getLogger("switchyard"),
        ledger,
      });
      let transports: TransportSet | undefined;
      let metrics = "";
      try {
        transports = createTransports(switchyard.baseUrl);
        const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
        for (const secret of SECRETS) await sendEverywhere(router, switchyard.baseUrl, secret);
        metrics = await (await fetch(`${switchyard.operatorUrl}/metrics`)).text();
      } finally {
        transports?.close();
        await switchyard.stop();
      }
      const traced = spans.getFinishedSpans();
      // Every call was traced and recorded: an empty haystack would prove nothing.
      expect(traced.filter((span) => span.kind === SpanKind.SERVER)).toHaveLength(SECRETS.length * 6);
      if (!action.startsWith("block"))
        expect(traced.some((span) => span.kind === SpanKind.CLIENT)).toBe(true);
      expect(records.getFinishedLogRecords().length).toBe(SECRETS.length * 6);
      expect(switchyard.rawLogs.some((line) => line.includes('"msg":"decision"'))).toBe(true);
      const haystacks: Record<string, string[]> = {
        spans: traced.map((span) =>
          JSON.stringify([
            span.name,
            span.attributes,
            span.events.map((event) => [event.name, event.attributes]),
          ]),
        ),
        "decision records": records
          .getFinishedLogRecords()
          .map((record) => JSON.stringify([record.body, record.attributes])),
        metrics: [metrics],
        "log lines": switchyard.rawLogs,
        // The file after the ledger closed (its write-ahead log checkpointed into it).
        ledger: [(await readFile(ledger)).toString("latin1"), (await readFile(ledger)).toString("utf8")],
      };
      if (logging !== "none") {
        // The prompt text was kept, in its allowed form: the spans carry it too.
        expect(haystacks.spans?.some((span) => span.includes("gen_ai.input.messages"))).toBe(true);
      }
      for (const secret of SECRETS)
        for (const [where, texts] of Object.entries(haystacks))
          expect(containsValue(texts, secret.value), `${secret.kind} in ${where}`).toBe(false);
      await tracerProvider.shutdown();
      await loggerProvider.shutdown();
    },
  );
});
