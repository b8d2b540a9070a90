import { isDigit, isWordChar } from "./chars.js";
import { luhnValid } from "./checksums.js";
import type { Detector, Match } from "./detector.js";

const MAX_GROUPS = 8;
const groupStart = new Int32Array(MAX_GROUPS);
const groupEnd = new Int32Array(MAX_GROUPS);

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
      const { end, groups } = scanRun(text, first);
      digit.lastIndex = end;
      const before = text.charCodeAt(first - 1);
      // A run that continues a word, a decimal or a dashed id is not a card.
      const glued = isWordChar(before) || before === 46 || before === 45 || before === 47;
      if (glued || isWordChar(text.charCodeAt(end)) || groups > MAX_GROUPS || end - first < 13) continue;
      if (text.charCodeAt(end) === 46 && isDigit(text.charCodeAt(end + 1))) continue;
      // A card may sit among other numbers in one run ("qty 2 4111 1111 1111 1111 exp 2027"):
      // try every span of whole groups (at most MAX_GROUPS² of them), longest first.
      const found = cardIn(text, groups);
      if (found) matches.push(found);
    }
    return matches;
  },
};

/** Digit groups joined by single spaces or dashes, walked to the end of the run. */
function scanRun(text: string, first: number): { end: number; groups: number } {
  let at = first;
  let groups = 0;
  for (;;) {
    const start = at;
    while (isDigit(text.charCodeAt(at))) at++;
    if (groups < MAX_GROUPS) {
      groupStart[groups] = start;
      groupEnd[groups] = at;
    }
    groups++;
    const code = text.charCodeAt(at);
    if ((code !== 32 && code !== 45) || !isDigit(text.charCodeAt(at + 1))) return { end: at, groups };
    at++;
  }
}

const size = (group: number) => (groupEnd[group] as number) - (groupStart[group] as number);

function cardIn(text: string, groups: number): Match | undefined {
  for (let first = 0; first < groups; first++) {
    let digits = 0;
    for (let last = first; last < groups; last++) digits += size(last);
    for (let last = groups - 1; last >= first; last--) {
      if (last < groups - 1) digits -= size(last + 1);
      if (digits < 13) break;
      // Inside a run a card ends where a space does, never inside a dashed id.
      if (last < groups - 1 && text.charCodeAt(groupEnd[last] as number) !== 32) continue;
      if (digits > 19 || !printedGrouping(text, first, last)) continue;
      const start = groupStart[first] as number;
      const end = groupEnd[last] as number;
      if (issued(text, start, digits) && luhnValid(text, start, end)) return { start, end, score: 1 };
    }
  }
  return undefined;
}

/** Unbroken; or fours with a shorter last group; or 4-6-5 / 4-6-4; one separator throughout. */
function printedGrouping(text: string, first: number, last: number): boolean {
  if (first === last) return true;
  const separator = text.charCodeAt(groupEnd[first] as number);
  for (let g = first + 1; g < last; g++)
    if (text.charCodeAt(groupEnd[g] as number) !== separator) return false;
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
