import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DETECTORS } from "../../../src/classify/detectors/detectors.js";
import { scanText } from "../../../src/classify/scan.js";
import { type CorpusFile, unmark } from "./corpus/corpus.js";

const directory = new URL("./corpus/", import.meta.url);
const files: CorpusFile[] = await Promise.all(
  readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && name !== "corpus.ts")
    .sort()
    .map(async (name) => (await import(new URL(name, directory).href)).corpus as CorpusFile),
);

interface Tally {
  truePositives: number;
  falsePositives: string[];
  falseNegatives: string[];
}

/** Every sample of every kind through the full scanner, tallied per kind. */
function tally(): Map<string, Tally> {
  const byKind = new Map<string, Tally>();
  const of = (kind: string) => {
    const entry = byKind.get(kind) ?? { truePositives: 0, falsePositives: [], falseNegatives: [] };
    byKind.set(kind, entry);
    return entry;
  };
  for (const detector of DETECTORS) of(detector.kind);
  for (const file of files)
    for (const sample of [...file.positive, ...file.negative]) {
      const { text, expected } = unmark(sample);
      const found = scanText(text);
      for (const want of expected) {
        const hit = found.some((f) => f.kind === want.kind && f.start === want.start && f.end === want.end);
        if (hit) of(want.kind).truePositives++;
        else of(want.kind).falseNegatives.push(JSON.stringify(sample));
      }
      for (const got of found) {
        const wanted = expected.some(
          (e) => e.kind === got.kind && e.start === got.start && e.end === got.end,
        );
        if (!wanted)
          of(got.kind).falsePositives.push(
            `${JSON.stringify(text.slice(got.start, got.end))} in ${JSON.stringify(sample)}`,
          );
      }
    }
  return byKind;
}

const percent = (part: number, whole: number) =>
  whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(1)}%`;

describe("the detector corpus", () => {
  const results = tally();

  it("has at least 20 positive and 20 negative samples for every detector's kind", () => {
    const thin = DETECTORS.map((detector) => detector.kind).filter((kind) => {
      const file = files.find((f) => f.kind === kind);
      return !file || file.positive.length < 20 || file.negative.length < 20;
    });
    expect(thin).toEqual([]);
  });

  it("is found with 100% recall and 100% precision for every kind", () => {
    const rows = [...results].map(([kind, t]) => ({
      kind,
      recall: percent(t.truePositives, t.truePositives + t.falseNegatives.length),
      precision: percent(t.truePositives, t.truePositives + t.falsePositives.length),
      found: t.truePositives,
      missed: t.falseNegatives.length,
      spurious: t.falsePositives.length,
    }));
    console.table(rows);
    const problems = [...results].flatMap(([kind, t]) => [
      ...t.falseNegatives.map((sample) => `${kind} missed in ${sample}`),
      ...t.falsePositives.map((what) => `${kind} spurious: ${what}`),
    ]);
    expect(problems).toEqual([]);
  });
});
