import { describe, expect, it } from "vitest";
import { PolicyError, parsePolicy } from "../../../src/config/load-policy.js";
import { createAdapter } from "../../../src/providers/registry.js";
import { DEFAULT_REPLY, startFakeBedrock, TEST_CREDENTIALS } from "../../fakes/fake-bedrock-server.js";
import { collect } from "../../helpers/async.js";

/** The provider block the report proposes for config/switchyard.yaml. */
const POLICY = `
providers:
  bedrock:
    kind: bedrock
    region: \${AWS_REGION}
    access_key_id: \${AWS_ACCESS_KEY_ID}
    secret_access_key: \${AWS_SECRET_ACCESS_KEY}
    session_token: \${AWS_SESSION_TOKEN:-}
    models:
      anthropic.claude-3-5-haiku-20241022-v1:0: { input_usd_per_mtok: 0.8, output_usd_per_mtok: 4 }
  local:
    kind: mock
    hosted: false
routes:
  - name: r
    match: { data_class: [public] }
    primary: { provider: bedrock, model: anthropic.claude-3-5-haiku-20241022-v1:0 }
    fallback:
      - { provider: local, model: m }
`;

const AWS = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };

describe("a kind: bedrock provider block in a policy", () => {
  it("loads with the AWS environment variables set, region and credentials in place", () => {
    const bedrock = parsePolicy(POLICY, { source: "test.yaml", env: AWS }).providers.get("bedrock");
    expect(bedrock?.disabledReason).toBeUndefined();
    expect(bedrock?.region).toBe("us-east-1");
    expect(bedrock?.settings).toMatchObject({
      access_key_id: "AKIDEXAMPLE",
      secret_access_key: "secret",
      session_token: "",
    });
  });

  it.each(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"])(
    "is left out, not refused, while %s is unset",
    (variable) => {
      const env: Record<string, string> = { ...AWS };
      delete env[variable];
      const bedrock = parsePolicy(POLICY, { source: "test.yaml", env }).providers.get("bedrock");
      expect(bedrock?.disabledReason).toBe(`${variable} is not set`);
    },
  );

  it("refuses an unknown key with its path", () => {
    try {
      parsePolicy(POLICY.replace("session_token:", "sesion_token:"), { source: "test.yaml", env: AWS });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).issues.map((issue) => issue.path)).toContain(
        "providers.bedrock.sesion_token",
      );
    }
  });

  it("refuses at load a region that is not an AWS region (it names the endpoint and signs the calls)", () => {
    for (const region of ["onprem", "us east 1"]) {
      try {
        parsePolicy(POLICY, { source: "test.yaml", env: { ...AWS, AWS_REGION: region } });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyError);
        expect((error as PolicyError).issues.map((issue) => issue.path)).toContain(
          "providers.bedrock.region",
        );
      }
    }
  });

  it("builds, through the registry, an adapter that signs and streams (base_url pointing at the fake)", async () => {
    const fake = await startFakeBedrock();
    try {
      const policy = parsePolicy(
        POLICY.replace("kind: bedrock", `kind: bedrock\n    base_url: ${fake.url}`),
        {
          source: "test.yaml",
          env: {
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
          },
        },
      );
      const provider = policy.providers.get("bedrock");
      if (provider === undefined) throw new Error("no bedrock provider");
      const adapter = createAdapter(provider);
      const parts = await collect(
        adapter.stream({
          model: "anthropic.claude-3-5-haiku-20241022-v1:0",
          messages: [{ role: "user", content: "hi" }],
          tools: [],
          stop: [],
          signal: new AbortController().signal,
        }),
      );
      await adapter.close();
      expect(fake.requests[0]?.signature).toBe("valid");
      expect(parts.map((p) => (p.type === "text-delta" ? p.delta : "")).join("")).toBe(DEFAULT_REPLY);
    } finally {
      await fake.close();
    }
  });
});
