/**
 * Character tests and value checks shared by the secret detectors. Characters are classified
 * through one lookup table, so a scan allocates nothing per character, and every scan takes a
 * limit: no helper here walks further than its caller allows.
 */

export const UPPER = 1;
export const LOWER = 2;
export const DIGIT = 4;
/** `+` and `/`: the two base64 symbols. */
export const PLUS_SLASH = 8;
export const DASH = 16;
export const UNDERSCORE = 32;
export const DOT = 64;
export const TILDE = 128;

export const LETTER = UPPER | LOWER;
export const ALNUM = UPPER | LOWER | DIGIT;
export const BASE64 = ALNUM | PLUS_SLASH;
export const BASE64URL = ALNUM | DASH | UNDERSCORE;
/** Identifiers in keys such as `DB_PASSWORD`, `api-key`, `spring.datasource.password`. */
export const IDENTIFIER = ALNUM | DASH | UNDERSCORE | DOT;

const CLASSES = new Uint8Array(128);
for (let code = 65; code <= 90; code++) CLASSES[code] = UPPER;
for (let code = 97; code <= 122; code++) CLASSES[code] = LOWER;
for (let code = 48; code <= 57; code++) CLASSES[code] = DIGIT;
CLASSES[43] = PLUS_SLASH; // +
CLASSES[47] = PLUS_SLASH; // /
CLASSES[45] = DASH; // -
CLASSES[95] = UNDERSCORE; // _
CLASSES[46] = DOT; // .
CLASSES[126] = TILDE; // ~

/**
 * Where the next of `prefixes` starts at or after `from` (-1 when none does). One indexOf scan per
 * prefix, each position kept until it is passed, so none rescans the text: cheaper than one
 * regex tried at every character. Call with `from` never decreasing.
 */
export function prefixScanner(text: string, prefixes: readonly string[]): (from: number) => number {
  const next = prefixes.map((prefix) => text.indexOf(prefix));
  return (from) => {
    let start = -1;
    for (let index = 0; index < prefixes.length; index++) {
      let at = next[index] ?? -1;
      if (at >= 0 && at < from) {
        at = text.indexOf(prefixes[index] as string, from);
        next[index] = at;
      }
      if (at >= 0 && (start < 0 || at < start)) start = at;
    }
    return start;
  };
}

/** The class bits of a UTF-16 code unit (0 outside ASCII and for NaN, i.e. outside the text). */
export function classOf(code: number): number {
  return code < 128 ? (CLASSES[code] as number) : 0;
}

/** True when the code unit belongs to one of the classes in `mask`. */
export function isIn(code: number, mask: number): boolean {
  return code < 128 && ((CLASSES[code] as number) & mask) !== 0;
}

/**
 * Where the run of `mask` characters starting at `from` ends, looking no further than `limit`
 * (exclusive). Returns `limit` when the run reaches it; callers tell "exactly that long" from
 * "longer" by testing the character at `limit`.
 */
export function runEnd(text: string, from: number, mask: number, limit: number): number {
  const stop = Math.min(limit, text.length);
  let at = from;
  while (at < stop && isIn(text.charCodeAt(at), mask)) at++;
  return at;
}

/** Where the run of `mask` characters that holds `at` ends, however long it is (a skip, not a match). */
export function skipRun(text: string, at: number, mask: number): number {
  return runEnd(text, at, mask, text.length);
}

/** True when the characters before `start` and at `end` are not in `mask`: the span is a whole token. */
export function isWholeToken(text: string, start: number, end: number, mask: number): boolean {
  return !isIn(text.charCodeAt(start - 1), mask) && !isIn(text.charCodeAt(end), mask);
}

/** Which of upper, lower, digit and symbol the span holds, as class bits (symbols all as DASH). */
export function classesIn(text: string, start: number, end: number): number {
  let seen = 0;
  for (let at = start; at < end; at++) {
    const bits = classOf(text.charCodeAt(at));
    seen |= bits & ALNUM ? bits : DASH;
  }
  return seen;
}

const counts = new Uint16Array(129);

/** Shannon entropy of the span in bits per character (non-ASCII code units count as one symbol). */
export function shannonEntropy(text: string, start: number, end: number): number {
  const length = end - start;
  if (length <= 0) return 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    const slot = code < 128 ? code : 128;
    counts[slot] = (counts[slot] as number) + 1;
  }
  let bits = 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    const slot = code < 128 ? code : 128;
    const count = counts[slot] as number;
    if (count === 0) continue;
    const p = count / length;
    bits -= p * Math.log2(p);
    counts[slot] = 0;
  }
  return bits;
}

/**
 * True when the span looks masked or made up rather than generated: a run of six or more of one
 * character (`XXXXXXXX`, `000000`, `******`) or, in a span of 16 or more, fewer than six distinct
 * characters. A generated key of that length has either with negligible probability.
 */
export function looksRedacted(text: string, start: number, end: number): boolean {
  let run = 0;
  let previous = -1;
  // The ASCII characters seen, as four 32-bit sets.
  let seen0 = 0;
  let seen1 = 0;
  let seen2 = 0;
  let seen3 = 0;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    run = code === previous ? run + 1 : 1;
    if (run >= 6) return true;
    previous = code;
    if (code < 32) seen0 |= 1 << code;
    else if (code < 64) seen1 |= 1 << (code - 32);
    else if (code < 96) seen2 |= 1 << (code - 64);
    else if (code < 128) seen3 |= 1 << (code - 96);
  }
  return end - start >= 16 && bitCount(seen0) + bitCount(seen1) + bitCount(seen2) + bitCount(seen3) < 6;
}

function bitCount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** True when the span is only hexadecimal digits (and at least one). */
export function isHex(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (!((code >= 48 && code <= 57) || (code >= 97 && code <= 102) || (code >= 65 && code <= 70)))
      return false;
  }
  return true;
}

/**
 * True when a word that `pattern` matches (a global, case-insensitive regex such as
 * /secret|token/gi) stands within `window` code units before `start` or after `end` as a word of
 * its own: not inside a longer word, where a change of case counts as a word boundary
 * (`authToken`, `SECRET_KEY`, `x-api-key`). `nearWord` in context.ts takes whole lower-cased words
 * only, so it would not see `token` in `authToken`.
 */
export function hasContext(text: string, start: number, end: number, pattern: RegExp, window = 48): boolean {
  return (
    contextIn(text, Math.max(0, start - window), start, pattern) ||
    contextIn(text, end, Math.min(text.length, end + window), pattern)
  );
}

/** Whether a context word stands in `text.slice(from, to)` (judged against the text around it). */
export function contextIn(text: string, from: number, to: number, pattern: RegExp): boolean {
  if (to <= from) return false;
  const slice = text.slice(from, to);
  pattern.lastIndex = 0;
  for (let match = pattern.exec(slice); match !== null; match = pattern.exec(slice)) {
    const at = from + match.index;
    if (standsAlone(text, at, at + match[0].length)) return true;
    pattern.lastIndex = match.index + 1;
  }
  return false;
}

/**
 * True when `text.slice(start, end)` is a word of its own: the letters around it do not continue
 * it (`tokenize`, `author` and `monkey` do not hold `token`, `auth` and `key`), but a change of case
 * starts a new word (`authToken`, `apiKEY`), as do digits, `_`, `-` and any other symbol.
 */
export function standsAlone(text: string, start: number, end: number): boolean {
  const first = classOf(text.charCodeAt(start));
  const before = classOf(text.charCodeAt(start - 1));
  const after = classOf(text.charCodeAt(end));
  const last = classOf(text.charCodeAt(end - 1));
  const startsWord =
    !(before & LETTER) ||
    (before & LOWER && first & UPPER) ||
    (before & UPPER && first & UPPER && isUpperRun(text, start, end));
  const endsWord = !(after & LOWER) || !(last & LETTER);
  return Boolean(startsWord && endsWord);
}

function isUpperRun(text: string, start: number, end: number): boolean {
  for (let at = start; at < end; at++) if (classOf(text.charCodeAt(at)) & LOWER) return false;
  return true;
}

/**
 * Values written where a secret would go but that are not one: template and environment
 * references (`${DB_PASSWORD}`, `$DB_PASSWORD`, `{{ .Values.password }}`, `%(password)s`,
 * `%DB_PASSWORD%`), angle/square-bracket fill-ins (`<password>`, `[password]`), masks (`***`,
 * `xxxx`, `••••`), ellipses, and the words documentation and type declarations use in place of
 * a value. `changeme` and `changeit` (shipped defaults that say to change them) count as
 * placeholders too: flagging every sample config that carries them would bury real findings.
 */
export function isPlaceholder(value: string): boolean {
  if (value.length === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  // $VAR, ${VAR}, $(cmd): a reference, not a value
  if (first === 36 /* $ */ && value.length > 1) return true;
  // {{ x }}, {x}, <x>, [x], %VAR%, %(x)s
  if ((first === 123 && last === 125) || (first === 60 && last === 62) || (first === 91 && last === 93))
    return true;
  if (first === 37 && (last === 37 || value.charCodeAt(1) === 40)) return true;
  if (value.includes("...") || value.includes("…") || value.includes("{{") || value.includes("${"))
    return true;
  if (isOneCharacterRepeated(value)) return true;
  const lower = value.toLowerCase();
  if (PLACEHOLDER_WORDS.has(lower)) return true;
  // your_password_here, my-secret-key, enter token (words, no digits)
  return (
    /^(?:your|my|the|some|enter|insert|put|add)[-_ a-z]*$/.test(lower) &&
    /pass|secret|key|token|here/.test(lower)
  );
}

function isOneCharacterRepeated(value: string): boolean {
  for (let at = 1; at < value.length; at++) if (value.charCodeAt(at) !== value.charCodeAt(0)) return false;
  return true;
}

const PLACEHOLDER_WORDS = new Set([
  "password",
  "passwd",
  "pass",
  "pwd",
  "passphrase",
  "secret",
  "token",
  "changeme",
  "change_me",
  "change-me",
  "changeit",
  "example",
  "sample",
  "dummy",
  "placeholder",
  "none",
  "null",
  "nil",
  "undefined",
  "true",
  "false",
  "empty",
  "required",
  "optional",
  "string",
  "str",
  "text",
  "varchar",
  "bytes",
  "secretstr",
  "todo",
  "tbd",
  "fixme",
  "redacted",
  "hidden",
  "masked",
  "removed",
  "filtered",
  "not_set",
  "notset",
  "unset",
  "default",
]);

/**
 * Calls `visit(start, end)` for every maximal run of `mask` characters at least `minLength`
 * long, in order of start. Probes every `minLength`-th character while no run is that long
 * (prose and most code), so most characters are read once or not at all, and none more than
 * twice: linear whatever the text.
 */
export function forEachRun(
  text: string,
  minLength: number,
  mask: number,
  visit: (start: number, end: number) => void,
): void {
  const length = text.length;
  let floor = 0; // no run of interest starts before this
  let probe = minLength - 1;
  while (probe < length) {
    if (!isIn(text.charCodeAt(probe), mask)) {
      floor = probe + 1;
      probe += minLength;
      continue;
    }
    let start = probe;
    while (start > floor && isIn(text.charCodeAt(start - 1), mask)) start--;
    const end = skipRun(text, probe, mask);
    if (end - start >= minLength) visit(start, end);
    floor = end + 1;
    probe = end + minLength;
  }
}
