import type { Entity } from "../core/types.js";

/** How a masked value is written wherever text is shown or stored: `[REDACTED:<kind>]`. */
export function maskedValue(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/**
 * `text` with each finding's span (secrets only, or all) replaced by its masked value, in order of
 * position; of two overlapping findings the first is masked. Text before `from` is left as it is
 * (context already shown): a finding that starts there is masked from `from` on.
 */
export function maskFindings(
  text: string,
  findings: readonly Pick<Entity, "kind" | "group" | "start" | "end">[],
  which: "secret" | "all",
  from = 0,
): string {
  let out = text.slice(0, from);
  let at = from;
  for (const finding of [...findings].sort((a, b) => a.start - b.start)) {
    if (which === "secret" && finding.group !== "secret") continue;
    const start = Math.max(finding.start, from);
    if (start < at || finding.end <= start) continue;
    out += text.slice(at, start) + maskedValue(finding.kind);
    at = finding.end;
  }
  return out + text.slice(at);
}
