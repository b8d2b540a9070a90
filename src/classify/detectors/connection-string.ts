import type { Detector, Match } from "./detector.js";
import { ALNUM, isIn, isPlaceholder, LETTER } from "./secret-text.js";
import { isVendorFormat } from "./vendors.js";

/** Longest URI looked at; longer ones are cut here (the secret is near the start anyway). */
const MAX_URI = 2048;
const MAX_AUTHORITY = 512;

/**
 * Connection strings that carry a password: URIs with `user:password@` in their authority
 * (`postgres://`, `postgresql://`, `mysql://`, `mongodb+srv://`, `redis://`, `rediss://`,
 * `amqp(s)://`, `mssql://`, `sqlserver://`, `jdbc:…`, and any other scheme, `https://` included:
 * a password in a URL is one whatever the protocol), and ADO.NET/ODBC/JDBC key-value strings
 * (`Server=…;Database=…;User Id=…;Password=…;`). The span is the whole URI or string, from the
 * scheme (`jdbc:` included) or first key. Not flagged: URIs without a password
 * (`postgres://app@db.internal/app`, `https://example.com`) and passwords that are placeholders
 * (`${DB_PASSWORD}`, `<password>`, `***`, `password`), nor URIs whose password is a vendor's
 * token (`https://x-access-token:ghs_…@github.com/…`, or a token as the user name): that is
 * reported as the token. Scores 0.9.
 */
export const connectionString: Detector = {
  kind: "connection_string",
  group: "secret",
  find(text) {
    const uris = findUris(text);
    const keyValues = findKeyValueStrings(text);
    if (keyValues.length === 0) return uris;
    if (uris.length === 0) return keyValues;
    // The two may overlap (a JDBC URL followed by ;password=…): keep the earlier, then whatever follows it.
    const all = [...uris, ...keyValues].sort((a, b) => a.start - b.start || b.end - a.end);
    const kept: Match[] = [];
    for (const match of all) if ((kept.at(-1)?.end ?? -1) <= match.start) kept.push(match);
    return kept;
  },
};

function findUris(text: string): Match[] {
  const matches: Match[] = [];
  let from = 0;
  for (let at = text.indexOf("://"); at >= 0; at = text.indexOf("://", from)) {
    from = at + 3;
    const start = schemeStart(text, at);
    if (start < 0) continue;
    const authorityStart = at + 3;
    const at_ = lastAtSign(text, authorityStart);
    if (at_ < 0) continue;
    const colon = indexIn(text, 58 /* : */, authorityStart, at_);
    if (colon < 0) continue;
    const password = text.slice(colon + 1, at_);
    if (password.length === 0 || isPlaceholder(password) || isPlaceholder(decodePercent(password))) continue;
    // `https://oauth2:glpat-…@gitlab.com/…`, `https://ghp_…:x-oauth-basic@github.com/`: the token's
    // own kind says more than "connection string".
    if (isVendorFormat(password) || isVendorFormat(text.slice(authorityStart, colon))) continue;
    if (!isIn(text.charCodeAt(at_ + 1), ALNUM) && text.charCodeAt(at_ + 1) !== 91 /* [ */) continue;
    const end = uriEnd(text, at_ + 1);
    matches.push({ start, end, score: 0.9 });
    from = end;
  }
  return matches;
}

/** Where the scheme before `://` at `at` starts (with a `jdbc:` prefix), or -1 without one. */
function schemeStart(text: string, at: number): number {
  let start = at;
  while (start > at - 32 && isSchemeCharacter(text.charCodeAt(start - 1))) start--;
  if (start === at || isSchemeCharacter(text.charCodeAt(start - 1))) return -1;
  if (!isIn(text.charCodeAt(start), LETTER)) return -1;
  if (text.slice(start - 5, start).toLowerCase() === "jdbc:") start -= 5;
  return start;
}

function isSchemeCharacter(code: number): boolean {
  return isIn(code, ALNUM) || code === 43 || code === 45 || code === 46; // + - .
}

/** The last `@` of the authority starting at `from` (a password may hold an unescaped `@`), or -1. */
function lastAtSign(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_AUTHORITY);
  let found = -1;
  for (let at = from; at < limit; at++) {
    const code = text.charCodeAt(at);
    if (code === 64) found = at;
    else if (endsAuthority(code)) break;
  }
  return found;
}

/** `/ ? #`, whitespace, quotes, angle brackets and backslashes end an authority. */
function endsAuthority(code: number): boolean {
  return code === 47 || code === 63 || code === 35 || endsUri(code);
}

function endsUri(code: number): boolean {
  return (
    code <= 32 ||
    code === 34 || // "
    code === 39 || // '
    code === 96 || // `
    code === 60 || // <
    code === 62 || // >
    code === 92 || // \
    code === 127
  );
}

/** The end of the URI whose host starts at `from`: before whitespace or a delimiter, less trailing punctuation. */
function uriEnd(text: string, from: number): number {
  const limit = Math.min(text.length, from + MAX_URI);
  let end = from;
  let brackets = 0;
  let parens = 0;
  while (end < limit) {
    const code = text.charCodeAt(end);
    if (endsUri(code)) break;
    if (code === 91) brackets++;
    else if (code === 93 && --brackets < 0) break;
    else if (code === 40) parens++;
    else if (code === 41 && --parens < 0) break;
    else if ((code === 123 || code === 125) && brackets === 0) break; // { } around an inline value
    end++;
  }
  // A sentence's full stop or a list's comma after the URI is not part of it.
  while (end > from && ".,;:!?".includes(text[end - 1] as string)) end--;
  return end;
}

/** The first `code` in `text.slice(from, to)`, or -1: indexOf that never reads past `to`. */
function indexIn(text: string, code: number, from: number, to: number): number {
  for (let at = from; at < to; at++) if (text.charCodeAt(at) === code) return at;
  return -1;
}

function decodePercent(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Keys that say a `;`-separated list is a connection string (it names where to connect). */
const SERVER_KEYS = new Set([
  "server",
  "data source",
  "datasource",
  "host",
  "hostname",
  "address",
  "addr",
  "network address",
  "dsn",
]);
const MAX_SEGMENT = 1024;

/**
 * `Key=value;` lists with a Password (or Pwd) and a Server, Data Source, Host or Address key, or
 * a JDBC URL in front (`jdbc:sqlserver://db:1433;user=sa;password=…`).
 */
function findKeyValueStrings(text: string): Match[] {
  const matches: Match[] = [];
  let read = 0;
  // Found by `=` (a rare first character makes V8's indexOf fast), then a Password or Pwd key before it.
  for (let equals = text.indexOf("="); equals >= 0; equals = text.indexOf("=", Math.max(read, equals + 1))) {
    const key = passwordKeyBefore(text, equals);
    if (key < 0) continue;
    // Each line (or quoted string, at most 2 KB around a password) is read once, for all its passwords.
    const from = segmentStart(text, key, read);
    read = segmentEnd(text, key);
    matches.push(...keyValueStringsIn(text, from, read));
  }
  return matches;
}

/** Where `Password` or `Pwd` (any case, maybe blanks after) ends right before `equals`, or -1. */
function passwordKeyBefore(text: string, equals: number): number {
  let end = equals;
  while (end > equals - 4 && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  for (const word of ["password", "pwd"]) {
    const start = end - word.length;
    if (start < 0 || isIn(text.charCodeAt(start - 1), LETTER)) continue;
    let same = true;
    for (let at = 0; at < word.length && same; at++)
      same = (text.charCodeAt(start + at) | 0x20) === word.charCodeAt(at);
    if (same) return start;
  }
  return -1;
}

interface Element {
  start: number;
  end: number;
  /** Lower-cased key with single spaces, or undefined when the element is not `key=value`. */
  key: string | undefined;
}

/** The connection strings in a line: runs of key=value elements with a password and a server. */
function keyValueStringsIn(text: string, from: number, to: number): Match[] {
  const elements = splitElements(text, from, to);
  const matches: Match[] = [];
  let first = 0;
  while (first < elements.length) {
    if ((elements[first] as Element).key === undefined) {
      first++;
      continue;
    }
    let last = first;
    while (last + 1 < elements.length && (elements[last + 1] as Element).key !== undefined) last++;
    const match = asConnectionString(text, elements, first, last);
    if (match) matches.push(match);
    first = last + 1;
  }
  return matches;
}

/** The elements first..last (all key=value) as a connection string, if they are one. */
function asConnectionString(
  text: string,
  elements: Element[],
  first: number,
  last: number,
): Match | undefined {
  const run = elements.slice(first, last + 1);
  const password = run.find((element) => element.key === "password" || element.key === "pwd");
  if (password === undefined || run.length < 2) return undefined;
  const value = text.slice(password.start, password.end);
  if (isPlaceholder(value.slice(value.indexOf("=") + 1).trim())) return undefined;
  const head = run[0] as Element;
  let start = head.start;
  let names = run.some((element) => SERVER_KEYS.has(element.key ?? ""));
  // `CONNECTION=Server=…;…`, `export CONN=…`: an assignment whose value is the string.
  const headText = text.slice(head.start, head.end);
  const assignment =
    /^(?:export |set )?[A-Za-z_][A-Za-z0-9_.]*[ \t]*=[ \t]*([A-Za-z][A-Za-z ]{0,30}?)[ \t]*=/.exec(headText);
  const inner = assignment?.[1]?.toLowerCase();
  if (inner !== undefined && SERVER_KEYS.has(inner)) {
    start = head.start + headText.indexOf(assignment?.[1] as string, headText.indexOf("="));
    names = true;
  }
  // `jdbc:sqlserver://host:1433;user=…;password=…`: the URL leads.
  const leaders = first > 0 ? [elements[first - 1] as Element, head] : [head];
  for (const element of leaders) {
    const jdbc = text.slice(element.start, element.end).toLowerCase().indexOf("jdbc:");
    if (jdbc >= 0) {
      start = element.start + jdbc;
      names = true;
      break;
    }
  }
  return names ? { start, end: (elements[last] as Element).end, score: 0.9 } : undefined;
}

/** Back from `at` to the start of its line or quoted string (no further than MAX_SEGMENT or `floor`). */
function segmentStart(text: string, at: number, floor: number): number {
  const limit = Math.max(floor, at - MAX_SEGMENT);
  let start = at;
  while (start > limit && !endsSegment(text.charCodeAt(start - 1))) start--;
  return start;
}

function segmentEnd(text: string, at: number): number {
  const limit = Math.min(text.length, at + MAX_SEGMENT);
  let end = at;
  while (end < limit && !endsSegment(text.charCodeAt(end))) end++;
  return end;
}

/** Line breaks, quotes and backslashes (escaped quotes and line breaks) end a segment. */
function endsSegment(code: number): boolean {
  return code === 10 || code === 13 || code === 34 || code === 39 || code === 96 || code === 92;
}

/** The `;`-separated elements of `text.slice(start, end)`, trimmed, with the key of each `key=value`. */
function splitElements(text: string, start: number, end: number): Element[] {
  const elements: Element[] = [];
  let from = start;
  while (from < end) {
    const semicolon = indexIn(text, 59 /* ; */, from, end);
    const to = semicolon < 0 ? end : semicolon;
    let elementStart = from;
    let elementEnd = to;
    while (elementStart < elementEnd && text.charCodeAt(elementStart) <= 32) elementStart++;
    while (elementEnd > elementStart && text.charCodeAt(elementEnd - 1) <= 32) elementEnd--;
    if (elementStart < elementEnd)
      elements.push({ start: elementStart, end: elementEnd, key: keyOf(text, elementStart, elementEnd) });
    from = to + 1;
  }
  return elements;
}

function keyOf(text: string, start: number, end: number): string | undefined {
  const equals = indexIn(text, 61 /* = */, start, Math.min(end, start + 32));
  if (equals <= start) return undefined;
  const key = text.slice(start, equals).trim().toLowerCase().replace(/\s+/g, " ");
  return /^[a-z][a-z0-9 _]{0,30}$/.test(key) ? key : undefined;
}
