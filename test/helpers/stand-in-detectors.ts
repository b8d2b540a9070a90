import type { Detector } from "../../src/classify/detectors/detector.js";

/**
 * Simple stand-ins for the real detectors, for unit tests of what is done with findings (guard,
 * output filter, logging policy) that should not depend on the detectors' own rules. Used as
 *   vi.mock("…/src/classify/detectors/detectors.js", async () => ({
 *     DETECTORS: (await import("…/helpers/stand-in-detectors.js")).STAND_IN_DETECTORS }));
 * A pattern's first capture group, when it has one, is the value (`password=` is context).
 */
function byPattern(kind: string, group: "pii" | "secret", pattern: RegExp): Detector {
  return {
    kind,
    group,
    find: (text) =>
      [...text.matchAll(pattern)].map((match) => {
        const [start, end] = match.indices?.[1] ?? [match.index, match.index + match[0].length];
        return { start, end, score: 1 };
      }),
  };
}

export const STAND_IN_DETECTORS: readonly Detector[] = [
  byPattern("aws_access_key_id", "secret", /(?<![A-Za-z0-9])(AKIA[A-Z0-9]{16})(?![A-Za-z0-9])/dg),
  byPattern("password", "secret", /password\s{0,4}[=:]\s{0,4}([^\s"',;]{1,128})/dgi),
  byPattern("email", "pii", /\b[a-z0-9.]{1,64}@[a-z0-9.]{1,64}\.[a-z]{2,8}\b/dg),
];
