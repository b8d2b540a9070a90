import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Environment } from "../../src/config/env.js";
import { PolicyError, parsePolicy } from "../../src/config/load-policy.js";

const ROUTES = `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: default
    primary: { provider: local, model: tiny }
`;

const ACME_KEY = "acme-key-0123456789abcdef";
const BETA_KEY = "beta-key-0123456789abcdef";
const sha256 = (key: string) => createHash("sha256").update(key).digest("hex");

function load(yaml: string, env: Environment = {}) {
  return parsePolicy(`${ROUTES}${yaml}`, { source: "auth.yaml", env });
}

function issuesOf(yaml: string, env: Environment = {}): string[] {
  try {
    load(yaml, env);
  } catch (error) {
    if (error instanceof PolicyError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error("expected the policy to be refused");
}

describe("policy: tenants and auth", () => {
  it("holds keys from the environment and as SHA-256 digests, never the keys themselves", () => {
    const policy = load(
      `
tenants:
  acme: { keys: ["\${ACME_KEY}"] }
  beta: { keys: ["sha256:${sha256(BETA_KEY)}"] }
  gamma: {}
`,
      { ACME_KEY },
    );
    expect(policy.auth.mode).toBe("keys");
    expect(policy.auth.keys.map((key) => [Buffer.from(key.digest).toString("hex"), key.tenant])).toEqual([
      [sha256(ACME_KEY), "acme"],
      [sha256(BETA_KEY), "beta"],
    ]);
    expect([...policy.tenants.values()].map(({ name, keys }) => ({ name, keys }))).toEqual([
      { name: "acme", keys: 1 },
      { name: "beta", keys: 1 },
      { name: "gamma", keys: 0 },
    ]);
    expect(JSON.stringify(policy.warnings)).not.toContain(ACME_KEY);
  });

  it("defaults to auth none when no tenant declares keys, and says so as a warning", () => {
    const policy = load("tenants:\n  acme: {}\n");
    expect(policy.auth).toEqual({ mode: "none", keys: [] });
    expect(policy.warnings).toContainEqual(
      expect.stringMatching(/^auth.mode is none: .*any caller may name any tenant and spend its budget/),
    );
    expect(load("").auth.mode).toBe("none");
  });

  it("leaves out a key whose variable is unset, with a warning, and warns of a tenant left with none", () => {
    const policy = load(
      `tenants:\n  acme: { keys: ["\${ACME_KEY}", "\${ACME_OLD_KEY}"] }\n  beta: { keys: ["\${BETA_KEY}"] }\n`,
      {
        ACME_KEY,
      },
    );
    expect(policy.auth.keys.map((key) => key.tenant)).toEqual(["acme"]);
    expect(policy.warnings).toEqual(
      expect.arrayContaining([
        "tenants.acme.keys[1]: ACME_OLD_KEY is not set; that key is left out",
        "tenants.beta.keys[0]: BETA_KEY is not set; that key is left out",
        'tenant "beta" has no usable key: no call can authenticate as it',
      ]),
    );
  });

  it("fails closed when no key at all is usable: every call is refused, and the warning says so", () => {
    const policy = load(`tenants:\n  acme: { keys: ["\${ACME_KEY}"] }\n`);
    expect(policy.auth).toEqual({ mode: "keys", keys: [] });
    expect(policy.warnings).toContainEqual(
      expect.stringMatching(/no tenant has a usable key: every call is refused/),
    );
  });

  it("refuses a key used twice, naming both paths, also when one is written as its digest", () => {
    expect(
      issuesOf(
        `tenants:\n  acme: { keys: ["\${ACME_KEY}"] }\n  beta: { keys: ["sha256:${sha256(ACME_KEY)}", "\${SAME}"] }\n`,
        { ACME_KEY, SAME: ACME_KEY },
      ),
    ).toEqual([
      "tenants.beta.keys[0]: the same key as tenants.acme.keys[0]: a key authenticates one tenant, once",
      "tenants.beta.keys[1]: the same key as tenants.acme.keys[0]: a key authenticates one tenant, once",
    ]);
  });

  it("refuses a digest that is not 64 hex digits, a key written in clear, and a short key, never echoing one", () => {
    const issues = issuesOf(
      `tenants:\n  acme: { keys: ["sha256:abc", "sha256:${"z".repeat(64)}", "${ACME_KEY}", "\${SHORT}"] }\n`,
      { SHORT: "hunter2" },
    );
    expect(issues).toEqual([
      "tenants.acme.keys[0]: sha256: must be followed by the key's SHA-256 as 64 hexadecimal digits",
      "tenants.acme.keys[1]: sha256: must be followed by the key's SHA-256 as 64 hexadecimal digits",
      `tenants.acme.keys[2]: must be "\${VARIABLE}" (the key, from the environment) or "sha256:<64 hex>" (its SHA-256), never the key itself`,
      "tenants.acme.keys[3]: the key in SHORT must be at least 16 characters, with no surrounding whitespace",
    ]);
    expect(issues.join("\n")).not.toContain(ACME_KEY);
    expect(issues.join("\n")).not.toContain("hunter2");
  });

  it("refuses an unknown mode, an unknown key, and a tenant name that is not an identifier", () => {
    expect(issuesOf("auth: { mode: oauth }\n")).toEqual([
      'auth.mode: must be "keys", "identity_header" or "none"',
    ]);
    expect(issuesOf(`tenants:\n  acme: { key: ["\${ACME_KEY}"] }\n`, { ACME_KEY })).toEqual([
      'tenants.acme.key: unknown key (did you mean "keys"?)',
    ]);
    expect(issuesOf("tenants:\n  'ac me': {}\n")[0]).toMatch(/^tenants\["ac me"\]: must be an identifier/);
  });

  it("refuses mode keys without any key declared", () => {
    expect(issuesOf("auth: { mode: keys }\n")).toEqual([
      "auth.mode: keys: but no tenant declares keys (tenants.<name>.keys), so every call would be refused",
    ]);
  });

  it("takes an identity header only when the operator says it is trusted", () => {
    const policy = load(
      "auth:\n  mode: identity_header\n  identity_header: { name: x-mesh-tenant, trusted: true }\n",
    );
    expect(policy.auth).toEqual({ mode: "identity_header", identityHeader: "x-mesh-tenant", keys: [] });
    expect(
      load("auth: { mode: identity_header, identity_header: { trusted: true } }\n").auth.identityHeader,
    ).toBe("x-switchyard-tenant-identity");
    expect(issuesOf("auth: { mode: identity_header, identity_header: { trusted: false } }\n")).toEqual([
      "auth.identity_header.trusted: must be true with mode identity_header: say so only when a proxy in front of the router sets this header on every call and strips any copy a caller sent",
    ]);
    expect(issuesOf("auth: { mode: identity_header }\n")).toEqual([
      "auth.identity_header: required with mode identity_header: { name: <header>, trusted: true }",
    ]);
    expect(
      issuesOf("auth: { mode: identity_header, identity_header: { name: Authorization, trusted: true } }\n"),
    ).toEqual(["auth.identity_header.name: must be a header name: lowercase letters, digits and dashes"]);
    expect(
      issuesOf(
        "auth: { mode: identity_header, identity_header: { name: x-switchyard-tenant, trusted: true } }\n",
      ),
    ).toEqual([
      "auth.identity_header.name: must not be a header callers send themselves (authorization, x-switchyard-tenant, x-switchyard-user)",
    ]);
    const keyed = load(
      `tenants:\n  acme: { keys: ["\${ACME_KEY}"] }\nauth:\n  identity_header: { name: x-mesh-tenant, trusted: true }\n`,
      { ACME_KEY },
    );
    expect(keyed.auth.mode).toBe("keys");
    expect(keyed.auth.identityHeader).toBeUndefined();
    expect(keyed.warnings).toContain(
      "auth.identity_header is not read: auth.mode is keys (calls carrying it are not trusted)",
    );
  });
});
