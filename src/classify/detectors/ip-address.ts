import { isAlnum, isDigit, isHexDigit, isLetter, isWordChar } from "./chars.js";
import type { Detector, Match } from "./detector.js";

/** Words that make a dotted quad a version, an object identifier or a document section, not an address. */
// biome-ignore format: a word list
const NOT_AN_ADDRESS_WORDS = new Set([
  "version", "ver", "release", "build", "oid", "firmware", "semver", "v", "chapter", "section", "sec",
  "clause", "paragraph", "figure", "fig", "table", "step", "appendix", "item", "rule", "§",
]);
const IPV6_MAX = 45; // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".length + slack

/**
 * IP addresses (`kind: ip_address`). IPv4: four decimal octets 0–255 without leading zeros
 * (`203.0.113.7`, also `10.0.0.1:8080`, `192.168.1.0/24`). IPv6: full and `::`-compressed
 * forms with an optional embedded IPv4 tail (`2001:db8::1`, `fe80::1`, `::ffff:192.0.2.1`).
 * Private and link-local addresses count (they map a person's or a company's network); the
 * loopback (`127.x.x.x`, `::1`), `0.x.x.x` (unspecified) and `255.x.x.x` (netmasks, broadcast)
 * do not: they name no host of anyone's, and code and configs are full of them.
 *
 * Deliberately not matched: dotted runs of other lengths (`1.2.3`, `1.2.3.4.5`, OIDs such as
 * `1.3.6.1.4.1`), a quad after "version", "build", "OID", "section" or a `v`, octets like `01` or `256`,
 * times and MAC addresses (`12:30:45`, `00:1a:2b:3c:4d:5e`), `Foo::Bar`, and `::` forms with
 * no digit or only one-character groups (`a[1::2]` slices).
 */
export const ipAddressDetector: Detector = {
  kind: "ip_address",
  group: "pii",
  find(text) {
    const v4 = findIpv4(text);
    const v6 = text.includes(":") ? findIpv6(text) : [];
    if (v6.length === 0) return v4;
    if (v4.length === 0) return v6;
    // An IPv4 tail of an IPv6 address belongs to the longer match.
    return [...v6, ...v4.filter((m) => !v6.some((w) => m.start < w.end && w.start < m.end))].sort(
      (a, b) => a.start - b.start,
    );
  },
};

function findIpv4(text: string): Match[] {
  const matches: Match[] = [];
  const digit = /[0-9]/g;
  while (digit.test(text)) {
    const start = digit.lastIndex - 1;
    // Walk the whole dotted-number run once: "1.2.3.4.5" is one run of five parts, not a quad.
    let at = start;
    let parts = 0;
    let valid = true;
    for (;;) {
      const partStart = at;
      let value = 0;
      while (isDigit(text.charCodeAt(at)) && at - partStart < 4)
        value = value * 10 + text.charCodeAt(at++) - 48;
      while (isDigit(text.charCodeAt(at))) at++;
      const length = at - partStart;
      if (length > 3 || value > 255 || (length > 1 && text.charCodeAt(partStart) === 48)) valid = false;
      parts++;
      if (text.charCodeAt(at) !== 46 || !isDigit(text.charCodeAt(at + 1))) break;
      at++;
    }
    digit.lastIndex = at;
    if (!valid || parts !== 4) continue;
    const before = text.charCodeAt(start - 1);
    if (isWordChar(before) || before === 46 || before === 45) continue;
    if (isWordChar(text.charCodeAt(at)) || text.charCodeAt(at) === 45) continue;
    const first = firstOctet(text, start);
    if (first === 0 || first === 127 || first === 255) continue;
    if (NOT_AN_ADDRESS_WORDS.has(previousWord(text, start))) continue;
    matches.push({ start, end: at, score: 0.9 });
  }
  return matches;
}

/**
 * The word just before `start` (lowercase), across at most three spaces or punctuation
 * characters: "version 1.2.3.4", "OID: 2.5.4.3", "§ 1.2.3.4". Bounded, unlike a context window.
 */
function previousWord(text: string, start: number): string {
  let end = start;
  while (end > 0 && start - end < 3 && !isAlnum(text.charCodeAt(end - 1))) {
    if (text.charCodeAt(end - 1) === 167) return "§";
    end--;
  }
  let wordStart = end;
  while (wordStart > 0 && end - wordStart < 12 && isLetter(text.charCodeAt(wordStart - 1))) wordStart--;
  return wordStart === end ? "" : text.slice(wordStart, end).toLowerCase();
}

function firstOctet(text: string, start: number): number {
  let value = 0;
  for (let at = start; isDigit(text.charCodeAt(at)); at++) value = value * 10 + text.charCodeAt(at) - 48;
  return value;
}

function isIpv6Char(code: number): boolean {
  return isHexDigit(code) || code === 58 || code === 46;
}

function findIpv6(text: string): Match[] {
  const matches: Match[] = [];
  let from = 0;
  for (let colon = text.indexOf(":"); colon >= 0; colon = text.indexOf(":", from)) {
    // Expand over hex digits, colons and dots around the colon, a bounded distance each way.
    let start = colon;
    while (start > 0 && colon - start < IPV6_MAX && isIpv6Char(text.charCodeAt(start - 1))) start--;
    let end = colon + 1;
    while (end - start < IPV6_MAX + 1 && isIpv6Char(text.charCodeAt(end))) end++;
    from = end;
    if (end - start > IPV6_MAX) {
      // A long hex/colon run (a dump, a wall of "::"): skip the whole of it.
      while (isIpv6Char(text.charCodeAt(from))) from++;
      continue;
    }
    // Trailing punctuation: "at 2001:db8::1." / "fe80::1: no route".
    while (end > colon + 1 && text.charCodeAt(end - 1) === 46) end--;
    if (text.charCodeAt(end - 1) === 58 && text.charCodeAt(end - 2) !== 58) end--;
    while (start < colon && text.charCodeAt(start) === 46) start++;
    const before = text.charCodeAt(start - 1);
    const after = text.charCodeAt(end);
    if (isWordChar(before) || isWordChar(after) || isIpv6Char(before) || before === 45 || after === 45)
      continue;
    if (!validIpv6(text, start, end)) continue;
    matches.push({ start, end, score: 0.9 });
  }
  return matches;
}

/** RFC 4291 text forms: eight groups of 1–4 hex digits, one `::` standing for the missing ones, optional IPv4 tail. */
function validIpv6(text: string, start: number, end: number): boolean {
  let groups = 0;
  let compressed = false;
  let hasDigit = false;
  let longest = 0;
  let at = start;
  if (text.charCodeAt(at) === 58) {
    if (text.charCodeAt(at + 1) !== 58) return false;
    compressed = true;
    at += 2;
  }
  while (at < end) {
    const groupStart = at;
    while (at < end && isHexDigit(text.charCodeAt(at))) {
      if (isDigit(text.charCodeAt(at))) hasDigit = true;
      at++;
    }
    const length = at - groupStart;
    if (text.charCodeAt(at) === 46 && at < end) {
      // IPv4 tail: must be last and stand for two groups.
      if (!validDottedQuad(text, groupStart, end)) return false;
      groups += 2;
      longest = Math.max(longest, 4);
      hasDigit = true;
      at = end;
      break;
    }
    if (length === 0 || length > 4) return false;
    longest = Math.max(longest, length);
    groups++;
    if (at === end) break;
    // at is a colon
    if (text.charCodeAt(at + 1) === 58) {
      if (compressed) return false;
      compressed = true;
      at += 2;
    } else {
      at++;
      if (at === end) return false;
    }
  }
  if (!hasDigit) return false;
  if (!compressed) return groups === 8;
  if (groups > 7) return false;
  // Compressed forms need a real group ("fe80::1", not "1::2" or the loopback "::1").
  return groups >= 2 ? longest >= 3 : groups === 1 && longest >= 3 && text.charCodeAt(start) !== 58;
}

function validDottedQuad(text: string, start: number, end: number): boolean {
  let parts = 0;
  let at = start;
  while (at <= end) {
    const partStart = at;
    let value = 0;
    while (at < end && isDigit(text.charCodeAt(at))) value = value * 10 + text.charCodeAt(at++) - 48;
    const length = at - partStart;
    if (length === 0 || length > 3 || value > 255 || (length > 1 && text.charCodeAt(partStart) === 48))
      return false;
    parts++;
    if (at === end) break;
    if (text.charCodeAt(at) !== 46) return false;
    at++;
  }
  return parts === 4;
}
