import { describe, expect, it } from "vitest";
import { maskFindings } from "../../src/classify/mask.js";

describe("maskFindings", () => {
  const text = "key AKIA0000000000000000 for a@b.co";
  const findings = [
    { kind: "email", group: "pii" as const, start: 29, end: 35 },
    { kind: "aws_access_key_id", group: "secret" as const, start: 4, end: 24 },
  ];

  it("masks secrets only, or every finding, in order of position", () => {
    expect(maskFindings(text, findings, "secret")).toBe("key [REDACTED:aws_access_key_id] for a@b.co");
    expect(maskFindings(text, findings, "all")).toBe("key [REDACTED:aws_access_key_id] for [REDACTED:email]");
  });

  it("masks the first of two overlapping findings and leaves text without findings as it is", () => {
    const overlapping = [...findings, { kind: "other", group: "secret" as const, start: 10, end: 30 }];
    expect(maskFindings(text, overlapping, "all")).toBe(
      "key [REDACTED:aws_access_key_id] for [REDACTED:email]",
    );
    expect(maskFindings(text, [], "all")).toBe(text);
  });

  it("leaves text before `from` as it is and masks a finding that starts there from `from` on", () => {
    expect(maskFindings(text, findings, "secret", 10)).toBe(
      "key AKIA00[REDACTED:aws_access_key_id] for a@b.co",
    );
    expect(maskFindings(text, findings, "all", 30)).toBe("key AKIA0000000000000000 for a[REDACTED:email]");
  });
});
