/**
 * Context words: some values are only sensitive (or only recognisable) when the words around
 * them say what they are: "date of birth: 1984-03-02", "SSN 123-45-6789", "token: 9f8a…".
 */

/** How far around a value context words are looked for, in UTF-16 code units. */
export const CONTEXT_WINDOW = 48;

/**
 * True when one of `words` (lowercase) occurs within `window` code units before `start` or after
 * `end` in `text`, as a whole word (case-insensitive; `_` and `-` count as word separators, so
 * `aws_secret_access_key` contains `secret`). Cost is bounded by the window, not the text.
 */
export function nearWord(
  text: string,
  start: number,
  end: number,
  words: readonly string[],
  window = CONTEXT_WINDOW,
): boolean {
  // One code unit more on each side, so a word cut by the window's edge ("xpassport" cut to
  // "passport") is judged by the character that really precedes or follows it.
  const before = text.slice(Math.max(0, start - window - 1), start).toLowerCase();
  const after = text.slice(end, end + window + 1).toLowerCase();
  return words.some((word) => containsWord(before, word) || containsWord(after, word));
}

/** True when one of `words` (lowercase) occurs as a whole word within `window` code units before `start`. */
export function precededByWord(
  text: string,
  start: number,
  words: readonly string[],
  window = CONTEXT_WINDOW,
): boolean {
  const before = text.slice(Math.max(0, start - window - 1), start).toLowerCase();
  return words.some((word) => containsWord(before, word));
}

function containsWord(haystack: string, word: string): boolean {
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(word, from);
    if (at < 0) return false;
    const end = at + word.length;
    if (!isWordCharacter(haystack.charCodeAt(at - 1)) && !isWordCharacter(haystack.charCodeAt(end)))
      return true;
    from = at + 1;
  }
}

/** ASCII letters and digits (NaN, outside the string, is not). */
function isWordCharacter(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}
