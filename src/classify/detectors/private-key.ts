import type { Detector, Match } from "./detector.js";
import { BASE64, DASH, IDENTIFIER, isIn, runEnd } from "./secret-text.js";

const DASHES = "-----";
const BEGIN = "-----BEGIN ";
const END = "-----END ";
const LABEL = "PRIVATE KEY";
/** How far the body of one block may run: a PGP key block with subkeys is a few kilobytes. */
const MAX_BODY = 65536;
/** Fewer base64 characters than this is a placeholder (`…`), not a key: the smallest EC key has ~160. */
const MIN_BODY = 64;

/**
 * PEM and OpenPGP armoured private keys: `-----BEGIN <label>PRIVATE KEY-----` (label such as
 * `RSA `, `EC `, `DSA `, `OPENSSH `, `ENCRYPTED `, or none) or `-----BEGIN PGP PRIVATE KEY
 * BLOCK-----`, armour headers (`Proc-Type:`, `DEK-Info:`, `Version:`), at least 64 base64
 * characters, and the matching `-----END …-----` line. The span is the whole block. Line breaks
 * may be real or escaped (`\n` in a JSON string or a .env value). A block cut off before its END
 * line is still flagged, up to its last base64 character (score 0.9, else 1). Public keys and
 * certificates are not flagged, nor a BEGIN line with no key under it (`-----BEGIN PRIVATE
 * KEY-----\n...\n`).
 * https://datatracker.ietf.org/doc/html/rfc7468 and https://datatracker.ietf.org/doc/html/rfc4880#section-6.2
 */
export const privateKey: Detector = {
  kind: "private_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    let from = 0;
    // "-----" is found faster than "-----BEGIN " (V8 scans for a pattern's first character).
    for (let start = text.indexOf(DASHES); start >= 0; start = text.indexOf(DASHES, from)) {
      from = start + 1;
      if (!text.startsWith(BEGIN, start)) {
        // In a longer run of dashes only the last five can start BEGIN.
        if (text.charCodeAt(start + 5) === 45)
          from = Math.max(from, runEnd(text, start, DASH, text.length) - 5);
        continue;
      }
      const headerEnd = armourLineEnd(text, start + BEGIN.length);
      if (headerEnd < 0) continue;
      const body = readBody(text, headerEnd);
      if (body.base64 < MIN_BODY) continue;
      const footerEnd = text.startsWith(END, body.stop) ? armourLineEnd(text, body.stop + END.length) : -1;
      const end = footerEnd < 0 ? body.end : footerEnd;
      matches.push({ start, end, score: footerEnd < 0 ? 0.9 : 1 });
      from = end;
    }
    return matches;
  },
};

/** After `BEGIN ` or `END `: an upper-case label ending in `PRIVATE KEY` or `PRIVATE KEY BLOCK`, and `-----`. */
function armourLineEnd(text: string, from: number): number {
  for (let at = from; at <= from + 40; at++) {
    if (text.startsWith(LABEL, at)) {
      let end = at + LABEL.length;
      if (text.startsWith(" BLOCK", end)) end += 6;
      return text.startsWith("-----", end) ? end + 5 : -1;
    }
    const code = text.charCodeAt(at);
    if (!((code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 32)) return -1;
  }
  return -1;
}

interface Body {
  /** After the last base64 character. */
  end: number;
  /** Where reading stopped, past the line break after the data: an END line starts here if any. */
  stop: number;
  /** How many base64 characters the data holds. */
  base64: number;
}

/** The armour headers and base64 lines after a BEGIN line, read no further than MAX_BODY. */
function readBody(text: string, from: number): Body {
  const limit = Math.min(text.length, from + MAX_BODY);
  let at = from;
  let end = from;
  let base64 = 0;
  for (;;) {
    const lineEnd = at;
    at = skipLineBreaks(text, at, limit);
    if (at >= limit) break;
    // A blank line ends the data (what follows is prose), unless the END line comes next.
    if (base64 > 0 && hasBlankLine(text, lineEnd, at) && !text.startsWith(END, at)) {
      at = lineEnd;
      break;
    }
    if (base64 === 0) {
      const headerEnd = armourHeaderEnd(text, at, limit);
      if (headerEnd > at) {
        at = headerEnd;
        continue;
      }
    }
    // Data, with `=` for padding and the OpenPGP checksum line (`=XXXX`). A line ends at a line
    // break or the END line; a long run may also end at a space (keys pasted onto one line), a
    // word of prose may not.
    const run = runEndWithPadding(text, at, limit);
    if (run === at) break;
    const next = skipBlanks(text, run, limit);
    if (run - at < 32 && next < limit && !isLineBreak(text, next) && !text.startsWith("-----", next)) break;
    base64 += run - at;
    end = run;
    at = next;
  }
  return { end, stop: at, base64 };
}

function runEndWithPadding(text: string, from: number, limit: number): number {
  let at = from;
  while (at < limit) {
    const code = text.charCodeAt(at);
    if (code !== 61 /* = */ && !isIn(code, BASE64)) break;
    at++;
  }
  return at;
}

/** Whether `text.slice(from, to)` (spaces and line breaks) holds two line breaks. */
function hasBlankLine(text: string, from: number, to: number): boolean {
  let breaks = 0;
  for (let at = from; at < to; at++) {
    const code = text.charCodeAt(at);
    if (code === 10 || (code === 110 && text.charCodeAt(at - 1) === 92)) breaks++;
  }
  return breaks >= 2;
}

function skipBlanks(text: string, from: number, limit: number): number {
  let at = from;
  while (at < limit && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
  return at;
}

/** CR, LF, or an escaped one (`\n`, `\\r`). */
function isLineBreak(text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  if (code === 10 || code === 13) return true;
  if (code !== 92) return false;
  let letter = at + 1;
  while (letter < at + 4 && text.charCodeAt(letter) === 92) letter++;
  return text.charCodeAt(letter) === 110 || text.charCodeAt(letter) === 114;
}

/** Spaces, tabs, CR, LF, and their escaped forms (`\n`, `\\n`) as a JSON string or .env value writes them. */
function skipLineBreaks(text: string, from: number, limit: number): number {
  let at = from;
  while (at < limit) {
    const code = text.charCodeAt(at);
    if (code === 32 || code === 9 || code === 10 || code === 13) at++;
    else if (code === 92 /* \ */) {
      let letterAt = at + 1;
      while (letterAt < at + 4 && text.charCodeAt(letterAt) === 92) letterAt++;
      const letter = text.charCodeAt(letterAt);
      if (letter !== 110 && letter !== 114 && letter !== 116) break; // n r t
      at = letterAt + 1;
    } else break;
  }
  return at;
}

/** `Name: value` up to the end of its line (a real or escaped line break), or `from` if not a header. */
function armourHeaderEnd(text: string, from: number, limit: number): number {
  const nameEnd = runEnd(text, from, IDENTIFIER, from + 41);
  if (nameEnd === from || nameEnd - from > 40 || isIn(text.charCodeAt(from), DASH)) return from;
  if (text.charCodeAt(nameEnd) !== 58 /* : */ || text.charCodeAt(nameEnd + 1) !== 32) return from;
  const lineLimit = Math.min(limit, nameEnd + 256);
  for (let at = nameEnd + 2; at < lineLimit; at++) {
    const code = text.charCodeAt(at);
    if (code === 10 || code === 13 || code === 92) return at;
  }
  return from;
}
