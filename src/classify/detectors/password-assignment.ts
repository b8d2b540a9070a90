import type { Detector, Match } from "./detector.js";
import { ALNUM, IDENTIFIER, isIn, isPlaceholder, LETTER, LOWER, UPPER } from "./secret-text.js";

const PASSWORD_KEY = /p(?:ass(?:word|wd|phrase)?|wd)/gi;
const MAX_KEY = 64;
const MAX_VALUE = 256;
/** Shorter values are more often flags and noise (`pass=ok`) than passwords. */
const MIN_VALUE = 4;

/**
 * Passwords assigned in config, code, commands and logs: a key that ends in `password`,
 * `passwd`, `passphrase`, `pwd` or (after a separator) `pass` — `password=`, `DB_PASSWORD=`,
 * `PGPASSWORD=`, `"password": "…"`, `password: …`, `:password =>`, `--password hunter2`,
 * `<password>…</password>` — then the value. The span is the value only, without quotes.
 * Not flagged: keys that go on (`password_hash`, `PASSWORD_FILE`, `--password-stdin`),
 * comparisons (`password == …`), prose (`reset your password to continue`, `Password: must be
 * 8 characters`: after a bare `:` the value must end its line), placeholders (`***`,
 * `<password>`, `${DB_PASSWORD}`, `changeme`…, see isPlaceholder), references in code
 * (`password=cfg.password`, `password=os.environ["PW"]`, `getpass()`, `password = hashed`),
 * paths (`PWD=/home/app`), and values under 4 characters. Scores 0.8, 0.7 for a bare `key: value`.
 */
export const passwordAssignment: Detector = {
  kind: "password",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    PASSWORD_KEY.lastIndex = 0;
    for (let found = PASSWORD_KEY.exec(text); found !== null; found = PASSWORD_KEY.exec(text)) {
      const match = valueAfterKey(text, found.index, found.index + found[0].length);
      if (match === undefined) continue;
      matches.push(match);
      PASSWORD_KEY.lastIndex = match.end;
    }
    return matches;
  },
};

const QUOTES = "\"'`";

function valueAfterKey(text: string, stemStart: number, stemEnd: number): Match | undefined {
  // The stem ends the key, and a bare `pass`/`pwd` starts a word of it (`DB_PASS`, not `bypass`).
  if (isIn(text.charCodeAt(stemEnd), IDENTIFIER)) return undefined;
  const stemLength = stemEnd - stemStart;
  if (stemLength <= 4 && !startsWord(text, stemStart)) return undefined;
  let keyStart = stemStart;
  while (keyStart > stemStart - MAX_KEY && isIn(text.charCodeAt(keyStart - 1), IDENTIFIER)) keyStart--;
  const flag = text.charCodeAt(keyStart) === 45; /* - */
  const opener = text.charCodeAt(keyStart - 1);
  let at = stemEnd;
  if (opener === 60 /* < */ && text.charCodeAt(at) === 62 /* > */) return xmlValue(text, at + 1);
  // A quoted key closes (`"password":`, `\"password\":` in raw JSON, `['password'] =`).
  while (text.charCodeAt(at) === 92 /* \ */ && at < stemEnd + 3) at++;
  if (QUOTES.includes(text[at] ?? "x")) at++;
  if (text.charCodeAt(at) === 93 /* ] */) at++;
  const afterKey = at;
  at = skipBlanks(text, at);
  const spaceBefore = at > afterKey;
  let separator: string;
  const code = text.charCodeAt(at);
  const next = text.charCodeAt(at + 1);
  if (code === 61 /* = */ && next === 62 /* > */) separator = "=>";
  else if (code === 58 /* : */ && next === 61) separator = ":=";
  else if (code === 61 && next !== 61) separator = "=";
  else if (code === 58 && next !== 58) separator = ":";
  else if (flag && spaceBefore && code !== 45) separator = " ";
  else return undefined;
  at = skipBlanks(text, at + (separator === " " ? 0 : separator.length));
  const quoted = quotedValue(text, at);
  if (quoted !== undefined) {
    const value = text.slice(quoted.start, quoted.end);
    if (value.length < MIN_VALUE || isPlaceholder(value)) return undefined;
    return { start: quoted.start, end: quoted.end, score: 0.8 };
  }
  const end = unquotedEnd(text, at);
  if (end < 0 || end - at < MIN_VALUE) return undefined;
  if (separator === ":" && !endsStatement(text, end)) return undefined;
  const value = text.slice(at, end);
  if (isPlaceholder(value) || isReference(text, value, end, spaceBefore) || isPath(value)) return undefined;
  return { start: at, end, score: separator === ":" ? 0.7 : 0.8 };
}

/** Start of a word: after a non-letter, or a camelCase boundary (`dbPass`). */
function startsWord(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  return !isIn(before, LETTER) || (isIn(before, LOWER) && isIn(text.charCodeAt(at), UPPER));
}

function skipBlanks(text: string, from: number): number {
  let at = from;
  while (at < from + 8 && (text.charCodeAt(at) === 32 || text.charCodeAt(at) === 9)) at++;
  return at;
}

/** A value in quotes (or in escaped quotes, `\"…\"`, as raw JSON writes them), on one line. */
function quotedValue(text: string, from: number): { start: number; end: number } | undefined {
  let escapes = 0;
  while (text.charCodeAt(from + escapes) === 92 && escapes < 3) escapes++;
  const quote = text[from + escapes];
  if (quote === undefined || !QUOTES.includes(quote)) return undefined;
  if (escapes > 0 && quote === "`") return undefined;
  const start = from + escapes + 1;
  const limit = Math.min(text.length, start + MAX_VALUE + escapes + 1);
  for (let at = start; at < limit; at++) {
    const code = text.charCodeAt(at);
    if (code === 10 || code === 13) return undefined;
    if (escapes > 0) {
      // The closing quote is escaped like the opening one.
      if (code === 92 && text.startsWith(quote, at + escapes) && isRunOfBackslashes(text, at, escapes))
        return { start, end: at };
      if (code === 92) at += escapes; // an escaped character inside the value
    } else if (code === 92) at++;
    else if (text[at] === quote) return { start, end: at };
  }
  return undefined;
}

function isRunOfBackslashes(text: string, from: number, count: number): boolean {
  for (let at = from; at < from + count; at++) if (text.charCodeAt(at) !== 92) return false;
  return true;
}

/** The end of an unquoted value at `from`: whitespace or a delimiter ends it; -1 if over MAX_VALUE. */
function unquotedEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_VALUE + 1);
  let at = from;
  while (at < limit) {
    const code = text.charCodeAt(at);
    if (code <= 32 || ",;&)}]<>\"'`\\([".includes(text[at] as string)) break;
    // `=` inside a value ends it (`password=password=…`), trailing padding (`abc==`) does not.
    if (code === 61 && isIn(text.charCodeAt(at + 1), ALNUM)) break;
    at++;
  }
  if (at - from > MAX_VALUE) return -1;
  return at;
}

/** `cfg.password`, `os.environ[…]`, `getpass()`, `db_password`, `password = hashed`: code, not a value. */
function isReference(text: string, value: string, end: number, spaceBefore: boolean): boolean {
  const after = text.charCodeAt(end);
  if (after === 40 /* ( */ || after === 91 /* [ */) return true;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value)) return true;
  if (!/^[A-Za-z_][\w-]*$/.test(value)) return false;
  // `db_password`, `dbPass`, `secret`: a variable named for what it holds (`pgpass99` is a value).
  if (/pass|pwd|secret|token|cred/i.test(value) && (/_|[a-z][A-Z]/.test(value) || /^[A-Za-z]+$/.test(value)))
    return true;
  // A bare identifier: a variable in code (spaced `=`, or an argument list or object going on).
  if (!/^[A-Za-z_]+$/.test(value)) return false;
  return spaceBefore || /^\s*[,)};]/.test(text.slice(end, end + 8));
}

function isPath(value: string): boolean {
  return value.startsWith("/") || value.startsWith("~/") || value.startsWith("./") || value.startsWith("../");
}

/** After a bare `key: value` the value ends its line (or a comment or an inline map follows). */
function endsStatement(text: string, end: number): boolean {
  const at = skipBlanks(text, end);
  const code = text.charCodeAt(at);
  return (
    at >= text.length ||
    code === 10 ||
    code === 13 ||
    code === 35 /* # */ ||
    code === 44 /* , */ ||
    code === 125 /* } */ ||
    code === 59 /* ; */ ||
    code === 92 /* \ (an escaped line break) */ ||
    text.startsWith("//", at)
  );
}

/** `<password>value</password>`. */
function xmlValue(text: string, from: number): Match | undefined {
  const limit = Math.min(text.length, from + MAX_VALUE + 1);
  for (let at = from; at < limit; at++) {
    const code = text.charCodeAt(at);
    if (code === 10 || code === 13) return undefined;
    if (code === 60 /* < */) {
      if (text.charCodeAt(at + 1) !== 47 /* / */) return undefined;
      const value = text.slice(from, at).trim();
      if (value.length < MIN_VALUE || isPlaceholder(value)) return undefined;
      const start = from + text.slice(from, at).indexOf(value);
      return { start, end: start + value.length, score: 0.8 };
    }
  }
  return undefined;
}
