import { z } from "zod";
import { PROVIDER_KINDS } from "../providers/registry.js";

/**
 * The policy file as operators write it (snake_case YAML). Every object is strict so a typo is
 * an error with its path; cross-references (a route naming an unknown provider) are resolved in
 * compile-policy.ts, which has the whole document at hand.
 */

/**
 * Names (providers, routes, data classes, models, runtimes, regions) and the task and tenant
 * values routes match on. Refused, never trimmed: `"cloud "` beside `cloud` would be a second
 * provider that reads like the first. Model names need `/`, `:`, `.` and `@`
 * (`meta-llama/Llama-3-8B`, `llama3:8b`, `claude-3@2024`).
 */
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
const IDENTIFIER_MAX_LENGTH = 128;
const IDENTIFIER_RULE = `must be an identifier: ASCII letters, digits and ._:/@+-, starting with a letter or digit, at most ${IDENTIFIER_MAX_LENGTH} characters`;

/** Why `text` may not be a name, or undefined when it may. Never echoes the text. */
export function identifierProblem(text: string): string | undefined {
  if (text === "") return "must not be empty";
  if (text.length > IDENTIFIER_MAX_LENGTH)
    return `${IDENTIFIER_RULE} (this one has ${text.length} characters)`;
  if (IDENTIFIER.test(text)) return undefined;
  return /^\s|\s$/u.test(text) ? `${IDENTIFIER_RULE} (this one has surrounding whitespace)` : IDENTIFIER_RULE;
}

/** Control, format (zero-width, bidirectional overrides) and line/paragraph separator characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Why `text` may not be a label key or value, or undefined when it may. Labels come from
 * callers' free text, so inner spaces are fine, but nothing that reads differently than it matches.
 */
export function labelProblem(text: string): string | undefined {
  if (text === "") return "must not be empty";
  if (/^\s|\s$/u.test(text) || INVISIBLE.test(text))
    return "must have no surrounding whitespace and no control, invisible or bidirectional characters";
  return undefined;
}

function refusing(problem: (text: string) => string | undefined) {
  return z.string().superRefine((text, context) => {
    const message = problem(text);
    if (message !== undefined) context.addIssue({ code: "custom", message });
  });
}

const name = refusing(identifierProblem);
const labelText = refusing(labelProblem);
/** Lists in `match` accept a single value too: `task: chat` means `task: [chat]`. */
const oneOrMany = (item: z.ZodType<string>) =>
  z.preprocess(
    (value) => (typeof value === "string" ? [value] : value),
    z.array(item).min(1, "must list at least one value"),
  );
const positiveInt = z.int().positive();
/** Durations are bounded well under Node's 32-bit timer limit (a larger value would fire at once). */
const durationMs = z.int().positive().max(3_600_000, "must be at most 3600000 (one hour)");

const targetSchema = z.strictObject({
  provider: name,
  model: name,
  /** Serving runtime the operator expects (vllm, ollama, ...); must agree with the provider's. */
  runtime: name.optional(),
});

const matchSchema = z.strictObject({
  task: oneOrMany(name).optional(),
  data_class: oneOrMany(name).optional(),
  tenant: oneOrMany(name).optional(),
  /** Every listed label must be present on the request with one of the listed values. */
  labels: z.record(labelText, oneOrMany(labelText)).optional(),
});

const budgetsSchema = z.strictObject({
  /** Whole request, all attempts included. */
  max_latency_ms: durationMs.optional(),
  /** Streams: time to the first token of an attempt; exceeding it fails over to the next target. */
  first_token_ms: durationMs.optional(),
  /** Streams: longest silence between two tokens once the answer has started. */
  max_token_gap_ms: durationMs.optional(),
  /**
   * A number caps output tokens (the caller may ask for fewer). "bounded" is the same cap with the
   * policy's `defaults.max_tokens` as the number, so every call carries one. "unbounded" passes the
   * caller's value, or none.
   */
  max_tokens: z.union([positiveInt, z.literal("bounded"), z.literal("unbounded")]).optional(),
});

const degradeSchema = z.strictObject({
  /** Fixed non-AI answer returned when every target failed with a retryable error. */
  answer: z.string().min(1),
});

const routeSchema = z.strictObject({
  name,
  /** Omitted or empty: matches every request (a default route, which must come last). */
  match: matchSchema.optional(),
  primary: targetSchema,
  fallback: z.array(targetSchema).default([]),
  budgets: budgetsSchema.optional(),
  degrade: degradeSchema.optional(),
});

const modelSchema = z.strictObject({
  input_usd_per_mtok: z.number().nonnegative().default(0),
  output_usd_per_mtok: z.number().nonnegative().default(0),
  context_window: positiveInt.optional(),
});

/**
 * The keys every provider block has, whatever its kind. A kind's own keys come from its folder
 * (src/providers/<kind>/, listed in the registry) and are merged in below.
 */
const commonProviderShape = {
  /** Whether data sent to this provider leaves our boundary. Omitted means true: fail closed. */
  hosted: z.boolean().default(true),
  /** Empty: none declared (a data class with `regions` then refuses it). */
  region: refusing((text) => (text === "" ? undefined : identifierProblem(text))).default(""),
  runtime: name.optional(),
  /** When listed, routes may only name these models; prices make `costUsd` meaningful. */
  models: z.record(name, modelSchema).optional(),
};

/** One provider block: the common keys plus those of the kind it names, strictly. */
const providerSchema = z.discriminatedUnion(
  "kind",
  PROVIDER_KINDS.map((definition) =>
    z.strictObject({
      kind: z.literal(definition.kind),
      ...commonProviderShape,
      ...definition.settingsSchema.shape,
    }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

const dataClassSchema = z.strictObject({
  /** Whether requests of this class may be sent to a provider marked `hosted: true`. */
  may_leave: z.boolean(),
  /** When set, hosted providers must be in one of these regions. */
  regions: z.array(name).optional(),
});

const loggingSchema = z.strictObject({
  store_prompts: z.enum(["full", "redacted", "hashed", "none"]).default("none"),
  store_outputs: z.boolean().default(false),
  store_tool_args: z.enum(["full", "denylist_secrets", "none"]).default("denylist_secrets"),
});

const defaultsSchema = z.strictObject({
  /** Class of a request that declares none. Ship a class that stays inside: fail closed. */
  data_class: name.default("internal"),
  task: name.default("chat"),
  /** Output-token cap for routes whose `max_tokens` is "bounded". */
  max_tokens: positiveInt.default(1024),
});

export const policySchema = z.strictObject({
  defaults: defaultsSchema.prefault({}),
  /** Ordered from least to most sensitive; classification may only move a request down this list. */
  data_classes: z.record(name, dataClassSchema).optional(),
  providers: z.record(name, providerSchema as unknown as z.ZodType<ProviderDocument>),
  routes: z.array(routeSchema).min(1, "must list at least one route"),
  logging: loggingSchema.prefault({}),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type RouteDocument = z.infer<typeof routeSchema>;
/** A provider block: the common keys typed, the kind's own keys as its schema parsed them. */
export type ProviderDocument = z.infer<z.ZodObject<typeof commonProviderShape>> & {
  kind: string;
  [key: string]: unknown;
};
