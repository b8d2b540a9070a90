import type { Detector, Match } from "./detector.js";
import {
  ALNUM,
  classesIn,
  classOf,
  DASH,
  DIGIT,
  DOT,
  forEachRun,
  hasContext,
  IDENTIFIER,
  isHex,
  isIn,
  LETTER,
  LOWER,
  PLUS_SLASH,
  shannonEntropy,
  TILDE,
  UNDERSCORE,
} from "./secret-text.js";
import { isPublicByDesign, isVendorFormat } from "./vendors.js";

const TOKEN = ALNUM | PLUS_SLASH | DASH | UNDERSCORE | DOT | TILDE;
const MIN_LENGTH = 20;
const MAX_LENGTH = 512;
/** Bits per character: random base62 of 20 characters has about 4, English words and identifiers under 3.5. */
const MIN_ENTROPY = 3.5;
/** Random hex of 32 characters has about 3.8 bits per character. */
const MIN_HEX_ENTROPY = 3;

/** Words near a value that say it is a credential (judged as whole words, camelCase aware). */
const CONTEXT =
  /api[-_ ]?key|apikey|access[-_ ]?key|private[-_ ]?key|client[-_ ]?secret|secret|token|bearer|authorization|auth|credentials?|private/gi;

/**
 * Secrets with no recognisable format: tokens of 20 to 512 characters (letters, digits and
 * `+/_-.~`, with `=` padding) with letters and digits, high Shannon entropy (3.5 bits/char) and
 * no run of words, and only where the text says what they are:
 * - the value of a key naming a secret (`api_key=`, `"clientSecret": "…"`, `X-Api-Key:`,
 *   `--token …`, `?access_token=…`; not `token_type`, `key_id`, `token_hash`, `public_key`…),
 *   or after `Bearer`, `token` or `Basic` (base64 of `user:password`): score 0.8;
 * - otherwise within 48 characters of token, secret, api key, bearer, auth, credential or
 *   private, unless it is the value of some other key: score 0.6.
 * Hex (32 digits or more) is flagged only as the value of a secret-named key or after `Bearer` or
 * `token` (score 0.6), never by nearness: it is far more often a digest. Never flagged: UUIDs, paths, identifiers (`refreshAccessTokenAsync`),
 * base64 of ordinary text or of images (`iVBORw0KGgo…`, after `base64,`), and tokens a vendor
 * detector recognises (AWS, GitHub, Slack, JWT…), which report them under their own kind, and
 * values public by design (Stripe publishable keys).
 */
export const highEntropyToken: Detector = {
  kind: "generic_secret",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    forEachRun(text, MIN_LENGTH, TOKEN, (runStart, runEnd) => {
      const match = judge(text, runStart, runEnd);
      if (match) matches.push(match);
    });
    return matches;
  },
};

function judge(text: string, runStart: number, runEnd: number): Match | undefined {
  let start = runStart;
  let end = runEnd;
  // Raw JSON: the letter of an escape (`\n`, `\u0041`) is not part of the token after it.
  if (text.charCodeAt(start - 1) === 92 /* \ */) start += text[start] === "u" ? 5 : 1;
  while (end > start && text.charCodeAt(end - 1) === 46 /* . */) end--;
  while (start < end && text.charCodeAt(start) === 46) start++;
  // Base64 padding, when nothing but a delimiter follows it.
  let padded = end;
  while (padded < end + 2 && text.charCodeAt(padded) === 61 /* = */) padded++;
  if (padded > end && !isIn(text.charCodeAt(padded), TOKEN) && text.charCodeAt(padded) !== 61) end = padded;
  const length = end - start;
  if (length < MIN_LENGTH || length > MAX_LENGTH) return undefined;

  // Cheapest tests first: most runs are digests, UUIDs and paths.
  const first = text.charCodeAt(start);
  if (first === 126 /* ~ */ || text.endsWith("base64,", start)) return undefined;
  const classes = classesIn(text, start, end);
  if (!(classes & DIGIT) || !(classes & LETTER)) return undefined;
  if (classes & DASH && isUuidLike(text, start, end)) return undefined;
  const hex = !(classes & ~(DIGIT | LETTER)) && isHex(text, start, end);
  let before: Preceding;
  let token: string;
  if (hex) {
    // Hex only as a secret-named key's value or after Bearer/token: elsewhere it is a digest.
    if (length < 32) return undefined;
    before = whatPrecedes(text, start);
    const named = before.key !== undefined && namesSecret(before.key);
    if (!named && before.scheme !== "bearer" && before.scheme !== "token") return undefined;
    if (shannonEntropy(text, start, end) < MIN_HEX_ENTROPY) return undefined;
    token = text.slice(start, end);
  } else {
    if (shannonEntropy(text, start, end) < MIN_ENTROPY) return undefined;
    token = text.slice(start, end);
    if (isWordLike(token) || isPathLike(token) || isImageData(token)) return undefined;
    before = whatPrecedes(text, start);
  }

  let score: number;
  if (before.key !== undefined) {
    if (!namesSecret(before.key)) return undefined;
    score = hex ? 0.6 : 0.8;
  } else if (before.scheme === "bearer" || before.scheme === "token") score = hex ? 0.6 : 0.8;
  else if (before.scheme === "basic") {
    if (!decodesTo(token, (decoded) => decoded.includes(":"))) return undefined;
    score = 0.8;
  } else {
    if (decodesTo(token, isOrdinaryText) || !hasContext(text, start, end, CONTEXT)) return undefined;
    score = 0.6;
  }
  if (isVendorFormat(token) || isPublicByDesign(token)) return undefined;
  return { start, end, score };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** A UUID, alone or inside the token (`req_0f8c…`, `urn-uuid-…`). */
function isUuidLike(text: string, start: number, end: number): boolean {
  if (end - start < 36) return false;
  if (end - start === 36)
    return (
      text.charCodeAt(start + 8) === 45 &&
      text.charCodeAt(start + 13) === 45 &&
      text.charCodeAt(start + 18) === 45 &&
      text.charCodeAt(start + 23) === 45 &&
      isHex(text, start, start + 8) &&
      isHex(text, start + 24, end)
    );
  return UUID.test(text.slice(start, end));
}

/**
 * Identifiers, dotted names and slugs: half or more of the characters are in segments that are
 * words (three or more letters) or numbers, or in runs of four or more lower-case letters
 * (`refreshAccessToken2`, `release-2024-notes`, `site-packages/python3`). A random token has few.
 */
function isWordLike(token: string): boolean {
  let wordy = 0;
  let segmentStart = 0;
  for (let at = 0; at <= token.length; at++) {
    if (at < token.length && isIn(token.charCodeAt(at), ALNUM)) continue;
    const classes = classesIn(token, segmentStart, at);
    const length = at - segmentStart;
    if (classes === DIGIT || (!(classes & DIGIT) && length >= 3)) wordy += length;
    else wordy += lowerRuns(token, segmentStart, at);
    segmentStart = at + 1;
  }
  return wordy * 2 >= token.length;
}

/** How many characters of the span are in runs of four or more lower-case letters. */
function lowerRuns(token: string, start: number, end: number): number {
  let total = 0;
  let run = 0;
  for (let at = start; at <= end; at++) {
    if (at < end && classOf(token.charCodeAt(at)) & LOWER) run++;
    else {
      if (run >= 4) total += run;
      run = 0;
    }
  }
  return total;
}

/** Relative paths and protocol-relative URLs; other paths are words and are refused as such. */
function isPathLike(token: string): boolean {
  return token.startsWith("./") || token.startsWith("../") || token.startsWith("//");
}

/** PNG, JPEG, GIF, WebP and PDF data in base64 (data after `base64,` is refused before this). */
function isImageData(token: string): boolean {
  return /^(?:iVBORw0KGgo|\/9j\/|R0lGOD|UklGR|JVBERi0)/.test(token);
}

function decodesTo(token: string, test: (decoded: string) => boolean): boolean {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(token) || token.length % 4 === 1) return false;
  const decoded = Buffer.from(token, "base64").toString("latin1");
  return decoded.length > 0 && test(decoded);
}

/** Printable ASCII, mostly letters and spaces: `aGVsbG8gd29ybGQ=` is "hello world", not a secret. */
function isOrdinaryText(decoded: string): boolean {
  let letters = 0;
  for (let at = 0; at < decoded.length; at++) {
    const code = decoded.charCodeAt(at);
    if (code < 32 || code > 126) return false;
    if (isIn(code, LETTER) || code === 32) letters++;
  }
  return letters * 4 >= decoded.length * 3;
}

interface Preceding {
  /** The key the token is the value of (`api_key`, `X-Api-Key`, `--token`). */
  key?: string;
  /** `bearer`, `token` or `basic` right before the token, as in an Authorization header. */
  scheme?: string;
}

/** What is written right before the token: `key=`, `"key": "`, `key => '`, `--flag `, `Bearer `. */
function whatPrecedes(text: string, start: number): Preceding {
  let at = start;
  if (isQuote(text.charCodeAt(at - 1))) {
    at--;
    while (text.charCodeAt(at - 1) === 92 && at > start - 4) at--;
  }
  const beforeBlanks = at;
  at = skipBlanksBack(text, at);
  const code = text.charCodeAt(at - 1);
  if (code === 61 /* = */) {
    at--;
    if (text.charCodeAt(at - 1) === 61 || text.charCodeAt(at - 1) === 33) return {}; // == !=
    if (text.charCodeAt(at - 1) === 58) at--; // :=
  } else if (code === 62 /* > */ && text.charCodeAt(at - 2) === 61) at -= 2;
  else if (code === 58 /* : */) at--;
  else {
    if (at === beforeBlanks) return {};
    const wordStart = identifierStart(text, at);
    const word = text.slice(wordStart, at);
    if (word.startsWith("-")) return { key: word };
    const lower = word.toLowerCase();
    return lower === "bearer" || lower === "token" || lower === "basic" ? { scheme: lower } : {};
  }
  at = skipBlanksBack(text, at);
  if (text.charCodeAt(at - 1) === 93 /* ] */) at--;
  const quotedKey = isQuote(text.charCodeAt(at - 1));
  if (quotedKey) {
    at--;
    while (text.charCodeAt(at - 1) === 92 && at > start - 80) at--;
  }
  const keyStart = identifierStart(text, at);
  if (keyStart === at) return {};
  // After a bare colon, a key starts a line or an entry; `my token for staging: …` is prose.
  if (code === 58 && !quotedKey && !startsEntry(text, keyStart)) return {};
  return { key: text.slice(keyStart, at) };
}

/** Whether only indentation, a list dash, or an opening or separating mark stands before `at` on its line. */
function startsEntry(text: string, at: number): boolean {
  let before = at - 1;
  while (before >= at - 16 && (text.charCodeAt(before) === 32 || text.charCodeAt(before) === 9)) before--;
  const code = text.charCodeAt(before);
  return before < 0 || code === 10 || code === 13 || "{[(,;-\\".includes(text[before] as string);
}

function isQuote(code: number): boolean {
  return code === 34 || code === 39 || code === 96;
}

function skipBlanksBack(text: string, from: number): number {
  let at = from;
  while (at > from - 8 && (text.charCodeAt(at - 1) === 32 || text.charCodeAt(at - 1) === 9)) at--;
  return at;
}

function identifierStart(text: string, end: number): number {
  let at = end;
  while (at > end - 64 && isIn(text.charCodeAt(at - 1), IDENTIFIER)) at--;
  return at;
}

const SECRET_WORDS = new Set([
  "token",
  "secret",
  "apikey",
  "key",
  "auth",
  "authorization",
  "credential",
  "credentials",
  "bearer",
  "passphrase",
]);
/** Last words that make a key about a secret rather than the secret itself (`token_type`, `key_id`). */
const NOT_THE_SECRET = new Set([
  "id",
  "ids",
  "hash",
  "sha",
  "sha1",
  "sha256",
  "digest",
  "checksum",
  "fingerprint",
  "name",
  "type",
  "url",
  "uri",
  "path",
  "file",
  "length",
  "len",
  "size",
  "ttl",
  "expiry",
  "expires",
  "expiration",
  "at",
  "header",
  "prefix",
  "count",
  "version",
  "kind",
  "format",
  "algorithm",
  "alg",
  "endpoint",
  "host",
  "ref",
  "arn",
  "issuer",
  "audience",
  "scope",
  "scopes",
  "usage",
  "limit",
]);
/** Words that make a `key` something other than a credential (`public_key`, `idempotency-key`). */
const NOT_A_CREDENTIAL = new Set([
  "public",
  "idempotency",
  "cache",
  "sort",
  "partition",
  "primary",
  "foreign",
  "routing",
  "object",
  "row",
  "lookup",
  "dedup",
  "dedupe",
]);

/** Keys repeat (every log line's `request_id=`): their verdicts are remembered, a few hundred at most. */
const verdicts = new Map<string, boolean>();

/** Whether a key names a secret: one of its words does, and its last word is not a property of one. */
function namesSecret(key: string): boolean {
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    if (verdicts.size >= 512) verdicts.clear();
    verdict = judgeKey(key);
    verdicts.set(key, verdict);
  }
  return verdict;
}

function judgeKey(key: string): boolean {
  const words = key
    .replace(/^-+/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 0);
  const last = words.at(-1);
  if (last === undefined || NOT_THE_SECRET.has(last)) return false;
  if (words.some((word) => NOT_A_CREDENTIAL.has(word))) return false;
  return words.some((word) => SECRET_WORDS.has(word));
}
