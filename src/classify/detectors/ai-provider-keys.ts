import type { Detector, Match } from "./detector.js";
import { ALNUM, BASE64URL, isIn, isWholeToken, looksRedacted, runEnd } from "./secret-text.js";

/** Base64 of "OpenAI": OpenAI writes it into the middle of its keys. */
const OPENAI_MARK = "T3BlbkFJ";
const OPENAI_SCOPED = ["proj-", "svcacct-", "admin-", "None-"];

/**
 * OpenAI API keys: project, service-account and admin keys (`sk-proj-`, `sk-svcacct-`,
 * `sk-admin-`, and the older `sk-None-`) with 40 to 300 base64url characters, and classic keys,
 * `sk-` and exactly 48 alphanumerics. Scores 1 when the key carries OpenAI's `T3BlbkFJ` mark,
 * 0.9 for a scoped key without it, 0.8 for a bare 48-character `sk-` key without it (others use
 * `sk-` too). Not Anthropic's `sk-ant-…` (see anthropicApiKey), not `sk-` in prose (`sk-learn`),
 * not `sk-...` or masked keys.
 * https://platform.openai.com/docs/api-reference/authentication
 */
export const openaiApiKey: Detector = {
  kind: "openai_api_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    // Found by "k-" (V8's indexOf is as fast as the pattern's first character is rare), then "s".
    for (let k = text.indexOf("k-", 1); k >= 0; k = text.indexOf("k-", k + 2)) {
      const start = k - 1;
      if (text.charCodeAt(start) !== 115 /* s */ || isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      const scope = OPENAI_SCOPED.find((prefix) => text.startsWith(prefix, start + 3));
      const bodyStart = start + 3 + (scope?.length ?? 0);
      let end: number;
      let score: number;
      if (scope !== undefined) {
        end = runEnd(text, bodyStart, BASE64URL, bodyStart + 301);
        if (end - bodyStart < 40 || end - bodyStart > 300) continue;
        score = text.slice(bodyStart, end).includes(OPENAI_MARK) ? 1 : 0.9;
      } else {
        end = runEnd(text, bodyStart, ALNUM, bodyStart + 49);
        if (end - bodyStart !== 48) continue;
        score = text.startsWith(OPENAI_MARK, bodyStart + 20) ? 1 : 0.8;
      }
      if (!isWholeToken(text, start, end, BASE64URL) || looksRedacted(text, bodyStart, end)) continue;
      matches.push({ start, end, score });
      k = end - 2;
    }
    return matches;
  },
};

/** What follows `-ant-`: the key's type and version. */
const ANTHROPIC_TYPE = /(?:api|admin|oat|ort)[0-9]{2}-/y;

/**
 * Anthropic API keys: `sk-ant-api03-…` (API), `sk-ant-admin01-…` (Admin API) and the OAuth
 * `sk-ant-oat01-`/`sk-ant-ort01-` tokens, then 32 to 300 base64url characters (an API key has 95,
 * ending in `AA`), as whole tokens. Scores 1.
 * https://docs.anthropic.com/en/api/overview#authentication
 */
export const anthropicApiKey: Detector = {
  kind: "anthropic_api_key",
  group: "secret",
  find(text) {
    const matches: Match[] = [];
    for (let ant = text.indexOf("-ant-", 2); ant >= 0; ant = text.indexOf("-ant-", ant + 1)) {
      const start = ant - 2;
      if (!text.startsWith("sk", start) || isIn(text.charCodeAt(start - 1), BASE64URL)) continue;
      ANTHROPIC_TYPE.lastIndex = ant + 5;
      const type = ANTHROPIC_TYPE.exec(text);
      if (type === null) continue;
      const bodyStart = ant + 5 + type[0].length;
      const end = runEnd(text, bodyStart, BASE64URL, bodyStart + 301);
      const length = end - bodyStart;
      if (length < 32 || length > 300 || !isWholeToken(text, start, end, BASE64URL)) continue;
      if (looksRedacted(text, bodyStart, end)) continue;
      matches.push({ start, end, score: 1 });
      ant = end - 1;
    }
    return matches;
  },
};
