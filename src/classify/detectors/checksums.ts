/**
 * Check digits of the formats the personal-data detectors recognise. Each reads the digits of
 * `text` between `start` and `end` in place (skipping separators such as spaces and dashes), so
 * validating a candidate allocates nothing.
 */

import { isDigit } from "./chars.js";

/** Luhn (mod 10): payment cards, Canadian SINs. */
export function luhnValid(text: string, start: number, end: number): boolean {
  let sum = 0;
  let double = false;
  let count = 0;
  for (let at = end - 1; at >= start; at--) {
    const code = text.charCodeAt(at);
    if (!isDigit(code)) continue;
    let digit = code - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
    count++;
  }
  return count > 1 && sum % 10 === 0;
}

const VERHOEFF_D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 8, 5],
];

/** Verhoeff (catches every single-digit error and adjacent swap): Indian Aadhaar numbers. */
export function verhoeffValid(text: string, start: number, end: number): boolean {
  let check = 0;
  let position = 0;
  for (let at = end - 1; at >= start; at--) {
    const code = text.charCodeAt(at);
    if (!isDigit(code)) continue;
    const permuted = VERHOEFF_P[position % 8]?.[code - 48] ?? 0;
    check = VERHOEFF_D[check]?.[permuted] ?? 0;
    position++;
  }
  return position > 1 && check === 0;
}

/**
 * ISO 7064 mod 97-10 as IBANs use it: the first four characters (country code and check digits)
 * move to the end, letters count as 10–35, and the whole number must leave remainder 1 mod 97.
 * Spaces are skipped; any other character fails.
 */
export function ibanMod97Valid(text: string, start: number, end: number): boolean {
  let remainder = 0;
  let seen = 0;
  const add = (code: number): boolean => {
    if (isDigit(code)) remainder = (remainder * 10 + code - 48) % 97;
    else if (code >= 65 && code <= 90) remainder = (remainder * 100 + code - 55) % 97;
    else return code === 32;
    return true;
  };
  let head = start;
  // Skip the first four significant characters, then add them after the rest.
  while (head < end && seen < 4) if (text.charCodeAt(head++) !== 32) seen++;
  for (let at = head; at < end; at++) if (!add(text.charCodeAt(at))) return false;
  for (let at = start; at < head; at++) if (!add(text.charCodeAt(at))) return false;
  return remainder === 1;
}
