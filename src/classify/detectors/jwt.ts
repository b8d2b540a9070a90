import type { Detector, Match } from "./detector.js";
import { BASE64URL, DOT, isIn, runEnd, skipRun } from "./secret-text.js";

/** Longest part accepted, per part: a header with a certificate chain, a payload full of claims. */
const MAX_HEADER = 4096;
const MAX_PART = 16384;
/** The shortest signature of a real algorithm (HS256's 32 bytes are 43 characters). */
const MIN_SIGNATURE = 16;

/**
 * JSON Web Tokens in compact form: three base64url parts joined by dots (JWS), or five (JWE,
 * whose header names an `enc`), where the header starts `eyJ` (`{"`) and decodes to a JSON object
 * with an `alg`. The span is the whole token. Unsigned tokens (`alg: none`, empty signature) and
 * signatures under 16 characters are not flagged: they authorise nothing. Scores 1.
 * https://datatracker.ietf.org/doc/html/rfc7519#section-3 and
 * https://datatracker.ietf.org/doc/html/rfc7516#section-7.1
 */
export const jwt: Detector = {
  kind: "jwt",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    let from = 0;
    // Found by its rarest letter: V8's indexOf is as fast as the pattern's first character is rare.
    for (let j = text.indexOf("J", 2); j >= 0; j = text.indexOf("J", Math.max(from, j + 1))) {
      const start = j - 2;
      if (text.charCodeAt(start) !== 101 /* e */ || text.charCodeAt(j - 1) !== 121 /* y */) continue;
      from = start + 3;
      // A token starts here only if nothing base64url or dotted runs into it.
      if (isIn(text.charCodeAt(start - 1), BASE64URL | DOT)) continue;
      const headerEnd = runEnd(text, start, BASE64URL, start + MAX_HEADER + 1);
      if (headerEnd - start > MAX_HEADER) {
        from = skipRun(text, headerEnd, BASE64URL);
        continue;
      }
      const header = decodeHeader(text.slice(start, headerEnd));
      if (header === undefined) continue;
      const end = tokenEnd(text, headerEnd, typeof header.enc === "string" ? 5 : 3);
      if (end < 0) continue;
      matches.push({ start, end, score: 1 });
      from = end;
    }
    return matches;
  },
};

/** After the header, the end of the remaining `parts - 1` parts, or -1 when they are not there. */
function tokenEnd(text: string, headerEnd: number, parts: number): number {
  let at = headerEnd;
  let lastStart = at;
  for (let part = 1; part < parts; part++) {
    if (text.charCodeAt(at) !== 46 /* . */) return -1;
    lastStart = at + 1;
    at = runEnd(text, lastStart, BASE64URL, lastStart + MAX_PART + 1);
    if (at - lastStart > MAX_PART) return -1;
    // JWS needs a payload; JWE may leave its encrypted key (and IV) empty.
    if (parts === 3 && part === 1 && at === lastStart) return -1;
  }
  if (at - lastStart < MIN_SIGNATURE && parts === 3) return -1;
  if (parts === 5 && at === lastStart) return -1;
  // Followed by more token it is something else; by a full stop, the end of a sentence.
  const next = text.charCodeAt(at);
  if (isIn(next, BASE64URL) || (next === 46 && isIn(text.charCodeAt(at + 1), BASE64URL | DOT))) return -1;
  return at;
}

function decodeHeader(part: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
    const fields = header as Record<string, unknown>;
    return typeof fields.alg === "string" && fields.alg !== "none" ? fields : undefined;
  } catch {
    return undefined;
  }
}
