import { z } from "zod";
import { PROVIDER_KINDS } from "../providers/registry.js";

/**
 * The policy file as operators write it (snake_case YAML). Every object is strict so a typo is
 * an error with its path; cross-references (a route naming an unknown provider) are resolved in
 * compile-policy.ts, which has the whole document at hand.
 */

const name = z.string().trim().min(1, "must not be empty");
/** Lists in `match` accept a single value too: `task: chat` means `task: [chat]`. */
const oneOrMany = z.union([
  name.transform((value) => [value]),
  z.array(name).min(1, "must list at least one value"),
]);
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
  task: oneOrMany.optional(),
  data_class: oneOrMany.optional(),
  tenant: oneOrMany.optional(),
  /** Every listed label must be present on the request with one of the listed values. */
  labels: z.record(name, oneOrMany).optional(),
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
  region: z.string().default(""),
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
