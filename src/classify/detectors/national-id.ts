import { isAlnum, isDigit, isUpper } from "./chars.js";
import { luhnValid, verhoeffValid } from "./checksums.js";
import type { Detector, Match } from "./detector.js";
import { forEachWordNearDigits } from "./near-digits.js";

/** How far after its context word an identifier may be. */
const WINDOW = 40;

type IdType = "nino" | "sin" | "aadhaar" | "dni" | "bsn" | "passport" | "licence" | "national";

/** Context words, one capture group per identifier type (in IdType order). */
const CONTEXT = new RegExp(
  [
    "(national insurance(?: number| no)?|ni number|ni no|nino)",
    "(social insurance number|social insurance|sin)",
    "(aadhaar|aadhar|uidai)",
    "(dni|nie|documento nacional de identidad)",
    "(bsn|burgerservicenummer)",
    "(passport|reisepass|passeport|pasaporte)",
    "(driver'?s licen[cs]e|drivers licen[cs]e|driver licen[cs]e|driving licen[cs]e|führerschein|fuehrerschein|permis de conduire)",
    "(national id(?:entity)?(?: card| number)?|identity card|identity number|id card|personalausweis|ausweisnummer|carte d'identité|carte nationale d'identité|cni)",
  ].join("|"),
  "gi",
);
/** CONTEXT anchored to a whole string, to tell which group a found word belongs to. */
const CONTEXT_ONCE = new RegExp(`^(?:${CONTEXT.source})$`, "i");
/** Context words are looked for this close to a digit pair (the window plus the longest word). */
const REACH = WINDOW + 40;
const TYPES: readonly IdType[] = ["nino", "sin", "aadhaar", "dni", "bsn", "passport", "licence", "national"];

/** Acronyms that are also everyday words ("sin", Polish "dni", German "nie"): only in capitals. */
const COMMON_WORDS = new Set(["sin", "dni", "nie"]);

/** The value each type takes, tried (sticky) at each token start after its context word. */
const VALUE: Readonly<Record<IdType, RegExp>> = {
  // Prefix letters: not D F I Q U V; second not O either (BG GB KN NK NT TN ZZ are checked below).
  nino: /[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]/y,
  sin: /[1-79]([0-9]{2})([ -]?)[0-9]{3}\2[0-9]{3}/y,
  aadhaar: /[2-9][0-9]{3}([ -]?)[0-9]{4}\1[0-9]{4}/y,
  dni: /[0-9]{8}-?[A-Z]|[XYZ]-?[0-9]{7}-?[A-Z]/y,
  bsn: /[0-9]{9}/y,
  passport: /[A-Z0-9]{6,9}/y,
  licence: /[A-Z0-9]{5,18}/y,
  national: /[A-Z0-9]{6,20}/y,
};

const SCORE: Readonly<Record<IdType, number>> = {
  nino: 0.9,
  sin: 0.95,
  aadhaar: 0.95,
  dni: 0.95,
  bsn: 0.95,
  passport: 0.7,
  licence: 0.7,
  national: 0.7,
};

/**
 * National identifiers (`kind: national_id`), each only after a word naming it, within the same
 * line: UK National Insurance numbers (`AB 12 34 56 C`, valid prefixes), Canadian SINs (Luhn),
 * Indian Aadhaar numbers (12 digits, Verhoeff), Spanish DNI/NIE (check letter), Dutch BSNs
 * (11-test), and — by shape only, score 0.7 — passport numbers (6–9 capitals and digits),
 * driving licence numbers (5–18) and national ID card numbers (6–20, e.g. a Personalausweis or
 * carte d'identité number); those need two digits in a row, and 7 digits when they have no letter.
 * The acronyms SIN, DNI and NIE count only in capitals ("sin" is a word).
 *
 * Deliberately not matched: the same values without their word (too easily an order or
 * reference number), checksum failures, lowercase values, US SSNs (`ssn`).
 */
export const nationalIdDetector: Detector = {
  kind: "national_id",
  group: "pii",
  find(text) {
    const matches: Match[] = [];
    forEachWordNearDigits(text, CONTEXT, REACH, (start, end) => {
      if (isAlnum(text.charCodeAt(start - 1)) || isAlnum(text.charCodeAt(end))) return undefined;
      const word = text.slice(start, end);
      const type = typeOf(word);
      if (type === undefined || (COMMON_WORDS.has(word.toLowerCase()) && word !== word.toUpperCase()))
        return undefined;
      const found = valueAfter(text, Math.max(end, matches.at(-1)?.end ?? 0), type);
      if (!found) return undefined;
      matches.push(found);
      return found.end;
    });
    return matches;
  },
};

/** Which identifier a context word names: the alternative of CONTEXT it matches. */
function typeOf(word: string): IdType | undefined {
  const groups = CONTEXT_ONCE.exec(word);
  if (!groups) return undefined;
  return TYPES[groups.findIndex((group, index) => index > 0 && group !== undefined) - 1];
}

/** The first token after `from` (same line, within WINDOW) that is a valid value of `type`. */
function valueAfter(text: string, from: number, type: IdType): Match | undefined {
  const pattern = VALUE[type];
  const limit = Math.min(text.length, from + WINDOW);
  for (let at = from; at < limit; at++) {
    const code = text.charCodeAt(at);
    if (code === 10 || code === 13 || code === 59) return undefined;
    if (!isAlnum(code) || isAlnum(text.charCodeAt(at - 1))) continue;
    pattern.lastIndex = at;
    if (!pattern.test(text)) continue;
    const end = pattern.lastIndex;
    if (isAlnum(text.charCodeAt(end)) || (text.charCodeAt(end) === 45 && isAlnum(text.charCodeAt(end + 1))))
      continue;
    if (valid(text, at, end, type)) return { start: at, end, score: SCORE[type] };
  }
  return undefined;
}

function valid(text: string, start: number, end: number, type: IdType): boolean {
  switch (type) {
    case "nino":
      return !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].includes(text.slice(start, start + 2));
    case "sin":
      return luhnValid(text, start, end);
    case "aadhaar":
      return verhoeffValid(text, start, end);
    case "dni":
      return dniValid(text.slice(start, end).replaceAll("-", ""));
    case "bsn":
      return elevenTest(text, start);
    case "passport":
    case "licence":
    case "national":
      return plausibleDocumentNumber(text, start, end);
  }
}

/**
 * Two digits in a row somewhere (every format here has them, and the scan only looks near digit
 * pairs); digits only only if there are 7 or more (not a year, a count, a page).
 */
function plausibleDocumentNumber(text: string, start: number, end: number): boolean {
  let digits = 0;
  let letters = 0;
  let pair = false;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (isDigit(code)) {
      digits++;
      if (isDigit(text.charCodeAt(at - 1)) && at > start) pair = true;
    } else if (isUpper(code)) letters++;
  }
  return pair && (letters > 0 || digits >= 7);
}

const DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE";

/** Spanish DNI (8 digits + letter) and NIE (X/Y/Z for 0/1/2, 7 digits, letter): number mod 23 picks the letter. */
function dniValid(value: string): boolean {
  const lead = "XYZ".indexOf(value[0] ?? "");
  const digits = lead >= 0 ? `${lead}${value.slice(1, -1)}` : value.slice(0, -1);
  return DNI_LETTERS[Number(digits) % 23] === value.at(-1);
}

/** Dutch BSN "11-test": 9·d1 + 8·d2 + … + 2·d8 − d9 is a multiple of 11 (and not all zeros). */
function elevenTest(text: string, start: number): boolean {
  let sum = 0;
  for (let index = 0; index < 8; index++) sum += (9 - index) * (text.charCodeAt(start + index) - 48);
  sum -= text.charCodeAt(start + 8) - 48;
  return sum % 11 === 0 && sum !== 0;
}
