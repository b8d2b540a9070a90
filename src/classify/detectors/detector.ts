/**
 * A content detector: finds one kind of sensitive value in a piece of text. Detectors are pure
 * and synchronous, see only the text they are given (a message's content, or one decoded view
 * of a tool call's arguments: src/classify/scan.ts does the decoding and maps offsets back), and
 * must run in time linear in the text's length: every quantifier bounded, no pattern that can
 * backtrack over an unbounded run (a 1 MB wall of digits, `@` or base64 must not stall a call).
 */

import type { EntityGroup } from "../../core/types.js";

/** One value found, in UTF-16 code units of the text scanned: `text.slice(start, end)` is the value. */
export interface Match {
  start: number;
  end: number;
  /** Confidence in [0, 1]: 1 for checksummed or unambiguous formats, lower where context decided. */
  score: number;
}

export interface Detector {
  /** snake_case name used in the policy (`detect: { email: … }`), findings and placeholders (`<EMAIL_1>`). */
  readonly kind: string;
  readonly group: EntityGroup;
  /** Every match in `text`, in order of start; matches of one detector do not overlap. */
  find(text: string): Match[];
}
