import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEYED_POLICY, TENANT_ENV } from "../helpers/tenants.js";

// Each test spawns the compiled CLI (a whole Node process, every module loaded) one or more times:
// on a busy two-core machine a spawn alone can take seconds.
vi.setConfig({ testTimeout: 60_000 });

const ROOT = new URL("../..", import.meta.url).pathname;
const NODE = join(ROOT, "node_modules/.bin/node");
const CLI = join(ROOT, "dist/src/cli/main.js");
const SEED = join(ROOT, "test/fixtures/policies/seed.yaml");

/** Runs the compiled CLI (`npm test` builds it first) with a clean environment. */
function switchyard(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? "", ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("switchyard check", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchyard-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 0 for a valid policy and reports providers left out", async () => {
    const result = await switchyard(["check", SEED], { OPENAI_API_KEY: "sk-test" });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/seed\.yaml: valid \(version [0-9a-f]{12}, 2 routes\)/);
    expect(result.stdout).toContain('warning: provider "anthropic" left out: ANTHROPIC_API_KEY is not set');
  });

  it("exits 1 listing every error with its path", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(
      bad,
      `
providers:
  openai: { kind: openai-compatible, base_url: "https://api.openai.com/v1", hosted: true, models: { gpt-4.1: {} } }
  local: { kind: mock, hosted: false }
routes:
  - name: leaky
    primary: { provider: local, model: llama }
    fallback: [{ provider: openai, model: gpt-5o }]
`,
    );
    const result = await switchyard(["check", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("bad.yaml: invalid (2 errors)");
    expect(result.stderr).toContain(
      'routes[0].fallback[0].model: unknown model "gpt-5o" for provider "openai" (listed: gpt-4.1)',
    );
    expect(result.stderr).toContain(
      'routes[0].fallback[0]: route "leaky" can match data classes internal, pii, regulated, secret, which may not leave the boundary, and provider "openai" is hosted',
    );
  });

  it("reports schema errors and cross-reference errors together, suggesting the nearest valid names", async () => {
    const bad = join(dir, "typos.yaml");
    await writeFile(
      bad,
      `
providers:
  local: { kind: mock, hosted: false, models: { llama: {} } }
  "cloud ": { kind: mock, hosted: false }
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: local, model: lama }
    budgets: { max_latncy_ms: 100 }
  - name: default
    primary: { provider: locl, model: llama }
`,
    );
    const result = await switchyard(["check", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        `${bad}: invalid (4 errors)`,
        '  providers["cloud "]: must be an identifier: ASCII letters, digits and ._:/@+-, starting with a letter or digit, at most 128 characters (this one has surrounding whitespace)',
        '  routes[0].primary.model: unknown model "lama" for provider "local" (did you mean "llama"? listed: llama)',
        '  routes[0].budgets.max_latncy_ms: unknown key (did you mean "max_latency_ms"?)',
        '  routes[1].primary.provider: unknown provider "locl" (did you mean "local"? declared: local)',
        "",
      ].join("\n"),
    );
  });

  it("says when calls are not authenticated (auth none), and not when tenants hold keys", async () => {
    const open = await switchyard(["check", SEED], { OPENAI_API_KEY: "sk-test" });
    expect(open.stdout).toContain(
      "warning: auth.mode is none: calls are not authenticated, so any caller may name any tenant and spend its budget",
    );
    const keyed = join(dir, "keyed.yaml");
    await writeFile(keyed, KEYED_POLICY);
    const result = await switchyard(["check", keyed], TENANT_ENV);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("auth.mode is none");
  });

  it("exits 1 for a file that cannot be read", async () => {
    const result = await switchyard(["check", join(dir, "missing.yaml")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("cannot read file");
  });
});

describe("switchyard explain", () => {
  it("prints the decision Route would take, sending nothing", async () => {
    const request = JSON.stringify({
      messages: [{ role: "ROLE_USER", content: "hi" }],
      task: "chat",
      dataClass: "pii",
    });
    const result = await switchyard(["explain", "--config", SEED, "--request", request]);
    expect(result.code).toBe(0);
    const decision = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(decision).toMatchObject({
      route: "pii_sensitive",
      dataClass: "pii",
      target: "self_hosted/llama",
      dryRun: true,
      attempts: [],
    });
  });

  it("explains a request as written under a policy with keys: the operator needs none", async () => {
    const keyed = join(await mkdtemp(join(tmpdir(), "switchyard-cli-")), "keyed.yaml");
    await writeFile(keyed, KEYED_POLICY);
    const request = JSON.stringify({ messages: [{ role: "ROLE_USER", content: "hi" }], tenant: "beta" });
    const result = await switchyard(["explain", "--config", keyed, "--request", request], TENANT_ENV);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ tenant: "beta", route: "default" });
    await rm(join(keyed, ".."), { recursive: true, force: true });
  });

  it("explains why hosted candidates are left out", async () => {
    const request = JSON.stringify({
      messages: [{ role: "ROLE_USER", content: "hi" }],
      task: "chat",
      dataClass: "public",
    });
    const result = await switchyard(["explain", "--request", request]);
    expect(result.code).toBe(0);
    const decision = JSON.parse(result.stdout) as {
      candidates: Array<Record<string, unknown>>;
      target: string;
    };
    expect(decision.candidates[0]).toMatchObject({
      target: "openai/gpt-4.1",
      eligible: false,
      reason: "provider openai is left out of routing: OPENAI_API_KEY is not set",
    });
    expect(decision.target).toBe("hosted_mock_down/mock-large");
  });

  it("shows the route's behaviour with a named target out of service (--without, an outage drill on paper)", async () => {
    const request = JSON.stringify({
      messages: [{ role: "ROLE_USER", content: "hi" }],
      task: "chat",
      dataClass: "public",
    });
    const result = await switchyard([
      "explain",
      "--request",
      request,
      "--without",
      "hosted_mock_down/mock-large",
    ]);
    expect(result.code).toBe(0);
    const decision = JSON.parse(result.stdout) as {
      target: string;
      attempts: Array<Record<string, unknown>>;
    };
    expect(decision.target).toBe("hosted_mock/mock-small");
    expect(decision.attempts).toEqual([
      expect.objectContaining({
        target: "hosted_mock_down/mock-large",
        outcome: "ATTEMPT_OUTCOME_SKIPPED",
        message: "skipped: out of service (switchyard explain --without)",
      }),
    ]);

    const unknown = await switchyard(["explain", "--request", request, "--without", "hosted_mock/mock-smal"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      '--without: no route names target "hosted_mock/mock-smal" (did you mean "hosted_mock/mock-small"?)',
    );
  });

  it("exits 1 naming the field of a bad request", async () => {
    const result = await switchyard([
      "explain",
      "--request",
      JSON.stringify({ messages: [], dataClass: "nope" }),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("messages: must contain at least one message");
  });
});

describe("switchyard serve arguments", () => {
  it("refuses an unknown limit, a malformed one and an unknown option with exit 2", async () => {
    const unknown = await switchyard(["serve", "--limit", "maxBodyByte=10"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--limit: unknown limit "maxBodyByte" (known: maxBodyBytes,');
    const malformed = await switchyard(["serve", "--limit", "maxBodyBytes=4MiB"]);
    expect(malformed).toMatchObject({
      code: 2,
      stderr: '--limit: maxBodyBytes must be a whole number, got "4MiB"\n',
    });
    const option = await switchyard(["serve", "--bogus"]);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("Unknown option '--bogus'");
  });
});
