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
 * What may follow a listed name in an id of the same model: a snapshot date (`-20241022`,
 * `-2024-07-18`, `@20250514`), `-latest`, and Bedrock's version (`-v1:0`). Never another version
 * or size: `claude-opus-4-6` is not `claude-opus-4`, `gpt-5.5-pro` is not `gpt-5`, and an id no
 * entry names exactly or by snapshot is unpriced rather than priced as another model.
 */
const SNAPSHOT_SUFFIX = /^(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2}|latest))?(?:-v\d+(?::\d+)?)?$/;

/** The listed price of `model`: its own entry, or that of the listed name it is a snapshot of. */
export function listedPrice(list: PriceList, named: string): ListedPrice | undefined {
  const model = list.normalize ? list.normalize(named) : named;
  if (Object.hasOwn(list.models, model)) return list.models[model];
  for (const name of Object.keys(list.models))
    if (
      model.startsWith(name) &&
      model.length > name.length &&
      SNAPSHOT_SUFFIX.test(model.slice(name.length))
    )
      return list.models[name];
  return undefined;
}
