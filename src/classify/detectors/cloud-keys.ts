import type { Detector, Match } from "./detector.js";
import {
  ALNUM,
  BASE64,
  BASE64URL,
  classesIn,
  contextIn,
  hasContext,
  IDENTIFIER,
  isIn,
  isWholeToken,
  looksRedacted,
  PLUS_SLASH,
  runEnd,
  skipRun,
} from "./secret-text.js";

const AWS_KEY_ID = /(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z2-7]{16}/g;
/** Prefixes of credentials; the others name an identity (user, role, group, policy…), not a key. */
const AWS_CREDENTIAL_PREFIXES = new Set(["AKIA", "ASIA", "ABIA", "ACCA"]);

/**
 * AWS access key IDs: a four-letter prefix saying what the ID names (AKIA long-term key, ASIA
 * temporary STS key, ABIA/ACCA other credentials; AIDA user, AROA role, AGPA group, AIPA instance
 * profile, ANPA/ANVA managed policy and version) and 16 base32 characters, as a whole token.
 * Scores 1 for credential prefixes, 0.8 for identity IDs (sensitive, not secret by themselves).
 * AWS's documented example `AKIAIOSFODNN7EXAMPLE` is flagged, as scanners do: it has the real
 * format. Masked IDs (`AKIAXXXXXXXXXXXXXXXX`) are not.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes
 */
export const awsAccessKeyId: Detector = {
  kind: "aws_access_key_id",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    AWS_KEY_ID.lastIndex = 0;
    for (let found = AWS_KEY_ID.exec(text); found !== null; found = AWS_KEY_ID.exec(text)) {
      const start = found.index;
      const end = start + 20;
      if (!isWholeToken(text, start, end, ALNUM) || looksRedacted(text, start + 4, end)) {
        // No key starts inside a run of letters and digits: skip past this one.
        AWS_KEY_ID.lastIndex = skipRun(text, start, ALNUM);
        continue;
      }
      const score = AWS_CREDENTIAL_PREFIXES.has(text.slice(start, start + 4)) ? 1 : 0.8;
      matches.push({ start, end, score });
    }
    return matches;
  },
};

/** Words naming an AWS secret access key, in config files, SDK code, consoles' CSV and prose. */
const AWS_SECRET_CONTEXT = /secret[-_ ]?access[-_ ]?key|aws[-_ ]?secret/gi;
/** `secret_key` (Terraform, s3cmd, MinIO) names one only beside an access key ID. */
const SECRET_KEY = /secret[-_ ]?key/gi;
const ACCESS_KEY_ID = /(?:AKIA|ASIA)[A-Z2-7]{16}/;
/** How far from a context word's `cret` a key can start or end (48 around the word, its length, the key's). */
const AWS_SECRET_REACH = 128;

/**
 * AWS secret access keys: 40 base64 characters (upper, lower and digits all present) as a whole
 * token, only within 48 characters of words naming one (`aws_secret_access_key`,
 * `SecretAccessKey`, `AWS secret`…, or `secret_key` with an access key ID near, as Terraform and
 * s3cmd write it): the format alone is any 40-character base64 string. Git SHAs
 * and other hex are excluded by the character-class test, paths by their slashes. Scores 0.9.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
 */
export const awsSecretAccessKey: Detector = {
  kind: "aws_secret_access_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    // Every context word holds "secret": found by "cret"/"CRET" (fast in V8's indexOf). The text
    // within reach of each word is read once, however many words are near.
    let lower = text.indexOf("cret");
    let upper = text.indexOf("CRET");
    let read = 0;
    while (lower >= 0 || upper >= 0) {
      const word = lower < 0 ? upper : upper < 0 ? lower : Math.min(lower, upper);
      if (word === lower) lower = text.indexOf("cret", word + 1);
      else upper = text.indexOf("CRET", word + 1);
      const to = Math.min(text.length, word + AWS_SECRET_REACH);
      if (to <= read) continue;
      if (!namesAwsSecret(text, Math.max(0, word - 16), Math.min(text.length, word + 24))) continue;
      read = keysIn(text, Math.max(read, word - AWS_SECRET_REACH), to, read, matches);
    }
    return matches;
  },
};

/**
 * Appends the keys among the base64 runs that start in `text.slice(from, to)`, and those under
 * way at `from` unless they started before `read` (already judged); returns where reading stopped.
 */
function keysIn(text: string, from: number, to: number, read: number, matches: Match[]): number {
  let at = from;
  while (at > read && at > from - 41 && isIn(text.charCodeAt(at - 1), BASE64)) at--;
  if (isIn(text.charCodeAt(at - 1), BASE64)) at = skipRun(text, from, BASE64);
  while (at < to) {
    if (!isIn(text.charCodeAt(at), BASE64)) {
      at++;
      continue;
    }
    const start = at;
    const end = runEnd(text, start, BASE64, start + 41);
    at = end === start + 41 ? skipRun(text, end, BASE64) : end;
    if (end - start !== 40 || !isWholeToken(text, start, end, IDENTIFIER | PLUS_SLASH)) continue;
    if ((classesIn(text, start, end) & ALNUM) !== ALNUM) continue;
    if (slashes(text, start, end) >= 4 || looksRedacted(text, start, end)) continue;
    if (hasContext(text, start, end, AWS_SECRET_CONTEXT) || besideKeyId(text, start, end))
      matches.push({ start, end, score: 0.9 });
  }
  return Math.max(at, to);
}

/** Whether the words in `text.slice(from, to)` name an AWS secret (or a secret key beside a key ID). */
function namesAwsSecret(text: string, from: number, to: number): boolean {
  if (contextIn(text, from, to, AWS_SECRET_CONTEXT)) return true;
  return (
    contextIn(text, from, to, SECRET_KEY) && hasKeyId(text, from - AWS_SECRET_REACH, to + AWS_SECRET_REACH)
  );
}

/** `secret_key` within 48 characters of the value and an access key ID within reach of it. */
function besideKeyId(text: string, start: number, end: number): boolean {
  return (
    hasContext(text, start, end, SECRET_KEY) &&
    hasKeyId(text, start - AWS_SECRET_REACH, end + AWS_SECRET_REACH)
  );
}

function hasKeyId(text: string, from: number, to: number): boolean {
  return ACCESS_KEY_ID.test(text.slice(Math.max(0, from), Math.min(text.length, to)));
}

function slashes(text: string, start: number, end: number): number {
  let count = 0;
  for (let at = start; at < end; at++) if (text.charCodeAt(at) === 47) count++;
  return count;
}

/**
 * Google API keys (Maps, Firebase, Gemini…): `AIza` and 35 base64url characters, as a whole
 * token. Scores 1: the prefix is Google's alone.
 * https://cloud.google.com/docs/authentication/api-keys
 */
export const googleApiKey: Detector = {
  kind: "google_api_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    for (let start = text.indexOf("AIza"); start >= 0; start = text.indexOf("AIza", start + 1)) {
      if (isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      const end = runEnd(text, start + 4, BASE64URL, start + 40);
      if (end - start !== 39 || !isWholeToken(text, start, end, BASE64URL)) continue;
      if (!looksRedacted(text, start + 4, end)) matches.push({ start, end, score: 1 });
    }
    return matches;
  },
};
