/**
 * Characters that render as nothing, or rearrange what is around them: controls (Cc), format
 * characters (Cf: zero-width spaces and joiners, bidirectional embeddings, overrides and isolates,
 * the BOM), every other default-ignorable code point (Hangul fillers, variation selectors, the
 * combining grapheme joiner), and the line and paragraph separators some log shippers break on.
 * An identifier holding one can pass for another it looks exactly like.
 */
export const INVISIBLE_CHARACTER = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}]/u;

const INVISIBLE_EVERYWHERE = new RegExp(INVISIBLE_CHARACTER.source, "gu");

/** `text` with every invisible character (and unpaired surrogate) written as a `\uXXXX` escape. */
export function showInvisible(text: string): string {
  return text
    .toWellFormed()
    .replace(INVISIBLE_EVERYWHERE, (character) =>
      [...character].map((unit) => `\\u${(unit.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`).join(""),
    );
}
