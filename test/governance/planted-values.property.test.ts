import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicyDeniedError } from "../../src/core/errors.js";
import type { ChatMessage, Decision, LlmRequest } from "../../src/core/types.js";
import {
  echoConversation,
  type FakeOpenAi,
  type RecordedRequest,
  startFakeOpenAi,
} from "../fakes/fake-openai-server.js";
import { call, pipelineFor, request, type TestPipeline } from "../helpers/pipeline.js";
import {
  containsValue,
  type Encoding,
  encode,
  encoding,
  filler,
  type Planted,
  plantedPersonalData,
  plantedSecret,
} from "../helpers/planted.js";

/**
 * Sensitive values planted at random places and in random encodings, sent through Route and
 * Stream to real fake providers (one hosted, one self-hosted), under three policies. What each
 * provider received, every log line and every decision are searched for the value.
 */

type Placement = "user" | "system" | "tool-arguments" | "tool-description";

interface Case {
  planted: Planted;
  how: Encoding;
  before: string;
  after: string;
  placement: Placement;
  mode: "route" | "stream";
}

const aCase = (values: fc.Arbitrary<Planted>) =>
  fc.record({
    planted: values,
    how: encoding,
    before: filler,
    after: filler,
    placement: fc.constantFrom<Placement>("user", "system", "tool-arguments", "tool-description"),
    mode: fc.constantFrom<"route" | "stream">("route", "stream"),
  });

/** The request a case describes; declared public, so only detection keeps it home. */
function requestFor(c: Case): LlmRequest {
  const text = [c.before, encode(c.planted.phrase, c.how), c.after].filter(Boolean).join(" ");
  const messages: ChatMessage[] =
    c.placement === "tool-arguments"
      ? [
          { role: "user", content: "file the note" },
          {
            role: "assistant",
            content: "",
            toolCalls: [{ id: "call_1", name: "save_note", arguments: JSON.stringify({ note: text }) }],
          },
          { role: "tool", toolCallId: "call_1", content: "saved" },
          { role: "user", content: "thanks, repeat the note" },
        ]
      : c.placement === "system"
        ? [
            { role: "system", content: text },
            { role: "user", content: "go on" },
          ]
        : [{ role: "user", content: text }];
  if (c.placement === "tool-description")
    return request({
      messages: [{ role: "user", content: "save it" }],
      tools: [{ name: "save_note", description: text, parameters: { type: "object" } }],
      dataClass: "public",
    });
  return request({ messages, dataClass: "public" });
}

/** Every string in what a provider received: the raw body, every JSON string in it, and tool arguments parsed again. */
function everythingIn(recorded: RecordedRequest): string[] {
  const strings: string[] = [recorded.rawBody];
  const walk = (value: unknown): void => {
    if (typeof value === "string") {
      strings.push(value);
      try {
        walk(JSON.parse(value));
      } catch {}
      try {
        strings.push(decodeURIComponent(value));
      } catch {}
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") Object.values(value).forEach(walk);
  };
  walk(recorded.body);
  return strings;
}

let hosted: FakeOpenAi;
let onprem: FakeOpenAi;

beforeAll(async () => {
  hosted = await startFakeOpenAi({ fallback: echoConversation });
  onprem = await startFakeOpenAi({ fallback: echoConversation });
});
afterAll(async () => {
  await hosted.close();
  await onprem.close();
});

const policy = (detect: string, storePrompts: string) => `
providers:
  hosted: { kind: openai-compatible, base_url: "${hosted.url}", hosted: true, region: us }
  onprem: { kind: openai-compatible, base_url: "${onprem.url}", hosted: false }
detect:
${detect}
routes:
  - name: outside
    match: { data_class: [public] }
    primary: { provider: hosted, model: m }
  - name: inside
    primary: { provider: onprem, model: m }
logging: { store_prompts: ${storePrompts}, store_outputs: true, store_tool_args: full }
`;

interface Outcome {
  answer?: ChatMessage;
  error?: unknown;
  decision: Decision;
  sentOutside: RecordedRequest[];
  sentInside: RecordedRequest[];
  logs: string[];
}

async function send(test: TestPipeline, c: Case): Promise<Outcome> {
  const hostedBefore = hosted.requests.length;
  const onpremBefore = onprem.requests.length;
  const logsBefore = test.rawLogs.length;
  const context = call();
  let answer: ChatMessage | undefined;
  let error: unknown;
  try {
    if (c.mode === "route") answer = (await test.pipeline.route(requestFor(c), context)).message;
    else {
      let content = "";
      const calls = new Map<number, { name: string; arguments: string }>();
      for await (const event of test.pipeline.stream(requestFor(c), context))
        if (event.type === "delta") {
          content += event.content;
          for (const delta of event.toolCalls) {
            const known = calls.get(delta.index) ?? { name: "", arguments: "" };
            calls.set(delta.index, {
              name: known.name || (delta.name ?? ""),
              arguments: known.arguments + delta.argumentsDelta,
            });
          }
        }
      answer = {
        role: "assistant",
        content,
        ...(calls.size > 0 && { toolCalls: [...calls.values()].map((tc) => ({ id: "", ...tc })) }),
      };
    }
  } catch (caught) {
    error = caught;
  }
  const recorded = test.decisions.byCall(context.callId);
  if (!recorded) throw new Error("no decision recorded");
  return {
    ...(answer && { answer }),
    error,
    decision: recorded.decision,
    sentOutside: hosted.requests.slice(hostedBefore),
    sentInside: onprem.requests.slice(onpremBefore),
    logs: test.rawLogs.slice(logsBefore),
  };
}

const RUNS = { numRuns: Number(process.env.PROPERTY_RUNS ?? 80) };

describe("planted sensitive values", () => {
  it("redact: hosted providers see only tokens, the caller gets its personal data back (never a secret), and no secret reaches a log or a decision", async () => {
    const test = pipelineFor(policy("  secret: { action: redact }\n  pii: { action: redact }", "full"));
    await fc.assert(
      fc.asyncProperty(aCase(fc.oneof(plantedSecret, plantedPersonalData)), async (c) => {
        const outcome = await send(test, c);
        expect(outcome.error).toBeUndefined();
        expect(outcome.sentOutside).toHaveLength(1);
        expect(outcome.sentOutside.flatMap(everythingIn).some((text) => text.includes(c.planted.value))).toBe(
          false,
        );
        expect(containsValue(outcome.sentOutside.flatMap(everythingIn), c.planted.value)).toBe(false);
        expect(outcome.decision.attempts[0]?.redacted).toBeGreaterThan(0);
        // The echoed tokens come back as the values the caller sent.
        const sent = requestFor(c).messages;
        // (A tool's description does not come back: the model echoes messages only.)
        if (c.placement === "tool-arguments" && c.planted.group === "pii")
          expect(JSON.parse(outcome.answer?.toolCalls?.[0]?.arguments ?? "null")).toEqual(
            JSON.parse(sent[1]?.toolCalls?.[0]?.arguments ?? ""),
          );
        else if (c.placement !== "tool-description" && c.planted.group === "pii")
          expect(outcome.answer?.content).toBe(sent.map((m) => m.content).join(" | "));
        // A secret's token is never put back into what the model wrote.
        if (c.planted.group === "secret") {
          expect(containsValue([JSON.stringify(outcome.answer)], c.planted.value)).toBe(false);
          if (c.placement !== "tool-description")
            expect(JSON.stringify(outcome.answer)).toContain(`<${c.planted.kind.toUpperCase()}_`);
        }
        expect(containsValue([JSON.stringify(outcome.decision)], c.planted.value)).toBe(false);
        if (c.planted.group === "secret") expect(containsValue(outcome.logs, c.planted.value)).toBe(false);
      }),
      RUNS,
    );
  });

  it("raise: personal data and secrets stay on the self-hosted provider, and redacted logs hold neither", async () => {
    const test = pipelineFor(
      policy("  secret: { action: raise, to: secret }\n  pii: { action: raise, to: pii }", "redacted"),
    );
    await fc.assert(
      fc.asyncProperty(aCase(fc.oneof(plantedSecret, plantedPersonalData)), async (c) => {
        const outcome = await send(test, c);
        expect(outcome.error).toBeUndefined();
        expect(outcome.sentOutside).toHaveLength(0);
        expect(outcome.sentInside).toHaveLength(1);
        expect(outcome.decision.dataClass).toBe(c.planted.group === "secret" ? "secret" : "pii");
        expect(outcome.decision.dataClassReason).toContain(c.planted.kind);
        expect(containsValue(outcome.logs, c.planted.value)).toBe(false);
        expect(containsValue([JSON.stringify(outcome.decision)], c.planted.value)).toBe(false);
        // The model echoed the secret: it is masked before the caller sees it.
        if (c.planted.group === "secret")
          expect(containsValue([JSON.stringify(outcome.answer)], c.planted.value)).toBe(false);
      }),
      RUNS,
    );
  });

  it("block: a secret is refused before anything is sent, naming its kind; personal data goes home", async () => {
    const test = pipelineFor(
      policy("  secret: { action: block }\n  pii: { action: raise, to: pii }", "full"),
    );
    await fc.assert(
      fc.asyncProperty(aCase(fc.oneof(plantedSecret, plantedPersonalData)), async (c) => {
        const outcome = await send(test, c);
        expect(outcome.sentOutside).toHaveLength(0);
        if (c.planted.group === "secret") {
          expect(outcome.error).toBeInstanceOf(PolicyDeniedError);
          expect((outcome.error as Error).message).toContain(c.planted.kind);
          expect(containsValue([(outcome.error as Error).message], c.planted.value)).toBe(false);
          expect(outcome.sentInside).toHaveLength(0);
          expect(outcome.decision.refusal).toContain(c.planted.kind);
        } else {
          expect(outcome.error).toBeUndefined();
          expect(outcome.sentInside).toHaveLength(1);
        }
        expect(containsValue([JSON.stringify(outcome.decision)], c.planted.value)).toBe(false);
        if (c.planted.group === "secret") expect(containsValue(outcome.logs, c.planted.value)).toBe(false);
      }),
      RUNS,
    );
  });
});
