import { z } from "zod";
import { INVISIBLE_CHARACTER } from "../core/text.js";
import { PROVIDER_KINDS } from "../providers/registry.js";

/**
 * The policy file as operators write it (snake_case YAML), one schema per block. Every object is
 * strict so a typo is an error with its path. validate-policy.ts applies them block by block (a
 * provider, a route, each part of a route) so that one bad block does not hide the errors of
 * another; cross-references (a route naming an unknown provider) are resolved in
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

/**
 * Why `text` may not be a label key or value, or undefined when it may. Labels come from
 * callers' free text, so inner spaces are fine, but nothing that reads differently than it matches.
 */
export function labelProblem(text: string): string | undefined {
  if (text === "") return "must not be empty";
  if (/^\s|\s$/u.test(text) || INVISIBLE_CHARACTER.test(text))
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

/** The keys of a route target (`primary`, each `fallback`), parsed one by one. */
export const targetShape = {
  provider: name,
  model: name,
  /** Serving runtime the operator expects (vllm, ollama, ...); must agree with the provider's. */
  runtime: name.optional(),
};

/** The keys of a route's `match`, parsed one by one. */
export const matchShape = {
  task: oneOrMany(name).optional(),
  data_class: oneOrMany(name).optional(),
  tenant: oneOrMany(name).optional(),
  /** Every listed label must be present on the request with one of the listed values. */
  labels: z.record(labelText, oneOrMany(labelText)).optional(),
  /**
   * Model names callers of the OpenAI door may ask for (`"model": "gpt-4o"`): such a request
   * matches only routes listing it. Requests naming no model (gRPC, `auto`) never match these.
   */
  model: oneOrMany(name).optional(),
};

export const budgetsSchema = z.strictObject({
  /** Whole request, all attempts included. */
  max_latency_ms: durationMs.optional(),
  /** Per attempt, Route and Stream alike: time to the first token; exceeding it fails over to the next target. */
  first_token_ms: durationMs.optional(),
  /** Per attempt, Route and Stream alike: longest silence between two tokens once the answer has started. */
  max_token_gap_ms: durationMs.optional(),
  /**
   * A number caps output tokens (the caller may ask for fewer). "bounded" is the same cap with the
   * policy's `defaults.max_tokens` as the number, so every call carries one. "unbounded" passes the
   * caller's value, or none.
   */
  max_tokens: z
    .union([positiveInt, z.literal("bounded"), z.literal("unbounded")], {
      error: 'must be a positive whole number, "bounded" or "unbounded"',
    })
    .optional(),
  /**
   * Most one request may cost, in US dollars, at its worst (its input tokens and max_tokens of
   * output at the target's price), checked before anything is sent.
   */
  max_cost_usd: z.number().positive().optional(),
  /** Over max_cost_usd: `downgrade` skips targets whose worst case exceeds it (cheaper ones serve); `refuse` refuses the request. */
  over_max_cost: z
    .enum(["downgrade", "refuse"], { error: 'must be "downgrade" or "refuse"' })
    .default("downgrade"),
});

/**
 * The ladder when no target answered (every one failed with a retryable error, or is open,
 * cooled or out of service): `target`, a cheaper model, first; then `answer`, a fixed non-AI one.
 */
export const degradeSchema = z
  .strictObject({
    target: z.strictObject(targetShape).optional(),
    answer: z.string().min(1).optional(),
  })
  .refine((degrade) => degrade.target !== undefined || degrade.answer !== undefined, {
    message: "must name a target, an answer, or both",
  });

const rate = z.number().gt(0).max(1, "must be a rate in (0, 1]");

/**
 * A target's circuit breaker (src/health/breaker.ts): on with built-in thresholds; a provider's
 * `breaker:` tunes its targets, a route's the targets it names (one target, one breaker: two
 * routes may not tune the same target differently).
 */
export const breakerSchema = z.strictObject({
  enabled: z.boolean().optional(),
  consecutive_failures: positiveInt.optional(),
  failure_rate: rate.optional(),
  slow_call_rate: rate.optional(),
  slow_call_ms: durationMs.optional(),
  window_ms: durationMs.optional(),
  minimum_calls: positiveInt.optional(),
  open_ms: durationMs.optional(),
  half_open_probes: positiveInt.max(100).optional(),
});

/** Retries on the same target for failures a retry can fix (connect, 5xx, overload, 429 after its wait). */
export const retrySchema = z.strictObject({
  /** Attempts per target, the first included: 1 turns retries off. */
  max_attempts: positiveInt.max(10).default(2),
  backoff_ms: durationMs.default(100),
  max_backoff_ms: durationMs.default(2000),
});

/** Opt-in: start the next target when the first has no first token after a delay. */
export const hedgeSchema = z.strictObject({
  /** `fixed` waits `after_ms`; `p95` the target's observed p95 time to first token (`after_ms` until known). */
  after: z.enum(["fixed", "p95"]).default("fixed"),
  after_ms: durationMs,
});

/** The keys of a load-balancing pool's member: a target and its share. */
export const poolMemberShape = {
  ...targetShape,
  /** Share of the pool's calls under `weighted`, the tie-break elsewhere; 0: only as the pool's fallback. */
  weight: z.number().nonnegative().max(1_000_000).default(1),
};

/** Equivalent deployments a route spreads its calls over, in place of one `primary`. */
export const poolShape = {
  /**
   * weighted: by weight; least_in_flight: the one with fewest calls in flight; lowest_latency:
   * lowest observed time to first token (unmeasured ones first); cheapest_within_budget: the
   * cheapest whose observed time to first token fits the route's first_token_ms.
   */
  strategy: z
    .enum(["weighted", "least_in_flight", "lowest_latency", "cheapest_within_budget"])
    .default("weighted"),
  targets: z.array(z.unknown()).min(2, "must list at least two targets (one is a primary)"),
};
export const poolSchema = z.strictObject(poolShape);

/** The keys of a route. `match`, `primary`/`pool` and `fallback` are parsed key by key themselves. */
export const routeShape = {
  name,
  /** Omitted or empty: matches every request (a default route, which must come last). */
  match: z.strictObject(matchShape).optional(),
  /** Exactly one of `primary` and `pool`. */
  primary: z.strictObject(targetShape).optional(),
  pool: poolSchema.optional(),
  fallback: z.array(z.strictObject(targetShape)).default([]),
  budgets: budgetsSchema.optional(),
  retry: retrySchema.optional(),
  hedge: hedgeSchema.optional(),
  breaker: breakerSchema.optional(),
  /**
   * A stream cut after tokens reached the caller continues on the next target that can continue
   * a partial answer (mock; openai-compatible with `openai.assistant_prefix`), instead of ending.
   */
  resume_on_fallback: z.boolean().optional(),
  degrade: degradeSchema.optional(),
};

/**
 * A model a provider serves. Prices in US dollars per million tokens; a model given none is priced
 * from the kind's built-in table (src/providers/<kind>/prices.ts) when it is listed there.
 */
const modelSchema = z.strictObject({
  input_usd_per_mtok: z.number().nonnegative().optional(),
  output_usd_per_mtok: z.number().nonnegative().optional(),
  /** Input read from the provider's prompt cache (default: the input price). */
  cached_input_usd_per_mtok: z.number().nonnegative().optional(),
  /** Input written to the provider's prompt cache (default: the input price). */
  cache_write_usd_per_mtok: z.number().nonnegative().optional(),
  context_window: positiveInt.optional(),
});
export type ModelDocument = z.output<typeof modelSchema>;

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
  /** Tunes the circuit breakers of this provider's targets. */
  breaker: breakerSchema.optional(),
};

/**
 * One provider block per kind: `kind`, the common keys and the kind's own, strictly. Looked up
 * by `kind` first (rather than a discriminated union) so an unknown kind gets a helpful message.
 */
export const providerSchemas: ReadonlyMap<string, z.ZodType<ProviderDocument>> = new Map(
  PROVIDER_KINDS.map((definition) => [
    definition.kind,
    z.strictObject({
      kind: z.literal(definition.kind),
      ...commonProviderShape,
      ...definition.settingsSchema.shape,
    }) as unknown as z.ZodType<ProviderDocument>,
  ]),
);

export const dataClassSchema = z.strictObject({
  /** Whether requests of this class may be sent to a provider marked `hosted: true`. */
  may_leave: z.boolean(),
  /** When set, hosted providers must be in one of these regions. */
  regions: z.array(name).optional(),
});

export const loggingSchema = z
  .strictObject({
    store_prompts: z.enum(["full", "redacted", "hashed", "none"]).default("none"),
    store_outputs: z.boolean().default(false),
    store_tool_args: z.enum(["full", "denylist_secrets", "none"]).default("denylist_secrets"),
    /** HMAC-SHA256 key for `store_prompts: hashed` (and `redact` with `form: hash`); from the environment. */
    hash_key: z.string().min(16, "must be at least 16 characters (it keys an HMAC)").optional(),
    /** Where log lines of `eval: true` requests go: a JSON-lines file, stdout, or nowhere. */
    eval_sink: z
      .union([z.literal("stdout"), z.literal("discard"), z.strictObject({ file: z.string().min(1) })], {
        error: 'must be "stdout", "discard" or { file: <path> }',
      })
      .default("discard"),
  })
  .prefault({});

/** One entry of `detect:`: what to do with findings of a kind or group. */
export const detectRuleSchema = z.discriminatedUnion(
  "action",
  [
    z.strictObject({ action: z.literal("block") }),
    /** Raise the request's class to `to` (never lowers what the caller declared). */
    z.strictObject({ action: z.literal("raise"), to: name }),
    /** Before any hosted attempt; `placeholder` values are restored in the answer. */
    z.strictObject({
      action: z.literal("redact"),
      form: z.enum(["placeholder", "mask", "hash"]).default("placeholder"),
    }),
    z.strictObject({ action: z.literal("allow") }),
  ],
  { error: 'action must be one of "block", "raise", "redact", "allow"' },
);

/** A content rule: phrases and (RE2) patterns refused or escalated by the rule's name. */
export const contentRuleSchema = z
  .strictObject({
    name,
    phrases: z.array(z.string().trim().min(1).max(200)).default([]),
    patterns: z.array(z.string().min(1).max(1000)).default([]),
    action: z.enum(["block", "escalate"]).default("block"),
  })
  .refine((rule) => rule.phrases.length + rule.patterns.length > 0, {
    message: "must list at least one phrase or pattern",
  });

export const escalationSchema = z
  .strictObject({
    /** POSTed a JSON event for every escalation (trace id, rule, kinds; never text). */
    webhook: z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).optional(),
    timeout_ms: durationMs.default(2000),
  })
  .prefault({});

export const toolSchema = z.strictObject({
  /** A writing tool is offered to the model only when the request approves it by name. */
  writes: z.boolean().default(false),
});

const dollars = z.number().positive().max(1e9, "must be at most 1000000000");

/** Spending caps over time, in US dollars (UTC days and calendar months). */
const spendSchema = {
  usd_per_day: dollars.optional(),
  usd_per_month: dollars.optional(),
};

/** Rate and concurrency limits. */
const rateSchema = {
  requests_per_minute: positiveInt.optional(),
  /** Input and output tokens, estimated before the call and settled to what was used. */
  tokens_per_minute: positiveInt.optional(),
  /** Calls in flight at once. */
  concurrent: positiveInt.optional(),
};

/**
 * One tenant (workspace): what it may spend and how fast, for the tenant as a whole and for each
 * user within it (the request's `user`), and what happens at a limit.
 */
export const tenantSchema = z.strictObject({
  /**
   * API keys that authenticate calls as this tenant: `${VARIABLE}` (the key, from the
   * environment; unset leaves it out with a warning) or `sha256:<64 hex>` (the key's digest).
   * Checked entry by entry in compile-auth.ts, which knows how each was written, so here they are
   * only strings (or undefined, left so by an unset variable).
   */
  keys: z.array(z.string().optional()).optional(),
  budgets: z.strictObject(spendSchema).optional(),
  limits: z.strictObject(rateSchema).optional(),
  per_user: z.strictObject({ ...spendSchema, ...rateSchema }).optional(),
  /** At a limit: refuse (RESOURCE_EXHAUSTED / HTTP 429), or serve the call on a cheaper route. */
  on_limit: z
    .union([z.literal("refuse"), z.strictObject({ downgrade_to: name })], {
      error: 'must be "refuse" or { downgrade_to: <route name> }',
    })
    .default("refuse"),
  /** Share of a budget at which a warning event is raised (once, as a call crosses it). */
  warn_at: z.number().gt(0).lt(1).default(0.8),
  /**
   * A model with no price cannot be counted against a budget: `refuse` keeps budgeted calls off
   * it; a price admits them at that price (counted as unpriced where operators see it).
   */
  unpriced: z
    .union(
      [
        z.literal("refuse"),
        z.strictObject({
          input_usd_per_mtok: z.number().nonnegative(),
          output_usd_per_mtok: z.number().nonnegative(),
        }),
      ],
      { error: 'must be "refuse" or { input_usd_per_mtok, output_usd_per_mtok }' },
    )
    .default("refuse"),
});

/**
 * Where counters shared by calls live (budgets, rate limits): this process's memory, or Redis
 * for several processes and replicas. Changing it takes a restart (reload.ts refuses it).
 */
export const stateSchema = z
  .strictObject({
    store: z.enum(["memory", "redis"], { error: 'must be "memory" or "redis"' }).default("memory"),
    redis: z
      .strictObject({
        /** Usually `${REDIS_URL}`: it may hold a password, so no message ever echoes it. */
        url: z.string().refine(isRedisUrl, { error: "must be a redis:// or rediss:// URL" }),
        /** Put before every key, so several deployments can share one Redis. */
        key_prefix: z
          .string()
          .regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1 to 64 of ASCII letters, digits and ._:-")
          .default("switchyard:"),
        /** Longest wait for one Redis command before it counts as unreachable. */
        command_timeout_ms: z.int().positive().max(10_000, "must be at most 10000").default(500),
      })
      .optional(),
    /** While Redis is unreachable: `closed` refuses calls that need it; `open` keeps limits per process. */
    on_unavailable: z.enum(["open", "closed"], { error: 'must be "open" or "closed"' }).default("closed"),
  })
  .superRefine((state, context) => {
    if (state.store === "redis" && state.redis === undefined)
      context.addIssue({
        code: "custom",
        path: ["redis"],
        message: "required when store is redis ({ url: ... })",
      });
  })
  .prefault({});

function isRedisUrl(text: string): boolean {
  try {
    const { protocol, hostname } = new URL(text);
    return (protocol === "redis:" || protocol === "rediss:") && hostname !== "";
  } catch {
    return false;
  }
}

/** A header name a proxy may set: lowercase letters, digits and dashes (HTTP/2 forbids uppercase). */
const HEADER_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** Headers a caller itself sends to say who it is: a proxy's identity header must be another. */
const CALLER_HEADERS = ["authorization", "x-switchyard-tenant", "x-switchyard-user"];

/** How calls are authenticated (compile-auth.ts holds the rules between the keys). */
export const authSchema = z.strictObject({
  /**
   * keys: every call presents a tenant's key; identity_header: a trusted proxy names the tenant;
   * none: the request's tenant is taken as written. Omitted: keys when a tenant declares keys.
   */
  mode: z
    .enum(["keys", "identity_header", "none"], { error: 'must be "keys", "identity_header" or "none"' })
    .optional(),
  identity_header: z
    .strictObject({
      name: z
        .string()
        .regex(HEADER_NAME, "must be a header name: lowercase letters, digits and dashes")
        .refine((header) => !CALLER_HEADERS.includes(header), {
          error: `must not be a header callers send themselves (${CALLER_HEADERS.join(", ")})`,
        })
        .default("x-switchyard-tenant-identity"),
      /**
       * The operator's word that a proxy in front of the router sets this header on every call
       * and strips any copy a caller sent. Required (true) for mode identity_header.
       */
      trusted: z.boolean(),
    })
    .optional(),
});

/** The keys of `defaults`, parsed one by one. */
export const defaultsShape = {
  /** Class of a request that declares none. Ship a class that stays inside: fail closed. */
  data_class: name.default("internal"),
  task: name.default("chat"),
  /**
   * When the caller declares no task, infer one from the prompt (code, extract, summarize,
   * classify, chat); false uses \`task\` for every such request.
   */
  infer_task: z.boolean().default(true),
  /** Output-token cap for routes whose `max_tokens` is "bounded". */
  max_tokens: positiveInt.default(1024),
};

/**
 * The top-level keys. `data_classes` is ordered from least to most sensitive (classification may
 * only move a request down that list); `providers` and `data_classes` map names to blocks;
 * `routes` is ordered, first match wins.
 */
export const POLICY_KEYS = [
  "defaults",
  "data_classes",
  "providers",
  "routes",
  "detect",
  "content_rules",
  "escalation",
  "tools",
  "logging",
  "state",
  "tenants",
  "auth",
] as const;

export type PoolDocument = z.output<typeof poolSchema>;
export type BreakerDocument = z.output<typeof breakerSchema>;
export type TargetDocument = z.output<z.ZodObject<typeof targetShape>>;
export type MatchDocument = z.output<z.ZodObject<typeof matchShape>>;
export type RouteDocument = z.output<z.ZodObject<typeof routeShape>>;
export type DefaultsDocument = z.output<z.ZodObject<typeof defaultsShape>>;
export type DataClassDocument = z.output<typeof dataClassSchema>;
export type LoggingDocument = z.output<typeof loggingSchema>;
export type StateDocument = z.output<typeof stateSchema>;
export type TenantDocument = z.output<typeof tenantSchema>;
export type AuthDocument = z.output<typeof authSchema>;
export type DetectRuleDocument = z.output<typeof detectRuleSchema>;
export type ContentRuleDocument = z.output<typeof contentRuleSchema>;
export type EscalationDocument = z.output<typeof escalationSchema>;
export type ToolDocument = z.output<typeof toolSchema>;
/** A provider block: the common keys typed, the kind's own keys as its schema parsed them. */
export type ProviderDocument = z.infer<z.ZodObject<typeof commonProviderShape>> & {
  kind: string;
  [key: string]: unknown;
};
