import { isAlnum, isDigit, isUpper } from "./chars.js";
import { ibanMod97Valid } from "./checksums.js";
import type { Detector, Match } from "./detector.js";

/** IBAN length per country (SWIFT IBAN registry). */
// biome-ignore format: a table
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/**
 * International Bank Account Numbers (`kind: iban`): country code, two check digits and the
 * country's BBAN, at exactly the country's registered length, written unbroken
 * (`DE89370400440532013000`) or in groups of four separated by single spaces
 * (`GB82 WEST 1234 5698 7654 32`), passing the ISO 7064 mod-97 check.
 *
 * Deliberately not matched: lowercase IBANs, wrong lengths, check-digit failures, groups other
 * than fours, values glued to letters or digits.
 */
export const ibanDetector: Detector = {
  kind: "iban",
  group: "pii",
  find(text) {
    const matches: Match[] = [];
    const head = /[A-Z]{2}[0-9]{2}/g;
    while (head.test(text)) {
      const start = head.lastIndex - 4;
      if (isAlnum(text.charCodeAt(start - 1))) continue;
      const length = IBAN_LENGTHS[text.slice(start, start + 2)];
      if (length === undefined) continue;
      const end = ibanEnd(text, start, length);
      if (end !== undefined && ibanMod97Valid(text, start, end)) {
        matches.push({ start, end, score: 1 });
        head.lastIndex = end;
      }
    }
    return matches;
  },
};

function isIbanChar(code: number): boolean {
  return isDigit(code) || isUpper(code);
}

/** Where an IBAN of `length` characters starting at `start` ends, unbroken or in fours; else undefined. */
function ibanEnd(text: string, start: number, length: number): number | undefined {
  let at = start + 4;
  let count = 4;
  if (text.charCodeAt(at) === 32) {
    while (count < length) {
      if (text.charCodeAt(at) !== 32) return undefined;
      at++;
      const group = Math.min(4, length - count);
      for (let i = 0; i < group; i++) if (!isIbanChar(text.charCodeAt(at++))) return undefined;
      count += group;
    }
  } else {
    while (count < length && isIbanChar(text.charCodeAt(at))) {
      at++;
      count++;
    }
    if (count < length) return undefined;
  }
  return isAlnum(text.charCodeAt(at)) ? undefined : at;
}
