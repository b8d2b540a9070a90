import type { Detector, Match } from "./detector.js";
import {
  ALNUM,
  BASE64URL,
  DASH,
  DIGIT,
  DOT,
  isIn,
  isWholeToken,
  LETTER,
  looksRedacted,
  prefixScanner,
  runEnd,
} from "./secret-text.js";

const SLACK_TOKEN = /xox[abposre]-|xoxe\.xox[abpr]-|xapp-/y;
const WEBHOOK_HOST = "hooks.slack.com/";

/**
 * Slack tokens and incoming-webhook URLs. Tokens: `xoxb-` (bot), `xoxp-` (user), `xoxa-`/`xoxr-`
 * (app and refresh), `xoxs-`/`xoxo-` (legacy), `xoxe-` and `xoxe.xoxp-` (rotating), `xapp-`
 * (app-level), then 20 to 250 of digits, letters and dashes that start with a digit (team and
 * user IDs) and hold a letter and a dash, so `xoxb-your-token-here` is not one. Webhooks:
 * `hooks.slack.com/services/T…/B…/…` (and `/workflows/…`, `/triggers/…`) whose last segment is
 * the secret, with `https://` when written. Scores 1.
 * https://api.slack.com/authentication/token-types and https://api.slack.com/messaging/webhooks
 */
export const slackToken: Detector = {
  kind: "slack_token",
  group: "secret",
  find(text) {
    const tokens = findTokens(text);
    const hooks = findWebhooks(text);
    if (hooks.length === 0) return tokens;
    if (tokens.length === 0) return hooks;
    return [...tokens, ...hooks].sort((a, b) => a.start - b.start);
  },
};

function findTokens(text: string): Match[] {
  const matches: Match[] = [];
  const nextStart = prefixScanner(text, ["xox", "xapp-"]);
  for (let from = 0; ; ) {
    const start = nextStart(from);
    if (start < 0) break;
    from = start + 1;
    SLACK_TOKEN.lastIndex = start;
    const found = SLACK_TOKEN.exec(text);
    if (found === null || isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
    const bodyStart = start + found[0].length;
    const end = runEnd(text, bodyStart, ALNUM | DASH, bodyStart + 251);
    const length = end - bodyStart;
    if (length < 20 || length > 250 || !isWholeToken(text, start, end, BASE64URL)) continue;
    const firstIsDigit = isIn(text.charCodeAt(bodyStart), DIGIT);
    if (!firstIsDigit || !hasLetterAndDash(text, bodyStart, end) || looksRedacted(text, bodyStart, end))
      continue;
    matches.push({ start, end, score: 1 });
    from = end;
  }
  return matches;
}

function hasLetterAndDash(text: string, start: number, end: number): boolean {
  let letter = false;
  let dash = false;
  for (let at = start; at < end; at++) {
    const code = text.charCodeAt(at);
    if (code === 45) dash = true;
    else if (isIn(code, LETTER)) letter = true;
  }
  return letter && dash;
}

function findWebhooks(text: string): Match[] {
  const matches: Match[] = [];
  let from = 0;
  // Found by "k.com/" (a rare first character makes V8's indexOf fast), then the host.
  for (let k = text.indexOf("k.com/", 10); k >= 0; k = text.indexOf("k.com/", Math.max(from, k + 1))) {
    const at = k - 10;
    if (!text.startsWith(WEBHOOK_HOST, at)) continue;
    from = at + WEBHOOK_HOST.length;
    const end = webhookEnd(text, from);
    if (end < 0) continue;
    const start = text.startsWith("https://", at - 8)
      ? at - 8
      : text.startsWith("http://", at - 7)
        ? at - 7
        : at;
    if (start === at && isIn(text.charCodeAt(at - 1), ALNUM | DASH | DOT)) continue;
    matches.push({ start, end, score: 1 });
    from = end;
  }
  return matches;
}

/** The end of `services/T…/B…/secret` (or a workflow or trigger path) at `from`, or -1. */
function webhookEnd(text: string, from: number): number {
  const kind = text.startsWith("services/", from)
    ? "services/"
    : text.startsWith("workflows/", from)
      ? "workflows/"
      : text.startsWith("triggers/", from)
        ? "triggers/"
        : undefined;
  if (kind === undefined) return -1;
  const starts: number[] = [];
  let at = from + kind.length;
  for (;;) {
    const end = runEnd(text, at, ALNUM, at + 65);
    if (end === at || end - at > 64 || starts.length === 6) return -1;
    starts.push(at);
    at = end;
    if (text.charCodeAt(end) !== 47 /* / */ || !isIn(text.charCodeAt(end + 1), ALNUM)) break;
    at = end + 1;
  }
  if (isIn(text.charCodeAt(at), ALNUM | DASH)) return -1;
  const last = starts.at(-1) ?? at;
  if (starts.length < 3 || at - last < 20) return -1;
  // services/T<team>/B<bot>/<secret>
  if (kind === "services/") {
    if (starts.length !== 3) return -1;
    if (text[starts[0] as number] !== "T" || text[starts[1] as number] !== "B") return -1;
  }
  return looksRedacted(text, last, at) ? -1 : at;
}
