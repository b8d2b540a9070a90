import { decodedViews } from "../classify/scan.js";
import { sentTexts } from "../classify/sent-text.js";
import type { IdentifiedRequest } from "../core/call.js";
import type { ContentRule } from "../core/policy.js";

/**
 * The content rules a request trips, in policy order: a rule trips when one of its phrases
 * occurs as whole words (case- and whitespace-insensitive) or one of its patterns matches, in
 * anything the request would send a provider (the texts detection scans: contents, tool-call
 * arguments, tool descriptions, names, stop sequences), as written or with escapes undone as the
 * scanner undoes them (tool arguments are JSON: `build\u0020a bomb` is "build a bomb"; JSON in a
 * JSON string; percent-encoding). Patterns run on a linear-time engine (RE2).
 */
export function trippedRules(
  rules: readonly ContentRule[],
  request: Pick<IdentifiedRequest, "messages" | "tools" | "params">,
): ContentRule[] {
  if (rules.length === 0) return [];
  const texts = sentTexts(request).flatMap(({ text }) => decodedViews(text));
  const normalized = texts.map((text) => ` ${text.toLowerCase().replace(/\s+/g, " ")} `);
  return rules.filter(
    (rule) =>
      rule.phrases.some((phrase) => normalized.some((text) => containsPhrase(text, phrase))) ||
      rule.patterns.some((pattern) => texts.some((text) => pattern.test(text))),
  );
}

/** `phrase` bounded by non-letters/digits on both sides (the text is padded with spaces). */
function containsPhrase(text: string, phrase: string): boolean {
  let from = 0;
  for (;;) {
    const at = text.indexOf(phrase, from);
    if (at < 0) return false;
    const before = text[at - 1] ?? " ";
    const after = text[at + phrase.length] ?? " ";
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return true;
    from = at + 1;
  }
}
