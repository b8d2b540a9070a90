import { z } from "zod";

/** The policy keys of `kind: mock`: the `mock:` block. Times are milliseconds. */
export const mockSettingsSchema = z.strictObject({
  mock: z
    .strictObject({
      /** Delay before the first token. */
      latency_ms: z.int().nonnegative().max(3_600_000).default(0),
      /** Delay between streamed tokens. */
      token_interval_ms: z.int().nonnegative().max(3_600_000).default(0),
      /** Fraction of calls that fail, 0..1, spread evenly (every 1/rate-th call). */
      failure_rate: z.number().min(0).max(1).default(0),
      /** How a failing call fails. */
      failure: z
        .enum(["unavailable", "rate_limited", "server_error", "timeout", "invalid_request"])
        .default("unavailable"),
      /** Fixed reply text; when absent the reply is derived deterministically from the request. */
      reply: z.string().optional(),
    })
    .prefault({}),
});

/** Behaviour of the built-in offline mock provider. Times are milliseconds. */
export interface MockSettings {
  /** The provider's name in the policy (it appears in the default reply). */
  name: string;
  latencyMs: number;
  tokenIntervalMs: number;
  failureRate: number;
  failure: "unavailable" | "rate_limited" | "server_error" | "timeout" | "invalid_request";
  reply?: string;
}
