/**
 * Money is counted in integer picodollars (1e-12 USD) and only turned into dollars to be shown,
 * so costs add up exactly and print as `0.0000018`, not `0.0000018000000000000001`. A price in
 * USD per million tokens with up to six decimals is a whole number of picodollars per token;
 * Number.MAX_SAFE_INTEGER picodollars is about $9,007, far above what one call costs.
 */
export type PicoUsd = number;

const PICO_PER_USD = 1e12;
const PICO_PER_TOKEN_PER_USD_PER_MTOK = 1e6;

/** Picodollars per token for a price in USD per million tokens; undefined when it has more than six decimals. */
export function picoUsdPerToken(usdPerMillionTokens: number): PicoUsd | undefined {
  const scaled = usdPerMillionTokens * PICO_PER_TOKEN_PER_USD_PER_MTOK;
  const whole = Math.round(scaled);
  // Decimal prices are not exact in binary (8.2 * 1e6 is 8199999.999999999): allow the few units
  // in the last place a multiplication can be off by, and no more, so a seventh decimal is refused.
  const tolerance = 8 * Number.EPSILON * Math.max(1, Math.abs(scaled));
  if (Math.abs(scaled - whole) > tolerance || !Number.isSafeInteger(whole)) return undefined;
  return whole;
}

/** US dollars, for display: the nearest double to the exact decimal amount. */
export function usdFromPico(amount: PicoUsd): number {
  return amount / PICO_PER_USD;
}
