/**
 * Character tests on UTF-16 code units, for detectors that expand around an anchor by hand
 * instead of running a regex over an unbounded run. NaN (outside the string) is none of these.
 */

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

export function isUpper(code: number): boolean {
  return code >= 65 && code <= 90;
}

export function isLower(code: number): boolean {
  return code >= 97 && code <= 122;
}

export function isLetter(code: number): boolean {
  return isUpper(code) || isLower(code);
}

/** ASCII letter or digit. */
export function isAlnum(code: number): boolean {
  return isDigit(code) || isUpper(code) || isLower(code);
}

/** ASCII letter, digit or `_`: what a value must not touch on either side to stand on its own. */
export function isWordChar(code: number): boolean {
  return isAlnum(code) || code === 95;
}

export function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}
