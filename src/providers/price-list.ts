/** A model's published price, in US dollars per million tokens. */
export interface ListedPrice {
  input: number;
  output: number;
  /** Input read from the provider's prompt cache. */
  cachedInput?: number;
  /** Input written to the provider's prompt cache (Anthropic, Bedrock). */
  cacheWrite?: number;
  contextWindow?: number;
}

/**
 * A kind's built-in price table: the common models at the providers' published list prices (the
 * standard tier, no batch or regional discounts), used for a model the policy gives no price.
 * `checked` says when, `source` where; prices change, and the policy's own prices always win.
 */
export interface PriceList {
  checked: string;
  source: string;
  models: Readonly<Record<string, ListedPrice>>;
  /** The name a model is listed under, when the wire's ids carry more (Bedrock's region prefixes). */
  normalize?: (model: string) => string;
}

/**
 * The listed price of `model`: its own entry, or else that of the longest listed name it extends
 * with a dated or versioned suffix (`gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, not `gpt-4o`).
 */
export function listedPrice(list: PriceList, named: string): ListedPrice | undefined {
  const model = list.normalize ? list.normalize(named) : named;
  const exact = Object.hasOwn(list.models, model) ? list.models[model] : undefined;
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(list.models))
    if (
      /^[-@:.]/.test(model.slice(name.length)) &&
      model.startsWith(name) &&
      name.length > (best?.length ?? 0)
    )
      best = name;
  return best === undefined ? undefined : list.models[best];
}
