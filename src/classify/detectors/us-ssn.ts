import { isDigit, isWordChar } from "./chars.js";
import { nearWord } from "./context.js";
import type { Detector, Match } from "./detector.js";

const SSN_WORDS = [
  "ssn",
  "ssns",
  "social security",
  "social-security",
  "ss#",
  "soc sec",
  "ss no",
  "ss number",
];

/**
 * US Social Security numbers (`kind: ssn`): `AAA-GG-SSSS` (score 0.85; 0.95 next to "SSN" or
 * "social security"), `AAA GG SSSS` (0.6; 0.9 with those words), and nine unbroken digits only
 * with those words (0.85). Numbers the SSA never issues are excluded: area 000, 666 and 900–999
 * (900–999 are ITINs), group 00, serial 0000.
 *
 * Deliberately not matched: mixed separators (`123-45 6789`), digits glued to letters or longer
 * numbers (`1123-45-67890`, `v123-45-6789`), parts of dashed or dotted ids, and nine bare digits
 * without context (order numbers, zip+4, timestamps).
 */
export const usSsnDetector: Detector = {
  kind: "ssn",
  group: "pii",
  find(text) {
    const matches: Match[] = [];
    const candidate = /([0-9]{3})([- ]?)([0-9]{2})\2([0-9]{4})/g;
    for (let found = candidate.exec(text); found; found = candidate.exec(text)) {
      const start = found.index;
      const end = candidate.lastIndex;
      const before = text.charCodeAt(start - 1);
      const after = text.charCodeAt(end);
      if (isDigit(after) || isDigit(before)) {
        // Inside a longer number: skip the rest of it rather than retrying at every digit.
        let skip = end;
        while (isDigit(text.charCodeAt(skip))) skip++;
        candidate.lastIndex = skip;
        continue;
      }
      if (isWordChar(before) || isWordChar(after) || before === 45 || before === 46 || before === 47)
        continue;
      if ((after === 45 || after === 46 || after === 47) && isDigit(text.charCodeAt(end + 1))) continue;
      if (!issuable(found[1] as string, found[3] as string, found[4] as string)) continue;
      const separator = found[2];
      const context = nearWord(text, start, end, SSN_WORDS);
      let score = 0;
      if (separator === "-") score = context ? 0.95 : 0.85;
      else if (separator === " ") score = context ? 0.9 : 0.6;
      else if (context) score = 0.85;
      if (score > 0) matches.push({ start, end, score });
    }
    return matches;
  },
};

function issuable(area: string, group: string, serial: string): boolean {
  return area !== "000" && area !== "666" && area[0] !== "9" && group !== "00" && serial !== "0000";
}
