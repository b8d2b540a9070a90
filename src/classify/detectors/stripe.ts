import type { Detector, Match } from "./detector.js";
import { ALNUM, BASE64, BASE64URL, isIn, isWholeToken, looksRedacted, runEnd } from "./secret-text.js";

/** The prefix whose last underscore is at `underscore`, or undefined. */
function prefixEndingAt(text: string, underscore: number): string | undefined {
  if (text.startsWith("whsec", underscore - 5)) return "whsec_";
  const mode = text.startsWith("live", underscore - 4)
    ? "live"
    : text.startsWith("test", underscore - 4)
      ? "test"
      : "";
  if (
    mode === "" ||
    text.charCodeAt(underscore - 5) !== 95 /* _ */ ||
    text.charCodeAt(underscore - 6) !== 107 /* k */
  )
    return undefined;
  const type = text[underscore - 7];
  return type === "s" || type === "r" ? `${type}k_${mode}_` : undefined;
}

/**
 * Stripe secret keys `sk_live_`/`sk_test_`, restricted keys `rk_live_`/`rk_test_` (24 to 247
 * alphanumerics) and webhook signing secrets `whsec_` (24 to 100 base64 characters), as whole
 * tokens. Publishable keys (`pk_live_`, `pk_test_`) are not flagged: Stripe designs them to be
 * embedded in web pages and apps, so they disclose nothing. Scores 1 for live keys and webhook
 * secrets, 0.9 for test-mode keys (they reach test data only, but are still credentials).
 * https://docs.stripe.com/keys and https://docs.stripe.com/webhooks
 */
export const stripeKey: Detector = {
  kind: "stripe_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    // Found by the underscore (a rare first character makes V8's indexOf fast), then the prefix.
    for (let at = text.indexOf("_", 5); at >= 0; at = text.indexOf("_", at + 1)) {
      const prefix = prefixEndingAt(text, at);
      if (prefix === undefined) continue;
      const bodyStart = at + 1;
      const start = bodyStart - prefix.length;
      if (isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      const webhook = prefix === "whsec_";
      const end = webhook
        ? runEnd(text, bodyStart, BASE64, bodyStart + 101)
        : runEnd(text, bodyStart, ALNUM, bodyStart + 248);
      const length = end - bodyStart;
      if (length < 24 || length > (webhook ? 100 : 247)) continue;
      if (!isWholeToken(text, start, end, BASE64URL) || looksRedacted(text, bodyStart, end)) continue;
      matches.push({ start, end, score: prefix.endsWith("test_") ? 0.9 : 1 });
      at = end - 1;
    }
    return matches;
  },
};
