import { describe, expect, it } from "vitest";
import type { Detector } from "../../src/classify/detectors/detector.js";
import { decodedViews, scanText } from "../../src/classify/scan.js";

/** A detector of a fixed word, so what the scanner does around detectors is seen plainly. */
function word(kind: string, group: "pii" | "secret", value: string): Detector {
  return {
    kind,
    group,
    find: (text) => {
      const matches = [];
      for (let at = text.indexOf(value); at >= 0; at = text.indexOf(value, at + 1))
        matches.push({ start: at, end: at + value.length, score: 1 });
      return matches;
    },
  };
}

const EMAIL = word("email", "pii", "ann@example.com");

describe("scanText", () => {
  it("reports a value written with JSON escapes at the span that encodes it", () => {
    const text = '{"to":"ann\\u0040example.com"}';
    const [finding] = scanText(text, [EMAIL]);
    expect(text.slice(finding?.start, finding?.end)).toBe("ann\\u0040example.com");
  });

  it("undoes escapes of escapes (JSON in a JSON string) and URL escapes", () => {
    const twice = JSON.stringify(JSON.stringify({ to: "ann\u0040example.com" }).replace("@", "\\u0040"));
    const [nested] = scanText(twice, [EMAIL]);
    expect(twice.slice(nested?.start, nested?.end)).toBe("ann\\\\u0040example.com");
    const url = "https://x.example/?to=ann%40example.com&x=1";
    const [encoded] = scanText(url, [EMAIL]);
    expect(url.slice(encoded?.start, encoded?.end)).toBe("ann%40example.com");
  });

  it("finds a value once when it is also in a decoded view, and builds no view without a real escape", () => {
    expect(scanText("mail ann@example.com \\n", [EMAIL])).toHaveLength(1);
    expect(decodedViews("C:\\path 100% done")).toEqual(["C:\\path 100% done"]);
  });

  it("keeps a secret's own span over personal data it overlaps, and the union of overlapping findings of a group", () => {
    const secret = word("github_token", "secret", "ghp_abc");
    const email = word("email", "pii", "abc@x.io");
    expect(scanText("https://ghp_abc@x.io/", [secret, email])).toEqual([
      { kind: "github_token", group: "secret", start: 8, end: 15, score: 1 },
    ]);
    const left = word("card", "pii", "4111 1111");
    const right = word("phone", "pii", "1111 2222");
    expect(scanText("n 4111 1111 2222", [left, right])).toEqual([
      { kind: "card", group: "pii", start: 2, end: 16, score: 1 },
    ]);
  });

  it("decodes at most twice the text's length, however the escapes nest", () => {
    const text = "%255C\\\\".repeat(20_000);
    const views = decodedViews(text);
    const decoded = views.slice(1).reduce((sum, view) => sum + view.length, 0);
    expect(decoded).toBeLessThanOrEqual(2 * text.length);
    expect(views.length).toBeGreaterThan(1);
  });

  it("sees through look-alike and invisible characters, reporting the span as written", () => {
    const fullwidth = "mail ann＠example.com today";
    const [a] = scanText(fullwidth, [EMAIL]);
    expect(fullwidth.slice(a?.start, a?.end)).toBe("ann＠example.com");
    const hidden = "mail ann@exam\u200bple.com today";
    const [b] = scanText(hidden, [EMAIL]);
    expect(hidden.slice(b?.start, b?.end)).toBe("ann@exam\u200bple.com");
    expect(decodedViews("Führerschein née 東京")).toEqual(["Führerschein née 東京"]);
  });
});
