import type { EntityGroup } from "../core/types.js";
import type { Detector } from "./detectors/detector.js";
import { DETECTORS } from "./detectors/detectors.js";

/** A value found in one text: offsets into that text as given. */
export interface TextFinding {
  kind: string;
  group: EntityGroup;
  start: number;
  end: number;
  score: number;
}

/**
 * Every sensitive value in `text`. Detectors run over the text as given and, when it holds
 * escapes, over its decoded views too (JSON string escapes such as `\u0040`, which is how tool
 * arguments and pasted JSON carry text, and URL percent-encoding such as `%40`); a value found in
 * a decoded view is reported at the span of the text as given that encodes it, so replacing that
 * span replaces the value and keeps the surrounding JSON valid. Where findings overlap one is
 * kept: a secret before personal data, then the longer, then the surer.
 */
export function scanText(text: string, detectors: readonly Detector[] = DETECTORS): TextFinding[] {
  const findings: TextFinding[] = [];
  const views: { text: string; offsets?: Int32Array }[] = [{ text }];
  // A decoded view only when the text holds a real escape (a stray `\` or `%` is common in code).
  if (JSON_ESCAPE.test(text)) views.push(decode(text, JSON_ESCAPE_GLOBAL, jsonEscapeValue));
  if (PERCENT_ESCAPE.test(text)) views.push(decode(text, PERCENT_ESCAPE_GLOBAL, percentEscapeValue));
  for (const view of views) {
    for (const detector of detectors)
      for (const match of detector.find(view.text)) {
        const start = view.offsets ? (view.offsets[match.start] as number) : match.start;
        const end = view.offsets ? (view.offsets[match.end] as number) : match.end;
        findings.push({ kind: detector.kind, group: detector.group, start, end, score: match.score });
      }
  }
  return withoutOverlaps(findings);
}

/**
 * Sorted by start, no two overlapping. Of two that overlap, the preferred one stays and takes
 * the union of both spans, so what either covered is still covered when the span is replaced.
 */
function withoutOverlaps(findings: TextFinding[]): TextFinding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: TextFinding[] = [];
  for (const finding of findings) {
    const last = kept.at(-1);
    if (last === undefined || finding.start >= last.end) {
      kept.push(finding);
      continue;
    }
    const winner = preferred(finding, last) ? finding : last;
    kept[kept.length - 1] = {
      ...winner,
      start: Math.min(last.start, finding.start),
      end: Math.max(last.end, finding.end),
    };
  }
  return kept;
}

function preferred(a: TextFinding, b: TextFinding): boolean {
  if (a.group !== b.group) return a.group === "secret";
  const lengths = a.end - a.start - (b.end - b.start);
  if (lengths !== 0) return lengths > 0;
  return a.score > b.score;
}

interface View {
  text: string;
  /** For each code unit of the view (and one past its end), where it starts in the original. */
  offsets: Int32Array;
}

const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/;
const JSON_ESCAPE_GLOBAL = new RegExp(JSON_ESCAPE.source, "g");
const PERCENT_ESCAPE = /%(?:[2-7][0-9a-fA-F]|0[9aAdD])/;
const PERCENT_ESCAPE_GLOBAL = new RegExp(PERCENT_ESCAPE.source, "g");

const SHORT_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** `\n` → newline, `\u0040` → `@`. */
function jsonEscapeValue(sequence: string): string {
  return sequence[1] === "u"
    ? String.fromCharCode(Number.parseInt(sequence.slice(2), 16))
    : (SHORT_ESCAPES[sequence[1] ?? ""] ?? sequence);
}

/** `%40` → `@` (printable ASCII, tab and line breaks only, the form URLs and form bodies use). */
function percentEscapeValue(sequence: string): string {
  const code = Number.parseInt(sequence.slice(1), 16);
  return code === 0x7f ? sequence : String.fromCharCode(code);
}

/**
 * The text with every match of `escapes` (a global pattern) replaced by its value, built by
 * slicing between escapes, with the map from the view's offsets back to the original's.
 */
function decode(text: string, escapes: RegExp, decodeOne: (sequence: string) => string): View {
  const parts: string[] = [];
  const offsets = new Int32Array(text.length + 1);
  let length = 0;
  let at = 0;
  escapes.lastIndex = 0;
  for (let match = escapes.exec(text); match !== null; match = escapes.exec(text)) {
    const plain = text.slice(at, match.index);
    parts.push(plain);
    for (let index = 0; index < plain.length; index++) offsets[length++] = at + index;
    const value = decodeOne(match[0]);
    parts.push(value);
    for (let index = 0; index < value.length; index++) offsets[length++] = match.index;
    at = match.index + match[0].length;
  }
  const rest = text.slice(at);
  parts.push(rest);
  for (let index = 0; index < rest.length; index++) offsets[length++] = at + index;
  offsets[length] = text.length;
  return { text: parts.join(""), offsets: offsets.subarray(0, length + 1) };
}
