import type { Policy } from "../core/policy.js";
import { estimateInputTokens, TOKENS_PER_IMAGE } from "../core/token-estimate.js";
import type { ChatMessage, ToolSpec } from "../core/types.js";
import { isLimited } from "./quota.js";

/** OpenAI's encodings as gpt-tokenizer names them. */
type Encoding = "o200k_base" | "cl100k_base";

interface Encoder {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
}

/**
 * Characters tokenized exactly per request; the rest is counted at the rate the exact part
 * showed, but never below a token per four characters (so a prompt that opens with cheap text
 * cannot make the rest look cheaper). BPE on adversarial text (random symbols) costs ~1.7 ms per
 * thousand characters on the event loop: a 900 KB prompt would block every other call for 1.5 s.
 * Prose costs a tenth of that.
 */
export const EXACT_CHARACTERS = 32_000;

/** Tokens a chat message adds beyond its text (role and separators), as OpenAI's cookbook counts them. */
const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
const TOKENS_PER_REPLY = 3;

const loaded = new Map<Encoding, Promise<Encoder>>();
/** gpt-tokenizer's model tables, imported once (admit asks for every budgeted call). */
let mapping: Promise<typeof import("gpt-tokenizer/mapping")> | undefined;

/**
 * The encoding of an OpenAI model, or undefined for any other: Llama, Claude or Gemini served
 * behind an OpenAI-compatible endpoint are counted by approximation, not with a tokenizer they do
 * not use. gpt-tokenizer's tables name the models on older encodings (gpt-4, gpt-3.5: cl100k)
 * and its catalogue the chat models on the default one (o200k: gpt-4o, gpt-4.1, gpt-5, o-series);
 * an OpenAI name newer than the catalogue (`gpt-7`, `o9-mini`) takes the default too.
 */
export async function encodingOf(model: string): Promise<Encoding | undefined> {
  mapping ??= import("gpt-tokenizer/mapping");
  const { modelToEncodingMap, chatModelParams, DEFAULT_ENCODING } = await mapping;
  const encodings = modelToEncodingMap as Record<string, string | undefined>;
  const catalogue = chatModelParams as Record<string, unknown>;
  // OpenRouter and the like prefix the vendor: `openai/gpt-4o`.
  const name = model.startsWith("openai/") ? model.slice("openai/".length) : model;
  const encoding = [name, name.replace(/-\d{4}-\d{2}-\d{2}$/, "")]
    .map(
      (candidate) =>
        encodings[candidate] ??
        (candidate in catalogue || OPENAI_NAME.test(candidate) ? DEFAULT_ENCODING : undefined),
    )
    .find((found) => found !== undefined);
  if (encoding === "o200k_base" || encoding === "o200k_harmony") return "o200k_base";
  return encoding === "cl100k_base" ? "cl100k_base" : undefined;
}

/** OpenAI's chat model names: gpt-4o, gpt-5.1-mini, o3, o4-mini, chatgpt-4o-latest. */
const OPENAI_NAME = /^(gpt-\d|o\d+(-|$)|chatgpt-)/;

/** Loads an encoding once (a few hundred ms and tens of MB), on first use or when a policy needs it. */
export function loadEncoding(encoding: Encoding): Promise<Encoder> {
  let encoder = loaded.get(encoding);
  if (!encoder) {
    encoder =
      encoding === "o200k_base"
        ? import("gpt-tokenizer/encoding/o200k_base")
        : import("gpt-tokenizer/encoding/cl100k_base");
    loaded.set(encoding, encoder);
  }
  return encoder;
}

/**
 * Loads, in the background, the encodings a policy's budgets will count with (the models of
 * routes with a cost cap, or of every route when a tenant has budgets or limits), so the first
 * budgeted call does not pay the load. Failures surface on that call instead.
 */
export function preloadEncodings(policy: Policy): void {
  const everyRoute = [...policy.tenants.values()].some(isLimited);
  const models = policy.routes
    .filter((route) => everyRoute || route.budgets.maxCostUsd !== undefined)
    .flatMap((route) => route.targets.map((target) => target.model));
  for (const model of new Set(models))
    void encodingOf(model)
      .then((encoding) => encoding && loadEncoding(encoding))
      .catch(() => {});
}

/**
 * The prompt's input tokens for `model`: with its tokenizer when it is an OpenAI model (text,
 * names, tool calls and tool definitions, plus OpenAI's per-message overhead), else the
 * documented approximation (core/token-estimate.ts: about four characters a token). Images
 * count as TOKENS_PER_IMAGE each either way. Special-token text in a prompt (`<|endoftext|>`)
 * is counted as the plain text it is, never a reason to fail.
 */
export async function countInputTokens(
  model: string,
  messages: readonly ChatMessage[],
  tools: readonly ToolSpec[],
): Promise<{ tokens: number; exact: boolean }> {
  const encoding = await encodingOf(model);
  if (!encoding) return { tokens: estimateInputTokens(messages, tools), exact: false };
  const encoder = await loadEncoding(encoding);
  const texts: string[] = [];
  let images = 0;
  for (const message of messages) {
    texts.push(message.role, message.content);
    if (message.name) texts.push(message.name);
    for (const call of message.toolCalls ?? []) texts.push(call.name, call.arguments);
    images += message.images?.length ?? 0;
  }
  for (const tool of tools)
    texts.push(tool.name, tool.description ?? "", JSON.stringify(tool.parameters ?? {}));
  return {
    tokens:
      countBounded(encoder, texts) +
      messages.length * TOKENS_PER_MESSAGE +
      TOKENS_PER_REPLY +
      images * TOKENS_PER_IMAGE,
    exact: true,
  };
}

/** Tokens of `texts`, exactly for the first EXACT_CHARACTERS, then at the rate those showed. */
function countBounded(encoder: Encoder, texts: readonly string[]): number {
  const options = { disallowedSpecial: new Set<string>() };
  let budget = EXACT_CHARACTERS;
  let counted = 0;
  let countedCharacters = 0;
  let rest = 0;
  for (const text of texts) {
    if (budget <= 0) {
      rest += text.length;
      continue;
    }
    const exact = text.length <= budget ? text : text.slice(0, budget);
    counted += encoder.countTokens(exact, options);
    countedCharacters += exact.length;
    rest += text.length - exact.length;
    budget -= exact.length;
  }
  if (rest === 0) return counted;
  // At least a token per four characters for the rest, whatever the sample showed.
  const rate = Math.max(countedCharacters > 0 ? counted / countedCharacters : 0, 0.25);
  return counted + Math.ceil(rest * rate);
}
