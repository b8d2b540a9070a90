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
  for (const view of viewsOf(text)) {
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
 * `text` and every decoded view of it (JSON and percent escapes, nested, as scanText reads
 * them): for checks that look for words rather than values, such as content rules.
 */
export function decodedViews(text: string): string[] {
  return viewsOf(text).map((view) => view.text);
}

/** How deep escapes are undone: JSON in a JSON string in a tool argument is two levels, plus a URL in it. */
const MAX_DECODING_DEPTH = 3;
/**
 * How far around an escape a decoded view reaches. A value that needs decoding to be seen holds
 * an escape, and values are shorter than this (a PEM block is longer, but its escaped line
 * breaks come every 64 characters, so its windows join): text far from every escape reads the
 * same decoded, and is not scanned again.
 */
const WINDOW = 512;
/** How far around a look-alike or invisible character its view reaches (a key and its name). */
const LOOKALIKE_WINDOW = 160;
/** Decoded views may add up to this many times the text's length. */
const DECODED_BUDGET = 2;

interface ScanView {
  text: string;
  /** For each code unit of the view (and one past its end), where it is in the original; none for the original. */
  offsets?: Int32Array;
  depth: number;
}

/**
 * The text as given, and decoded views of it: JSON escapes, percent escapes, look-alike and
 * invisible characters (see DECODERS), and those applied
 * again to what they produced (a JSON document carried as a string inside tool arguments is
 * escaped twice), up to MAX_DECODING_DEPTH. A decoded view covers the stretches within WINDOW of
 * a real escape (a stray `\` or `%` is common in code and decodes to nothing), and maps each of
 * its offsets back to the original text.
 */
function viewsOf(text: string): ScanView[] {
  const views: ScanView[] = [{ text, depth: 0 }];
  // Escapes of escapes of mixed kinds could multiply the views: what is decoded is capped at a
  // few times the text, so the scan stays linear whatever the input.
  let budget = DECODED_BUDGET * text.length;
  for (let index = 0; index < views.length && budget > 0; index++) {
    const view = views[index] as ScanView;
    if (view.depth >= MAX_DECODING_DEPTH) continue;
    for (const { applies, sequences, decodeOne, window } of DECODERS) {
      if (!applies(view.text)) continue;
      for (const [from, to] of windowsAround(view.text, sequences, decodeOne, window)) {
        if (budget <= 0) break;
        budget -= to - from;
        const decoded = decode(view.text, from, to, sequences, decodeOne, view.offsets);
        // A stretch that reads the same decoded (text in another script) is not scanned again.
        if (decoded.text === view.text.slice(from, to)) budget += to - from;
        else views.push({ ...decoded, depth: view.depth + 1 });
      }
    }
  }
  return views;
}

/**
 * Stretches of `text` within WINDOW of a match of `escapes` (global) that decodes to something
 * else, merged, in order.
 */
function windowsAround(
  text: string,
  escapes: RegExp,
  decodeOne: (sequence: string) => string,
  window: number,
): [number, number][] {
  const windows: [number, number][] = [];
  escapes.lastIndex = 0;
  for (let match = escapes.exec(text); match !== null; match = escapes.exec(text)) {
    if (decodeOne(match[0]) === match[0]) continue;
    const from = Math.max(0, match.index - window);
    const to = Math.min(text.length, escapes.lastIndex + window);
    const last = windows.at(-1);
    if (last && from <= last[1]) last[1] = to;
    else windows.push([from, to]);
  }
  return windows;
}

/**
 * Sorted by start, no two overlapping. Of two that overlap, the preferred one stays. Within a
 * group it takes the union of both spans, so what either covered is still covered when the span
 * is replaced; a secret that beats personal data keeps its own span (the rest of a "personal"
 * match cut by a key, like `@github.com` after a token in a URL, is no value of its own).
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
    kept[kept.length - 1] =
      finding.group === last.group
        ? { ...winner, start: Math.min(last.start, finding.start), end: Math.max(last.end, finding.end) }
        : winner;
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

const JSON_ESCAPE_GLOBAL = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/g;
const PERCENT_ESCAPE_GLOBAL = /%(?:[2-7][0-9a-fA-F]|0[9aAdD])/g;

/** Characters outside ASCII, one code point each: what a look-alike or an invisible one can be. */
const NON_ASCII_GLOBAL = /[\u{80}-\u{10FFFF}]/gu;
/** Invisible characters outside ASCII (ASCII's own controls, a newline or a tab, are text). */
const HIDDEN_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}\u{80}-\u{9F}]/u;

/**
 * The ways a view is decoded: when it `applies` to a text, each match of `sequences` (a global
 * pattern) is replaced by `decodeOne` of it. The last one undoes look-alikes: compatibility forms
 * become what they stand for (NFKC: a fullwidth `＠` is `@`, `ｓｋ` is `sk`) and invisible
 * characters (a zero-width space inside a key) are dropped; it applies only to text that
 * changes under it, so text in other scripts is not scanned twice.
 */
const DECODERS: ReadonlyArray<{
  applies: (text: string) => boolean;
  sequences: RegExp;
  decodeOne: (sequence: string) => string;
  /** How far around a changed sequence its view reaches. */
  window: number;
}> = [
  {
    applies: (text) => hasMatch(JSON_ESCAPE_GLOBAL, text),
    sequences: JSON_ESCAPE_GLOBAL,
    decodeOne: jsonEscapeValue,
    window: WINDOW,
  },
  {
    applies: (text) => hasMatch(PERCENT_ESCAPE_GLOBAL, text),
    sequences: PERCENT_ESCAPE_GLOBAL,
    decodeOne: percentEscapeValue,
    window: WINDOW,
  },
  {
    applies: (text) => HIDDEN_CHARACTER.test(text) || text.normalize("NFKC") !== text,
    sequences: NON_ASCII_GLOBAL,
    decodeOne: (character) => (HIDDEN_CHARACTER.test(character) ? "" : character.normalize("NFKC")),
    // A look-alike hides a value, not an escaped document: the value and its context words.
    window: LOOKALIKE_WINDOW,
  },
];

function hasMatch(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  const found = pattern.test(text);
  pattern.lastIndex = 0;
  return found;
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
function decode(
  text: string,
  from: number,
  to: number,
  escapes: RegExp,
  decodeOne: (sequence: string) => string,
  outer: Int32Array | undefined,
): View {
  const parts: string[] = [];
  const offsets = new Int32Array(to - from + 1);
  let length = 0;
  let at = from;
  // Where a position of `text` is in the original.
  const origin = (position: number) => (outer ? (outer[position] as number) : position);
  const copy = (end: number) => {
    parts.push(text.slice(at, end));
    for (let position = at; position < end; position++) offsets[length++] = origin(position);
  };
  escapes.lastIndex = from;
  for (let match = escapes.exec(text); match !== null && match.index < to; match = escapes.exec(text)) {
    copy(match.index);
    const value = decodeOne(match[0]);
    parts.push(value);
    for (let index = 0; index < value.length; index++) offsets[length++] = origin(match.index);
    at = match.index + match[0].length;
  }
  copy(to);
  offsets[length] = origin(to);
  return { text: parts.join(""), offsets: offsets.subarray(0, length + 1) };
}
