import { isAlnum, isLetter } from "./chars.js";
import { nearWord } from "./context.js";
import type { Detector, Match } from "./detector.js";

const LOCAL_MAX = 64;
const DOMAIN_MAX = 253;
const LABEL_MAX = 63;
const LABELS_MAX = 8;

/** Words that say an obfuscated `name at domain dot com` is an address. */
const EMAIL_WORDS = ["email", "e-mail", "mail", "mailto", "contact", "write", "reach", "inbox", "address"];

/**
 * File extensions that look like a top-level domain after an `@`: `icon@2x.png`, `logo@3x.webp`,
 * `lib@next.js` are asset and package names, not addresses.
 */
// biome-ignore format: a word list
const FILE_EXTENSIONS = new Set([
  "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "css", "scss", "sass",
  "less", "js", "mjs", "cjs", "jsx", "ts", "tsx", "json", "yaml", "yml", "toml", "xml", "html", "htm",
  "txt", "log", "lock", "map", "wasm", "pdf", "csv", "tar", "gz", "tgz", "bz", "xz", "whl", "jar",
  "py", "rb", "rs", "go", "java", "kt", "swift", "md", "sh", "exe", "dll", "so", "dylib", "mp3", "mp4",
  "mov", "wav", "ttf", "otf", "woff", "woff2",
]);

/** Local-part words that, before a spelled-out " at ", are English, not a mailbox: "meet me at …". */
// biome-ignore format: a word list
const NOT_A_MAILBOX = new Set([
  "me", "us", "him", "her", "them", "you", "it", "is", "are", "was", "were", "be", "been", "look", "looking",
  "work", "works", "live", "lives", "stay", "arrive", "arrived", "meet", "home", "here", "there", "one",
  "that", "this", "and", "or", "the", "a", "an", "not", "only", "least", "best", "worst", "all",
]);

/**
 * E-mail addresses (`kind: email`): `local@domain.tld` with `+tags`, dots and subdomains, and the
 * common obfuscations `name [at] domain [dot] com`, `name(at)domain.com`, `name {at} …` (found on
 * their own) and the spelled-out `name at domain dot com` (only next to a word such as "email",
 * "contact" or "write", and only with at least one spelled-out "dot"). The span is the address as
 * written, obfuscation words included, without a trailing full stop.
 *
 * Deliberately not matched: `user:pass@host` in URLs (credentials, not a mailbox), scp-style
 * `git@host:path`, `@handles`, `icon@2x.png`-style asset names (a file extension is not a
 * top-level domain), `pkg@1.2.3` (numeric TLD), quoted local parts and non-ASCII addresses.
 */
export const emailDetector: Detector = {
  kind: "email",
  group: "pii",
  find(text) {
    const plain = findPlain(text);
    const obfuscated = findObfuscated(text);
    return obfuscated.length === 0 ? plain : merge(plain, obfuscated);
  },
};

function isLocalChar(code: number): boolean {
  // letters, digits and . _ % + - (the unquoted local-part characters seen in practice)
  return isAlnum(code) || code === 46 || code === 95 || code === 37 || code === 43 || code === 45;
}

function isDomainChar(code: number): boolean {
  return isAlnum(code) || code === 46 || code === 45;
}

function findPlain(text: string): Match[] {
  const matches: Match[] = [];
  let floor = 0;
  let at = text.indexOf("@");
  while (at >= 0) {
    const match = plainAt(text, at, floor);
    if (match) {
      matches.push(match);
      floor = match.end;
    }
    at = text.indexOf("@", Math.max(at + 1, floor));
  }
  return matches;
}

/** The address around the `@` at `at`, expanding at most LOCAL_MAX left and DOMAIN_MAX right. */
function plainAt(text: string, at: number, floor: number): Match | undefined {
  let start = at;
  while (start > floor && at - start <= LOCAL_MAX && isLocalChar(text.charCodeAt(start - 1))) {
    // Two dots cannot be in a local part: an ellipsis ends the sentence before the address.
    if (text.charCodeAt(start - 1) === 46 && text.charCodeAt(start - 2) === 46) break;
    start--;
  }
  if (at - start > LOCAL_MAX) return undefined;
  while (start < at && text.charCodeAt(start) === 46) start++; // "…see.john@…" keeps "john"
  if (!validLocal(text, start, at)) return undefined;
  if (text.charCodeAt(start - 1) === 58 /* : */ && isUrlUserinfo(text, start - 1)) return undefined;

  let end = at + 1;
  while (end < text.length && end - at <= DOMAIN_MAX && isDomainChar(text.charCodeAt(end))) end++;
  if (end - at > DOMAIN_MAX) return undefined;
  while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
  if (!validDomain(text, at + 1, end)) return undefined;
  // scp-style "git@github.com:org/repo.git" names a host, not a mailbox.
  if (text.charCodeAt(end) === 58 && end + 1 < text.length && text.charCodeAt(end + 1) > 32) return undefined;
  return { start, end, score: 1 };
}

/** Non-empty, no dot at either end, no two dots in a row. */
function validLocal(text: string, start: number, end: number): boolean {
  if (start === end || text.charCodeAt(start) === 46 || text.charCodeAt(end - 1) === 46) return false;
  for (let at = start + 1; at < end; at++)
    if (text.charCodeAt(at) === 46 && text.charCodeAt(at - 1) === 46) return false;
  return true;
}

/** `https://user:secret@host`: a `:` before the local part, after `//` with no space between. */
function isUrlUserinfo(text: string, colon: number): boolean {
  for (let at = colon - 1; at > 0 && colon - at < 128; at--) {
    const code = text.charCodeAt(at);
    if (code <= 32 || code === 34 || code === 39) return false;
    if (code === 47 && text.charCodeAt(at - 1) === 47) return true;
  }
  return false;
}

/** Dot-separated labels of letters, digits and inner hyphens; the last one a plausible TLD. */
function validDomain(text: string, start: number, end: number): boolean {
  let labels = 0;
  let labelStart = start;
  let lastLabel = start;
  for (let at = start; at <= end; at++) {
    if (at < end && text.charCodeAt(at) !== 46) continue;
    const length = at - labelStart;
    if (length === 0 || length > LABEL_MAX) return false;
    if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(at - 1) === 45) return false;
    labels++;
    lastLabel = labelStart;
    labelStart = at + 1;
  }
  return labels >= 2 && plausibleTld(text, lastLabel, end);
}

function plausibleTld(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 2 || length > 24) return false;
  for (let at = start; at < end; at++) if (!isLetter(text.charCodeAt(at))) return false;
  return !FILE_EXTENSIONS.has(text.slice(start, end).toLowerCase());
}

/**
 * The core of an at-marker: "at" between two of space and brackets ("[at]", "(at)", " at ",
 * "[ at ]" via its inner " at "). Simple classes let the regex engine skip ahead fast; the full
 * marker is worked out around each hit.
 */
const AT_CORE = /[ [({<][aA][tT][ \])}>]/g;
/** "[dot]"-style, a spelled-out " dot ", or a real dot; tried at one position (sticky). */
const DOT_MARKER = /\s?[[({<]\s?dot\s?[\])}>]\s?| dot |\./iy;

function isOpening(code: number): boolean {
  return code === 91 || code === 40 || code === 123 || code === 60;
}

function isClosing(code: number): boolean {
  return code === 93 || code === 41 || code === 125 || code === 62;
}

function findObfuscated(text: string): Match[] {
  const matches: Match[] = [];
  AT_CORE.lastIndex = 0;
  let floor = 0;
  while (AT_CORE.test(text)) {
    let start = AT_CORE.lastIndex - 4;
    let end = AT_CORE.lastIndex;
    if (text.charCodeAt(start) === 32 && isOpening(text.charCodeAt(start - 1))) start--;
    if (text.charCodeAt(end - 1) === 32 && isClosing(text.charCodeAt(end))) end++;
    const opened = isOpening(text.charCodeAt(start));
    if (opened !== isClosing(text.charCodeAt(end - 1))) continue; // "(at " or " at)": not a marker
    if (opened) {
      if (text.charCodeAt(start - 1) === 32) start--;
      if (text.charCodeAt(end) === 32) end++;
    }
    const match = obfuscatedAt(text, start, end, floor, !opened);
    if (match) {
      matches.push(match);
      floor = match.end;
      AT_CORE.lastIndex = match.end;
    }
  }
  return matches;
}

function obfuscatedAt(
  text: string,
  markerStart: number,
  markerEnd: number,
  floor: number,
  spelledAt: boolean,
): Match | undefined {
  let start = markerStart;
  while (start > floor && markerStart - start <= LOCAL_MAX && isLocalChar(text.charCodeAt(start - 1)))
    start--;
  if (markerStart - start > LOCAL_MAX || start === markerStart) return undefined;
  while (start < markerStart && text.charCodeAt(start) === 46) start++;
  if (start === markerStart || text.charCodeAt(markerStart - 1) === 46) return undefined;

  let end = markerEnd;
  let labels = 0;
  let spelledDots = 0;
  let lastLabel = end;
  for (;;) {
    const labelStart = end;
    while (end < text.length && end - labelStart <= LABEL_MAX && isDomainLabelChar(text.charCodeAt(end)))
      end++;
    if (end === labelStart || end - labelStart > LABEL_MAX) return undefined;
    labels++;
    lastLabel = labelStart;
    if (labels === LABELS_MAX) break;
    DOT_MARKER.lastIndex = end;
    if (!DOT_MARKER.test(text)) break;
    const next = DOT_MARKER.lastIndex;
    if (!isDomainLabelChar(text.charCodeAt(next))) break;
    if (next - end > 1) spelledDots++;
    end = next;
  }
  if (labels < 2 || isDomainLabelChar(text.charCodeAt(end))) return undefined;
  if (!plausibleTld(text, lastLabel, end)) return undefined;
  if (spelledAt) {
    // "meet me at home dot com": only with a spelled-out dot, a mailbox-like name and context.
    if (spelledDots === 0) return undefined;
    if (NOT_A_MAILBOX.has(text.slice(start, markerStart).toLowerCase())) return undefined;
    if (!nearWord(text, start, end, EMAIL_WORDS)) return undefined;
    return { start, end, score: 0.7 };
  }
  return { start, end, score: 0.9 };
}

function isDomainLabelChar(code: number): boolean {
  return isAlnum(code) || code === 45;
}

/** Two sorted lists of matches as one, keeping the longer of two that overlap. */
function merge(a: Match[], b: Match[]): Match[] {
  const all = [...a, ...b].sort((x, y) => x.start - y.start || y.end - x.end);
  const kept: Match[] = [];
  for (const match of all) {
    const last = kept.at(-1);
    if (last === undefined || match.start >= last.end) kept.push(match);
    else if (match.end - match.start > last.end - last.start) kept[kept.length - 1] = match;
  }
  return kept;
}
