import { isAlnum, isDigit, isUpper } from "./chars.js";
import type { Detector, Match } from "./detector.js";
import { forEachWordNearDigits } from "./near-digits.js";

/** How far after (or before) a context word the date may be. */
const AFTER_WINDOW = 40;
const BEFORE_WINDOW = 24;
/** Context words are looked for this close to a digit pair (a window plus the longest word). */
const REACH = AFTER_WINDOW + 24;

/**
 * Words that say a date is someone's birth date (English, German, French, Spanish, Italian;
 * `dateOfBirth`, `birth_date` and other identifier spellings too).
 */
const BIRTH_CONTEXT =
  /date[ _-]?of[ _-]?birth|birth(?:[ _-]?(?:day|date|dt))?|born|dob|d\.o\.b\.?|geboren|geb\.|geburtsdatum|geburtstag|née|né|date de naissance|naissance|fecha de nacimiento|nacid[oa]|data di nascita/gi;

// biome-ignore format: a table
const MONTHS: Readonly<Record<string, number>> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9,
  october: 10, november: 11, december: 12, jan: 1, feb: 2, mar: 3, apr: 4, jun: 6, jul: 7, aug: 8,
  sep: 9, sept: 9, oct: 10, nov: 11, dec: 12, januar: 1, februar: 2, märz: 3, maerz: 3, mai: 5,
  juni: 6, juli: 7, oktober: 10, dezember: 12, janvier: 1, février: 2, fevrier: 2, mars: 3, avril: 4,
  juin: 6, juillet: 7, août: 8, aout: 8, septembre: 9, octobre: 10, novembre: 11, décembre: 12,
};
const MONTH = Object.keys(MONTHS)
  .sort((a, b) => b.length - a.length)
  .join("|");

/**
 * A date in one of the written forms: ISO `1984-03-02` (also `/` or `.`), day or month first
 * `02/03/1984`, `02.03.84`, `2 March 1984`, `2nd Mar. 1984`, `March 2, 1984`. Every repeat is
 * bounded; it only ever runs over a window of a few dozen characters next to a context word.
 */
const DATE = new RegExp(
  "(?<![0-9./-])(?:([0-9]{4})([-/.])([0-9]{1,2})\\2([0-9]{1,2})|([0-9]{1,2})([-/.])([0-9]{1,2})\\6([0-9]{4}|[0-9]{2}))(?![0-9]|[./-][0-9]|T[0-9])" +
    `|(?<![0-9])([0-9]{1,2})(?:st|nd|rd|th)?\\.?\\s?(${MONTH})\\.?,?\\s([0-9]{4})(?![0-9])` +
    `|(?<![A-Za-z])(${MONTH})\\.?\\s([0-9]{1,2})(?:st|nd|rd|th)?,?\\s([0-9]{4})(?![0-9])`,
  "gi",
);

/**
 * Dates of birth (`kind: date_of_birth`): a date right after a birth word ("DOB: 1984-03-02",
 * "born on 2 March 1984", `"dateOfBirth": "02/03/1984"`, "geboren am 02.03.1984", "née le
 * 2 mars 1984") or just before one ("02/03/1984 (date of birth)"), within the same sentence.
 * The span is the date alone. Score 0.85: the format is common, the context decides.
 *
 * Deliberately not matched: dates without a birth word nearby (deadlines, log timestamps,
 * `2024-05-01T12:30:45Z`), impossible dates (`1984-02-30`, month 13), years before 1900 or in the
 * future, a bare year ("born in 1984").
 */
export const dateOfBirthDetector: Detector = {
  kind: "date_of_birth",
  group: "pii",
  find(text) {
    const matches: Match[] = [];
    forEachWordNearDigits(text, BIRTH_CONTEXT, REACH, (start, end) => {
      if (isAlnum(text.charCodeAt(start - 1)) || isAlnum(text.charCodeAt(end))) return undefined;
      const floor = matches.at(-1)?.end ?? 0;
      const found = dateAfter(text, end) ?? dateBefore(text, start);
      if (!found || found.start < floor) return undefined;
      matches.push(found);
      return found.end;
    });
    return matches;
  },
};

/** space, ( [ - – — | : */
const LINKING = [32, 40, 91, 45, 8211, 8212, 124, 58];

/** The first valid date after `from`, before the sentence ends. */
function dateAfter(text: string, from: number): Match | undefined {
  const window = text.slice(from, sentenceEnd(text, from, Math.min(text.length, from + AFTER_WINDOW)));
  DATE.lastIndex = 0;
  for (let date = DATE.exec(window); date; date = DATE.exec(window))
    if (validDate(date)) return { start: from + date.index, end: from + DATE.lastIndex, score: 0.85 };
  return undefined;
}

/** A valid date ending just before `to` ("1984-03-02 (date of birth)"). */
function dateBefore(text: string, to: number): Match | undefined {
  const from = Math.max(0, to - BEFORE_WINDOW);
  const window = text.slice(from, to);
  let last: Match | undefined;
  DATE.lastIndex = 0;
  for (let date = DATE.exec(window); date; date = DATE.exec(window))
    if (validDate(date)) last = { start: from + date.index, end: from + DATE.lastIndex, score: 0.85 };
  if (!last) return undefined;
  // Only a bracket, dash or bar between: "1984-03-02 (DOB)", "02/03/1984 - date of birth"; a
  // comma or full stop would start another clause ("due 2024-05-01, born in 2019").
  for (let at = last.end; at < to; at++) if (!LINKING.includes(text.charCodeAt(at))) return undefined;
  return last;
}

/** Where the sentence that `from` is in ends, at most `limit`: a `;`, a line break or ". X". */
function sentenceEnd(text: string, from: number, limit: number): number {
  for (let at = from; at < limit; at++) {
    const code = text.charCodeAt(at);
    if (code === 59 || code === 10 || code === 13) return at;
    // ". X" ends a sentence, except after a German ordinal day: "geb. 7. Mai 1961".
    if (
      code === 46 &&
      text.charCodeAt(at + 1) === 32 &&
      isUpper(text.charCodeAt(at + 2)) &&
      !isOrdinal(text, at)
    )
      return at;
  }
  return limit;
}

/** One or two digits standing alone right before `dot`. */
function isOrdinal(text: string, dot: number): boolean {
  let start = dot;
  while (start > dot - 3 && isDigit(text.charCodeAt(start - 1))) start--;
  return start < dot && dot - start <= 2 && !isDigit(text.charCodeAt(start - 1));
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(date: RegExpExecArray): boolean {
  const number = (index: number) => Number(date[index]);
  if (date[1] !== undefined) return plausible(number(1), number(3), number(4));
  if (date[5] !== undefined) {
    const year = fullYear(date[8] as string);
    // Day-first or month-first: either reading will do.
    return plausible(year, number(7), number(5)) || plausible(year, number(5), number(7));
  }
  if (date[9] !== undefined) return plausible(number(11), monthOf(date[10]), number(9));
  return plausible(number(14), monthOf(date[12]), number(13));
}

function fullYear(year: string): number {
  return year.length === 4 ? Number(year) : 1900 + Number(year); // "84": a birth year, so 19xx
}

function monthOf(name: string | undefined): number {
  return MONTHS[(name ?? "").toLowerCase()] ?? 0;
}

function plausible(year: number, month: number, day: number): boolean {
  if (year < 1900 || year > new Date().getFullYear()) return false;
  if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number)) return false;
  return month !== 2 || day < 29 || (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
}
