import { isDigit, isWordChar } from "./chars.js";
import { luhnValid } from "./checksums.js";
import type { Detector, Match } from "./detector.js";

/** A card spans at most five printed groups (4-4-4-4-3); the last eight of a run are kept. */
const SPAN = 5;
const RING = 8;
const groupStart = new Int32Array(RING);
const groupEnd = new Int32Array(RING);

/**
 * Payment card numbers (`kind: card`): 13–19 digits that pass the Luhn check and start with a
 * major scheme's prefix at a length that scheme issues (Visa, Mastercard, Amex, Discover, JCB,
 * Diners Club, UnionPay, Maestro, Mir), written unbroken or in the groupings printed on cards:
 * fours (`4111 1111 1111 1111`, `4111-1111-1111-1111`, last group shorter for 13/15/17–19
 * digits) or Amex/Diners 4-6-5 and 4-6-4, with one separator (space or dash) throughout.
 *
 * Deliberately not matched: Luhn failures, unknown prefixes, digits glued to letters or longer
 * digit runs, odd groupings (`41 11 11 …`), dotted numbers.
 */
export const paymentCardDetector: Detector = {
  kind: "card",
  group: "pii",
  find(text) {
    const matches: Match[] = [];
    const digit = /[0-9]/g;
    while (digit.test(text)) {
      const first = digit.lastIndex - 1;
      const before = text.charCodeAt(first - 1);
      // A run that continues a word, a decimal or a dashed id is not a card: skip all of it.
      const glued = isWordChar(before) || before === 46 || before === 45 || before === 47;
      digit.lastIndex = scanRun(text, first, glued ? undefined : matches);
    }
    return matches;
  },
};

/**
 * Walks one run of digit groups joined by single spaces or dashes, group by group, and records
 * each card that ends at a group (a card may sit among other numbers: "qty 2 4111 1111 1111 1111
 * exp 2027"). Returns where the run ends, so it is never rescanned.
 */
function scanRun(text: string, first: number, matches: Match[] | undefined): number {
  let at = first;
  let floor = 0; // the first group a new card may start at (after the last one found)
  for (let group = 0; ; group++) {
    const start = at;
    while (isDigit(text.charCodeAt(at))) at++;
    groupStart[group % RING] = start;
    groupEnd[group % RING] = at;
    const code = text.charCodeAt(at);
    const continues = (code === 32 || code === 45) && isDigit(text.charCodeAt(at + 1));
    // A card ends where the run does (not glued to a word or decimal) or at a space inside it.
    const boundary = continues
      ? code === 32
      : !isWordChar(code) && !(code === 46 && isDigit(text.charCodeAt(at + 1)));
    if (matches && boundary) {
      const found = cardEndingAt(text, Math.max(floor, group - SPAN + 1), group);
      if (found) {
        matches.push(found);
        floor = group + 1;
      }
    }
    if (!continues) return at;
    at++;
  }
}

const size = (group: number) => (groupEnd[group % RING] as number) - (groupStart[group % RING] as number);

/** The longest card made of whole groups first..last that ends at `last`. */
function cardEndingAt(text: string, from: number, last: number): Match | undefined {
  let digits = 0;
  for (let group = from; group <= last; group++) digits += size(group);
  for (let first = from; first <= last; first++) {
    if (first > from) digits -= size(first - 1);
    if (digits > 19) continue;
    if (digits < 13) return undefined;
    if (!printedGrouping(text, first, last)) continue;
    const start = groupStart[first % RING] as number;
    const end = groupEnd[last % RING] as number;
    if (issued(text, start, digits) && luhnValid(text, start, end)) return { start, end, score: 1 };
  }
  return undefined;
}

/** Unbroken; or fours with a shorter last group; or 4-6-5 / 4-6-4; one separator throughout. */
function printedGrouping(text: string, first: number, last: number): boolean {
  if (first === last) return true;
  const separator = text.charCodeAt(groupEnd[first % RING] as number);
  for (let g = first + 1; g < last; g++)
    if (text.charCodeAt(groupEnd[g % RING] as number) !== separator) return false;
  if (last - first === 2 && size(first) === 4 && size(first + 1) === 6)
    return size(last) === 5 || size(last) === 4;
  for (let g = first; g < last; g++) if (size(g) !== 4) return false;
  return size(last) <= 4;
}

/** Card scheme prefixes (IIN ranges) and the lengths each issues. */
function issued(text: string, start: number, length: number): boolean {
  const prefix = (digits: number): number => {
    let value = 0;
    for (let at = start; at < start + digits; at++) value = value * 10 + text.charCodeAt(at) - 48;
    return value;
  };
  const two = prefix(2);
  const four = prefix(4);
  const six = prefix(6);
  if (text.charCodeAt(start) === 52) return length === 13 || length === 16 || length === 19; // Visa
  if (two >= 51 && two <= 55) return length === 16; // Mastercard
  if (four >= 2221 && four <= 2720) return length === 16; // Mastercard 2-series
  if (four >= 2200 && four <= 2204) return length >= 16 && length <= 19; // Mir
  if (two === 34 || two === 37) return length === 15; // American Express
  if (four === 6011 || two === 65 || (four >= 6440 && four <= 6499)) return length >= 16 && length <= 19; // Discover
  if (six >= 622126 && six <= 622925) return length >= 16 && length <= 19; // Discover / UnionPay co-brand
  if (two === 62) return length >= 16 && length <= 19; // UnionPay
  if (four >= 3528 && four <= 3589) return length >= 16 && length <= 19; // JCB
  if (two === 36) return length >= 14 && length <= 19; // Diners Club International
  if ((four >= 3000 && four <= 3059) || two === 38 || two === 39 || four === 3095)
    return length >= 14 && length <= 19; // Diners
  // Maestro
  if ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(four))
    return length >= 12 && length <= 19;
  return false;
}
