import { describe, expect, it } from "vitest";
import { PolicyError, parsePolicy } from "../../../src/config/load-policy.js";

/** The provider block proposed for config/switchyard.yaml, in a minimal policy. */
const policy = (anthropic: string) => `
providers:
  anthropic:
${anthropic}
  local: { kind: mock, hosted: false }
routes:
  - name: r
    match: { data_class: public }
    primary: { provider: anthropic, model: claude-sonnet-4-5 }
    fallback: [{ provider: local, model: m }]
`;

const shipped = `    kind: anthropic
    base_url: https://api.anthropic.com
    api_key: \${ANTHROPIC_API_KEY}
    hosted: true
    region: us
    models:
      claude-sonnet-4-5: { input_usd_per_mtok: 3.00, output_usd_per_mtok: 15.00, context_window: 200000 }`;

describe("kind: anthropic in a policy", () => {
  it("loads a provider block with its key, settings defaulted", () => {
    const loaded = parsePolicy(policy(shipped), { source: "t.yaml", env: { ANTHROPIC_API_KEY: "sk-ant-x" } });
    const provider = loaded.providers.get("anthropic");
    expect(provider?.kind).toBe("anthropic");
    expect(provider?.disabledReason).toBeUndefined();
    expect(provider?.continuesAnswers).toBe(false);
    expect(provider?.settings).toMatchObject({
      base_url: "https://api.anthropic.com",
      api_key: "sk-ant-x",
      anthropic: { version: "2023-06-01", max_tokens_default: 4096, json_mode: "tool" },
    });
  });

  it("leaves the provider out, not the policy, when ANTHROPIC_API_KEY is unset", () => {
    const loaded = parsePolicy(policy(shipped), { source: "t.yaml", env: {} });
    expect(loaded.providers.get("anthropic")?.disabledReason).toMatch(/ANTHROPIC_API_KEY/);
  });

  it("refuses a typo'd key in the anthropic block, naming its path", () => {
    try {
      parsePolicy(policy(`    kind: anthropic\n    api_key: k\n    anthropic: { max_token_default: 10 }`), {
        source: "t.yaml",
        env: {},
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).issues.map((issue) => issue.path)).toContain(
        "providers.anthropic.anthropic.max_token_default",
      );
    }
  });
});
