/**
 * Context words only matter next to a value, and every value the context-gated detectors look
 * for (a date, an identity number) holds two digits in a row. Scanning the whole text with a
 * long case-insensitive alternation of words costs several nanoseconds a character; finding
 * digit pairs is cheaper, and in typical text only a fifth of it lies near one. So the words are
 * only looked for in the stretches within `reach` characters of a digit pair.
 */

const DIGIT_PAIR = /[0-9]{2}/g;

/**
 * Calls `visit(start, end)` for each match of `words` (a global regex) in `text` that lies
 * within `reach` code units of two adjacent digits, in order. A visit may return a position
 * before which later matches are of no interest (the end of a value it consumed).
 */
export function forEachWordNearDigits(
  text: string,
  words: RegExp,
  reach: number,
  visit: (start: number, end: number) => number | undefined,
): void {
  let regionStart = -1;
  let regionEnd = -1;
  let floor = 0;
  const flush = () => {
    const from = Math.max(regionStart, floor);
    if (from >= regionEnd) return;
    const stretch = text.slice(from, regionEnd);
    words.lastIndex = 0;
    for (let word = words.exec(stretch); word; word = words.exec(stretch)) {
      const start = from + word.index;
      if (start < floor) continue;
      const next = visit(start, from + words.lastIndex);
      if (next !== undefined && next > floor) floor = next;
    }
  };
  DIGIT_PAIR.lastIndex = 0;
  while (DIGIT_PAIR.test(text)) {
    const pair = DIGIT_PAIR.lastIndex - 2;
    const from = Math.max(0, pair - reach);
    const to = Math.min(text.length, pair + 2 + reach);
    if (from <= regionEnd) regionEnd = to;
    else {
      if (regionEnd >= 0) flush();
      regionStart = from;
      regionEnd = to;
    }
  }
  if (regionEnd >= 0) flush();
}
