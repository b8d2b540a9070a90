import { describe, expect, it } from "vitest";
import { estimateInputTokens, estimateTokens, estimateUsage } from "../../src/core/token-estimate.js";

describe("estimateTokens", () => {
  it("counts four characters a token, rounding up", () => {
    expect(estimateTokens(0)).toBe(0);
    expect(estimateTokens(1)).toBe(1);
    expect(estimateTokens(4)).toBe(1);
    expect(estimateTokens(5)).toBe(2);
    expect(estimateTokens(400)).toBe(100);
  });
});

describe("estimateInputTokens", () => {
  it("counts every message's text plus three tokens of overhead per message", () => {
    expect(estimateInputTokens([{ role: "user", content: "12345678" }])).toBe(2 + 3);
    expect(
      estimateInputTokens([
        { role: "system", content: "1234" },
        { role: "user", content: "1234" },
      ]),
    ).toBe(2 + 6);
  });

  it("counts names and tool calls (name and arguments) with the text", () => {
    expect(
      estimateInputTokens([
        { role: "user", content: "ab", name: "cd" },
        { role: "assistant", content: "", toolCalls: [{ id: "ignored-id", name: "tool", arguments: "{}" }] },
      ]),
      // "ab" + "cd" + "tool" + "{}" = 10 characters = 3 tokens, plus 2 messages × 3.
    ).toBe(3 + 6);
  });

  it("counts each tool definition's name, description and JSON schema", () => {
    const parameters = { type: "object" };
    const characters = "find".length + "finds".length + JSON.stringify(parameters).length;
    expect(
      estimateInputTokens(
        [{ role: "user", content: "" }],
        [{ name: "find", description: "finds", parameters }],
      ),
    ).toBe(Math.ceil(characters / 4) + 3);
  });
});

describe("estimateUsage", () => {
  it("estimates the prompt and the answer and marks the counts as estimated", () => {
    expect(estimateUsage([{ role: "user", content: "12345678" }], [], 9)).toEqual({
      inputTokens: 5,
      outputTokens: 3,
      estimated: true,
    });
  });
});
