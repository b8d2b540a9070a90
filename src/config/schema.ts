import { z } from "zod";

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

export const targetSchema = z.strictObject({
  provider: name,
  model: name,
  /** Serving runtime the operator expects (vllm, ollama, ...); must agree with the provider's. */
  runtime: name.optional(),
});

export const matchSchema = z.strictObject({
  task: oneOrMany.optional(),
  data_class: oneOrMany.optional(),
  tenant: oneOrMany.optional(),
  /** Every listed label must be present on the request with one of the listed values. */
  labels: z.record(name, oneOrMany).optional(),
});

export const budgetsSchema = z.strictObject({
  /** Whole request, all attempts included. */
  max_latency_ms: durationMs.optional(),
  /** Streams: time to the first token of an attempt; exceeding it fails over to the next target. */
  first_token_ms: durationMs.optional(),
  /** Streams: longest silence between two tokens once the answer has started. */
  max_token_gap_ms: durationMs.optional(),
  /**
   * A number caps output tokens. "bounded" means every call carries a cap: the caller's, or the
   * policy's `defaults.max_tokens` when the caller gave none. "unbounded" passes the caller's value.
   */
  max_tokens: z.union([positiveInt, z.literal("bounded"), z.literal("unbounded")]).optional(),
});

export const degradeSchema = z.strictObject({
  /** Fixed non-AI answer returned when every target failed with a retryable error. */
  answer: z.string().min(1),
});

export const routeSchema = z.strictObject({
  name,
  /** Omitted or empty: matches every request (a default route, which must come last). */
  match: matchSchema.optional(),
  primary: targetSchema,
  fallback: z.array(targetSchema).default([]),
  budgets: budgetsSchema.optional(),
  degrade: degradeSchema.optional(),
});

export const modelSchema = z.strictObject({
  input_usd_per_mtok: z.number().nonnegative().default(0),
  output_usd_per_mtok: z.number().nonnegative().default(0),
  context_window: positiveInt.optional(),
});

export const mockSchema = z.strictObject({
  latency_ms: z.int().nonnegative().max(3_600_000).default(0),
  token_interval_ms: z.int().nonnegative().max(3_600_000).default(0),
  failure_rate: z.number().min(0).max(1).default(0),
  failure: z
    .enum(["unavailable", "rate_limited", "server_error", "timeout", "invalid_request"])
    .default("unavailable"),
  reply: z.string().optional(),
});

export const providerSchema = z.strictObject({
  kind: z.enum(["openai-compatible", "mock"]),
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  api_key: z.string().optional(),
  /** Whether data sent to this provider leaves our boundary. Omitted means true: fail closed. */
  hosted: z.boolean().default(true),
  region: z.string().default(""),
  runtime: name.optional(),
  headers: z.record(z.string(), z.string()).default({}),
  max_connections: positiveInt.default(64),
  connect_timeout_ms: durationMs.default(2_000),
  /** When listed, routes may only name these models; prices make `costUsd` meaningful. */
  models: z.record(name, modelSchema).optional(),
  mock: mockSchema.optional(),
});

export const dataClassSchema = z.strictObject({
  /** Whether requests of this class may be sent to a provider marked `hosted: true`. */
  may_leave: z.boolean(),
  /** When set, hosted providers must be in one of these regions. */
  regions: z.array(name).optional(),
});

export const loggingSchema = z.strictObject({
  store_prompts: z.enum(["full", "redacted", "hashed", "none"]).default("none"),
  store_outputs: z.boolean().default(false),
  store_tool_args: z.enum(["full", "denylist_secrets", "none"]).default("denylist_secrets"),
});

export const defaultsSchema = z.strictObject({
  /** Class of a request that declares none. Ship a class that stays inside: fail closed. */
  data_class: name.default("internal"),
  task: name.default("chat"),
  /** Output-token cap for routes whose `max_tokens` is "bounded". */
  max_tokens: positiveInt.default(1024),
});

export const policySchema = z.strictObject({
  defaults: defaultsSchema.default({ data_class: "internal", task: "chat", max_tokens: 1024 }),
  /** Ordered from least to most sensitive; classification may only move a request down this list. */
  data_classes: z.record(name, dataClassSchema).optional(),
  providers: z.record(name, providerSchema),
  routes: z.array(routeSchema).min(1, "must list at least one route"),
  logging: loggingSchema.optional(),
});

export type PolicyDocument = z.infer<typeof policySchema>;
export type RouteDocument = z.infer<typeof routeSchema>;
export type TargetDocument = z.infer<typeof targetSchema>;
export type ProviderDocument = z.infer<typeof providerSchema>;
