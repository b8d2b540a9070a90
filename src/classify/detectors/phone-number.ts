import { type CountryCode, parsePhoneNumberFromString } from "libphonenumber-js/max";
import { isDigit, isWordChar } from "./chars.js";
import { nearWord } from "./context.js";
import type { Detector, Match } from "./detector.js";

/** Words that make an oddly grouped or unseparated digit run a phone number. */
// biome-ignore format: a word list
const PHONE_WORDS = [
  "phone", "telephone", "tel", "call", "called", "calling", "mobile", "mob", "cell", "cellphone", "fax",
  "whatsapp", "sms", "text", "ring", "dial", "hotline", "telefon", "telefonnummer", "handy", "téléphone",
  "portable", "ph",
];

/**
 * National numbers (no `+`) are validated against the countries whose conventions they follow:
 * a leading trunk `0` is British, German or French usage, anything else is read as a North
 * American (NANP) number. Other countries' numbers are found in international form.
 */
const TRUNK_ZERO_COUNTRIES: readonly CountryCode[] = ["GB", "DE", "FR"];
const TRUNK_ZERO_NOT_DE: readonly CountryCode[] = ["GB", "FR"];
const NANP_COUNTRIES: readonly CountryCode[] = ["US"];
/** GB 11, FR 10, DE up to 12 with the trunk 0; NANP 11 with its leading 1. */
const MAX_NATIONAL_DIGITS = 12;

const MAX_GROUPS = 8;
const MIN_DIGITS = 7;
const MAX_DIGITS = 15; // E.164
const groupStart = new Int32Array(MAX_GROUPS);
const groupEnd = new Int32Array(MAX_GROUPS);

/**
 * Phone numbers (`kind: phone`): international numbers (`+44 20 7946 0958`, `+1 (415) 555-2671`,
 * `0044 …`) and national ones in the usual groupings (`(415) 555-2671`, `415.555.2671`,
 * `020 7946 0958`, `01 23 45 67 89`), or any grouping (also unseparated) next to a word such as
 * "phone", "call", "mobile" or "fax". A cheap scan finds runs of digit groups joined by phone
 * punctuation; only those shaped like a number go to libphonenumber-js (full metadata), which
 * decides validity (up to a budget of calls per text; beyond it, in a text of thousands of
 * numbers, international numbers and usual groupings are taken on shape at score 0.6). The
 * span is the number as written, with its `+` and parentheses.
 *
 * Deliberately not matched: dates (`2024-05-01`, `31.01.1984`), dotted quads, version strings,
 * decimals, digit runs glued to letters or other digits, runs of more than 15 digits (cards,
 * IBAN digits) and numbers the library says are not allocated (e.g. US `555-123-4567`; the
 * fictional `555-01xx` range is).
 */
export const phoneNumberDetector: Detector = {
  kind: "phone",
  group: "pii",
  find(text) {
    validations = VALIDATIONS_PER_TEXT;
    const matches: Match[] = [];
    const digit = /[0-9]/g;
    while (digit.test(text)) {
      const first = digit.lastIndex - 1;
      const run = scanRun(text, first);
      digit.lastIndex = run.end;
      if (run.groups > MAX_GROUPS || run.digits > MAX_DIGITS + 4) continue;
      const match = numberIn(text, first, run.groups);
      if (match) matches.push(match);
    }
    return matches;
  },
};

function isSeparator(code: number): boolean {
  // space, no-break space, - . / ( )
  return (
    code === 32 || code === 160 || code === 45 || code === 46 || code === 47 || code === 40 || code === 41
  );
}

/**
 * Digit groups from `first` joined by separators of at most 3 characters (at most one of `-./`,
 * `.` and `/` only alone, at most one parenthesis each way). Fills groupStart/groupEnd for the first MAX_GROUPS groups;
 * always walks to the end of the run, so the caller skips it whole and never rescans it.
 */
function scanRun(text: string, first: number): { end: number; groups: number; digits: number } {
  let at = first;
  let groups = 0;
  let digits = 0;
  for (;;) {
    const start = at;
    while (isDigit(text.charCodeAt(at))) at++;
    if (groups < MAX_GROUPS) {
      groupStart[groups] = start;
      groupEnd[groups] = at;
    }
    groups++;
    digits += at - start;
    let next = at;
    let marks = 0;
    let open = 0;
    let close = 0;
    while (next - at < 3 && isSeparator(text.charCodeAt(next))) {
      const code = text.charCodeAt(next);
      if (code === 40) open++;
      else if (code === 41) close++;
      else if (code !== 32 && code !== 160) marks++;
      next++;
    }
    if (next === at || !isDigit(text.charCodeAt(next)) || marks > 1 || open > 1 || close > 1) break;
    // "." and "/" join groups only on their own: "415.555.0123", not "0123 / 415".
    if (next - at > 1 && (hasChar(text, at, next, 46) || hasChar(text, at, next, 47))) break;
    at = next;
  }
  return { end: at, groups, digits };
}

function hasChar(text: string, from: number, to: number, code: number): boolean {
  for (let at = from; at < to; at++) if (text.charCodeAt(at) === code) return true;
  return false;
}

const start = (group: number) => groupStart[group] as number;
const end = (group: number) => groupEnd[group] as number;
const size = (group: number) => end(group) - start(group);
/** The separator after `group` when it is one character, else -1. */
const separator = (text: string, group: number) =>
  start(group + 1) - end(group) === 1 ? text.charCodeAt(end(group)) : -1;

/** The longest valid number made of the run's first groups (a run may run on into other digits). */
function numberIn(text: string, first: number, groups: number): Match | undefined {
  const before = text.charCodeAt(first - 1);
  const plus = before === 43;
  const paren = before === 40 && text.charCodeAt(end(0)) === 41;
  const spanStart = plus || paren ? first - 1 : first;
  if (!standsAlone(text.charCodeAt(spanStart - 1), plus)) return undefined;
  let digits = 0;
  for (let group = 0; group < groups; group++) digits += size(group);
  for (let last = groups - 1; last >= 0; last--) {
    if (last < groups - 1) {
      digits -= size(last + 1);
      // A shorter number may shed a short count after a space ("call 415 555 2671 2 times"),
      // not a group of three or more digits: that makes the run one longer number.
      if (size(last + 1) >= 3) break;
      if (separator(text, last) !== 32) continue;
    }
    if (digits < MIN_DIGITS) break;
    if (digits > MAX_DIGITS) continue;
    if (isWordChar(text.charCodeAt(end(last)))) return undefined;
    const score = scoreOf(text, spanStart, last, digits, plus);
    if (score > 0) return { start: spanStart, end: end(last), score };
  }
  return undefined;
}

/** What may precede a number: not a letter, digit or anything that makes it part of a larger token. */
function standsAlone(code: number, plus: boolean): boolean {
  if (Number.isNaN(code)) return true;
  if (isWordChar(code)) return false;
  // . - / @ # $ + = and currency signs glue digits into versions, ranges, ids, amounts and sums.
  if (code === 46 || code === 45 || code === 47 || code === 64 || code === 35 || code === 36) return false;
  if (code === 43 || code === 8364 || code === 163 || code === 165) return false;
  return plus ? code !== 41 : true;
}

/** 0 when the groups 0..last are not a phone number, else the score. */
function scoreOf(text: string, spanStart: number, last: number, digits: number, plus: boolean): number {
  const international = plus || (text.charCodeAt(start(0)) === 48 && text.charCodeAt(start(0) + 1) === 48);
  if (international) {
    const national = digitsOf(text, last).replace(/^00/, "");
    if (national.length < 8) return 0;
    const valid = isValid(`+${national}`);
    return valid === undefined ? UNCHECKED_SCORE : valid ? 0.95 : 0;
  }
  if (digits > MAX_NATIONAL_DIGITS || looksLikeDateOrAddress(text, last)) return 0;
  const typical = usualGrouping(text, last, digits);
  const context = (): boolean => nearWord(text, spanStart, end(last), PHONE_WORDS);
  if (!typical && !(oneSeparator(text, last) && context())) return 0;
  const number = digitsOf(text, last);
  let countries = NANP_COUNTRIES;
  if (number.charCodeAt(0) === 48) {
    // German numbering is so open that nearly any 0-led run is "valid": only with context or
    // the German "030/901820" slash.
    const german = !typical || separator(text, 0) === 47 || context();
    countries = german ? TRUNK_ZERO_COUNTRIES : TRUNK_ZERO_NOT_DE;
  }
  let valid: boolean | undefined = false;
  for (const country of countries) {
    const verdict = isValid(number, country);
    if (verdict !== false) valid = verdict;
    if (verdict === true) break;
  }
  // Past the text's validation budget only a usual grouping is trusted, on its shape.
  if (valid === undefined) return typical ? UNCHECKED_SCORE : 0;
  if (!valid) return 0;
  return typical ? (context() ? 0.9 : 0.85) : 0.8;
}

/**
 * libphonenumber-js's verdict (~5–10 µs a call, the detector's main cost), remembered for the
 * numbers seen last: a transcript or a contact list repeats the same few numbers.
 */
const verdicts = new Map<string, boolean>();
const VERDICTS_MAX = 2048;
/**
 * Library calls allowed per text (about 40 ms), so that a megabyte-long phone directory stays
 * linear and fast; past it `isValid` answers undefined and shapes alone decide, at a lower score.
 */
const VALIDATIONS_PER_TEXT = 4096;
const UNCHECKED_SCORE = 0.6;
let validations = VALIDATIONS_PER_TEXT;

function isValid(number: string, country?: CountryCode): boolean | undefined {
  const key = country === undefined ? number : `${country}${number}`;
  let valid = verdicts.get(key);
  if (valid === undefined) {
    if (validations <= 0) return undefined;
    validations--;
    valid = parsePhoneNumberFromString(number, country)?.isValid() ?? false;
    if (verdicts.size >= VERDICTS_MAX) verdicts.clear();
    verdicts.set(key, valid);
  }
  return valid;
}

function digitsOf(text: string, last: number): string {
  let digits = "";
  for (let group = 0; group <= last; group++) digits += text.slice(start(group), end(group));
  return digits;
}

/** Unseparated, or the same single separator character between every two groups. */
function oneSeparator(text: string, last: number): boolean {
  const first = last > 0 ? separator(text, 0) : 0;
  if (first < 0) return false;
  for (let group = 1; group < last; group++) if (separator(text, group) !== first) return false;
  return true;
}

/** Groups shaped like a date (2024-05-01, 31.01.1984, 1/2/84) or four dotted ones (an IPv4 address). */
function looksLikeDateOrAddress(text: string, last: number): boolean {
  if (last === 3 && [0, 1, 2].every((group) => separator(text, group) === 46)) return true;
  if (last < 2) return false;
  // A date, alone or leading a longer run ("2024-05-01 09:12:03"); "01.23.45.67.89" is not one.
  const [a, b, c] = [size(0), size(1), size(2)];
  return (a === 4 && b <= 2 && c <= 2) || (a <= 2 && b <= 2 && (c === 4 || (last === 2 && c <= 2)));
}

/**
 * The groupings people write national numbers in. NANP: 3-3-4 with one separator used
 * throughout, or `(415) 555-2671`, optionally after a leading `1`. Trunk-0 (GB, DE, FR): a first
 * group of 2–5 digits starting with 0, then groups of 2+ digits, one separator character
 * throughout (a `/` after the area code allowed, as in `030/901820`), 9–12 digits in all.
 */
function usualGrouping(text: string, last: number, digits: number): boolean {
  if (text.charCodeAt(start(0)) === 48) {
    if (last < 1 || last > 5 || digits < 9 || digits > 12 || size(0) < 2 || size(0) > 5) return false;
    const rest = last >= 2 ? separator(text, 1) : separator(text, 0);
    for (let group = 0; group < last; group++) {
      const sep = separator(text, group);
      if (size(group + 1) < 2 || sep < 0 || (sep !== rest && !(group === 0 && sep === 47))) return false;
    }
    return true;
  }
  const offset = last === 3 && size(0) === 1 && text.charCodeAt(start(0)) === 49 ? 1 : 0;
  if (last - offset !== 2) return false;
  if (size(offset) !== 3 || size(offset + 1) !== 3 || size(offset + 2) !== 4) return false;
  const first = separator(text, offset);
  const second = separator(text, offset + 1);
  if (offset === 1 && separator(text, 0) < 0) return false;
  if (text.charCodeAt(end(offset)) === 41) {
    // (415) 555-2671 / (415)555-2671
    const gap = start(offset + 1) - end(offset);
    return gap <= 2 && (second === 45 || second === 32 || second === 46);
  }
  return first === second && (first === 45 || first === 46 || first === 32);
}
