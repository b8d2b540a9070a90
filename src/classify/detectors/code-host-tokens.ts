import type { Detector, Match } from "./detector.js";
import {
  ALNUM,
  BASE64URL,
  classesIn,
  DIGIT,
  isIn,
  isWholeToken,
  LOWER,
  looksRedacted,
  prefixScanner,
  runEnd,
  UNDERSCORE,
  UPPER,
} from "./secret-text.js";

/** The prefix ending at an underscore: `gh?_`, or `github_pat_` (whose last underscore it is). */
function githubPrefixStart(text: string, underscore: number): number {
  const type = text.charCodeAt(underscore - 1);
  if (text.startsWith("gh", underscore - 3) && "pousr".includes(String.fromCharCode(type)))
    return underscore - 3;
  return text.startsWith("github_pat", underscore - 10) ? underscore - 10 : -1;
}

/**
 * GitHub tokens: classic and app tokens `ghp_` (personal), `gho_` (OAuth), `ghu_` (user-to-server),
 * `ghs_` (server-to-server), `ghr_` (refresh) with 36 or more alphanumerics (GitHub allows them to
 * grow, so up to 251), and fine-grained personal tokens `github_pat_` with 82 characters
 * (`[A-Za-z0-9]{22}_[A-Za-z0-9]{59}`; 70 to 255 accepted). Whole tokens only; masked ones
 * (`ghp_xxxx…`) are not flagged. Scores 1.
 * https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats
 */
export const githubToken: Detector = {
  kind: "github_token",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    // Found by the underscore (a rare first character makes V8's indexOf fast), then the prefix.
    for (let at = text.indexOf("_", 3); at >= 0; at = text.indexOf("_", at + 1)) {
      const start = githubPrefixStart(text, at);
      // A token starts a token: checked first, so a wall of prefixes costs a step each.
      if (start < 0 || isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      const bodyStart = at + 1;
      const fineGrained = bodyStart - start > 4;
      const end = fineGrained
        ? runEnd(text, bodyStart, ALNUM | UNDERSCORE, bodyStart + 256)
        : runEnd(text, bodyStart, ALNUM, bodyStart + 252);
      const length = end - bodyStart;
      const fits = fineGrained ? length >= 70 && length <= 255 : length >= 36 && length <= 251;
      if (fits && isWholeToken(text, start, end, BASE64URL) && !looksRedacted(text, bodyStart, end)) {
        matches.push({ start, end, score: 1 });
        at = end - 1;
      }
    }
    return matches;
  },
};

const GITLAB_PREFIX = /gl(?:pat|dt|rt|rtr|ptt|ft|imt|agent|oas|soat|ffct|cbt|wt)-|GR1348941/y;

/**
 * GitLab tokens by their documented prefixes: `glpat-` (personal, project and group access),
 * `gldt-` (deploy), `glrt-`/`glrtr-` (runner authentication), `GR1348941` (legacy runner
 * registration), `glptt-` (pipeline trigger), `glft-` (feed), `glimt-` (incoming mail),
 * `glagent-` (agent for Kubernetes), `gloas-` (OAuth application secret), `glsoat-` (SCIM),
 * `glffct-` (feature flags client), `glcbt-` (CI/CD job), `glwt-` (workspace), then 20 to 300
 * base64url characters with at least two of upper, lower and digits (so `glpat-your-token-here`
 * is not one), and the suffix of routable tokens when present (`.xxxxxxxxx` or `.01.xxxxxxxxx`).
 * Scores 1.
 * https://docs.gitlab.com/security/tokens/#token-prefixes and
 * https://handbook.gitlab.com/handbook/engineering/architecture/design-documents/cells/routable_tokens/
 */
export const gitlabToken: Detector = {
  kind: "gitlab_token",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    const nextStart = prefixScanner(text, ["gl", "GR13"]);
    let from = 0;
    for (;;) {
      const start = nextStart(from);
      if (start < 0) break;
      from = start + 1;
      GITLAB_PREFIX.lastIndex = start;
      const found = GITLAB_PREFIX.exec(text);
      if (found === null || isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      const bodyStart = start + found[0].length;
      let end = runEnd(text, bodyStart, BASE64URL, bodyStart + 301);
      const length = end - bodyStart;
      if (length < 20 || length > 300) continue;
      if (text.charCodeAt(end) === 46 /* . */) end = routableSuffixEnd(text, end);
      const classes = classesIn(text, bodyStart, end);
      const kinds = (classes & UPPER ? 1 : 0) + (classes & LOWER ? 1 : 0) + (classes & DIGIT ? 1 : 0);
      if (kinds < 2 || !isWholeToken(text, start, end, BASE64URL) || looksRedacted(text, bodyStart, end))
        continue;
      matches.push({ start, end, score: 1 });
      from = end;
    }
    return matches;
  },
};

/**
 * After a routable token's body, its suffix: `.` and nine lower-case alphanumerics (payload length
 * and CRC32), or `.`, a two-character version, `.` and those nine (`glpat-….01.0z11111is`).
 */
function routableSuffixEnd(text: string, dot: number): number {
  const versioned =
    isLowerAlnum(text.charCodeAt(dot + 1)) &&
    isLowerAlnum(text.charCodeAt(dot + 2)) &&
    text.charCodeAt(dot + 3) === 46; /* . */
  const from = versioned ? dot + 4 : dot + 1;
  for (let at = from; at < from + 9; at++) if (!isLowerAlnum(text.charCodeAt(at))) return dot;
  return isIn(text.charCodeAt(from + 9), ALNUM) ? dot : from + 9;
}

function isLowerAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 97 && code <= 122);
}
