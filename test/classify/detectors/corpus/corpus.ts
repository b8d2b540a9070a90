/**
 * The detector corpus: per kind, at least 20 texts that hold a value of that kind and 20 near
 * misses that must not be flagged. In a positive sample each expected finding is written
 * `⟦kind:value⟧`; the markers are removed before scanning and give the exact expected span.
 * A sample may mark several findings (of any kinds). Every finding the scanner reports that is
 * not marked counts against that kind's precision; every marked one it misses, against recall.
 */
export interface CorpusFile {
  kind: string;
  positive: string[];
  negative: string[];
}

export interface Expected {
  kind: string;
  start: number;
  end: number;
}

const MARK = /⟦([a-z0-9_]+):([^⟧]*)⟧/g;

/** The sample as scanned, and the findings it must produce. */
export function unmark(sample: string): { text: string; expected: Expected[] } {
  const expected: Expected[] = [];
  let text = "";
  let last = 0;
  for (const match of sample.matchAll(MARK)) {
    text += sample.slice(last, match.index);
    const value = match[2] ?? "";
    expected.push({ kind: match[1] ?? "", start: text.length, end: text.length + value.length });
    text += value;
    last = match.index + match[0].length;
  }
  return { text: text + sample.slice(last), expected };
}
