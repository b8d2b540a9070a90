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
  const views = [{ text, offsets: undefined as Int32Array | undefined }];
  if (text.includes("\\")) views.push(decodeJsonEscapes(text));
  if (text.includes("%")) views.push(decodePercentEscapes(text));
  for (const view of views) {
    if (view.offsets && view.text.length === text.length) continue;
    for (const detector of detectors)
      for (const match of detector.find(view.text)) {
        const start = view.offsets ? (view.offsets[match.start] as number) : match.start;
        const end = view.offsets ? (view.offsets[match.end] as number) : match.end;
        findings.push({ kind: detector.kind, group: detector.group, start, end, score: match.score });
      }
  }
  return withoutOverlaps(findings);
}

/** Sorted by start, no two overlapping; of two that overlap, the preferred one stays. */
function withoutOverlaps(findings: TextFinding[]): TextFinding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: TextFinding[] = [];
  for (const finding of findings) {
    const last = kept.at(-1);
    if (last === undefined || finding.start >= last.end) kept.push(finding);
    else if (preferred(finding, last)) kept[kept.length - 1] = finding;
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

/** The text with JSON string escapes decoded; anything that is not a valid escape stays as written. */
function decodeJsonEscapes(text: string): View {
  return decode(text, (at) => {
    if (text.charCodeAt(at) !== 92 /* \ */) return undefined;
    const next = text[at + 1];
    if (next === undefined) return undefined;
    const short = SHORT_ESCAPES[next];
    if (short !== undefined) return { value: short, length: 2 };
    if (next !== "u") return undefined;
    const code = hexValue(text, at + 2, 4);
    return code === undefined ? undefined : { value: String.fromCharCode(code), length: 6 };
  });
}

/** The text with `%XX` escapes of printable ASCII and line breaks decoded (the form URLs and form bodies use). */
function decodePercentEscapes(text: string): View {
  return decode(text, (at) => {
    if (text.charCodeAt(at) !== 37 /* % */) return undefined;
    const code = hexValue(text, at + 1, 2);
    const printable =
      code !== undefined &&
      ((code >= 0x20 && code <= 0x7e) || code === 0x0a || code === 0x0d || code === 0x09);
    return !printable ? undefined : { value: String.fromCharCode(code), length: 3 };
  });
}

function decode(text: string, escapeAt: (at: number) => { value: string; length: number } | undefined): View {
  const parts: string[] = [];
  const offsets = new Int32Array(text.length + 1);
  let length = 0;
  let at = 0;
  while (at < text.length) {
    const decoded = escapeAt(at);
    const value = decoded?.value ?? (text[at] as string);
    parts.push(value);
    offsets[length++] = at;
    at += decoded?.length ?? 1;
  }
  offsets[length] = text.length;
  return { text: parts.join(""), offsets: offsets.subarray(0, length + 1) };
}

function hexValue(text: string, from: number, digits: number): number | undefined {
  if (from + digits > text.length) return undefined;
  let value = 0;
  for (let index = from; index < from + digits; index++) {
    const code = text.charCodeAt(index);
    const digit =
      code >= 48 && code <= 57
        ? code - 48
        : code >= 97 && code <= 102
          ? code - 87
          : code >= 65 && code <= 70
            ? code - 55
            : -1;
    if (digit < 0) return undefined;
    value = value * 16 + digit;
  }
  return value;
}
