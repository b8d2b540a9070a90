import { createHash } from "node:crypto";

/**
 * Tenants for the authentication suites: `acme`'s key comes from the environment (ACME_KEY),
 * `beta`'s is in the policy as its SHA-256 digest only, `gamma` has none until a reload gives it one.
 */
export const ACME_KEY = "acme-key-5f0c2d1e9a7b4c36";
export const BETA_KEY = "beta-key-91d3e8a0b2c74f5e";
export const GAMMA_KEY = "gamma-key-0a1b2c3d4e5f6789";
export const OPERATOR_TOKEN = "operator-token-0123456789abcdef";

export const TENANT_ENV = { ACME_KEY, GAMMA_KEY };

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

const PROVIDERS = `
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "one two three" }
routes:
  - name: default
    primary: { provider: local, model: tiny }
`;

/** acme (key from ACME_KEY) and beta (a sha256 digest); auth is `keys` by default. */
export const KEYED_POLICY = `${PROVIDERS}
tenants:
  acme: { keys: ["\${ACME_KEY}"] }
  beta: { keys: ["sha256:${sha256(BETA_KEY)}"] }
`;

/** KEYED_POLICY after a reload: acme's key revoked, gamma's added. */
export const RELOADED_POLICY = `${PROVIDERS}
tenants:
  acme: { keys: ["sha256:${sha256("acme-next-key-not-issued-yet")}"] }
  beta: { keys: ["sha256:${sha256(BETA_KEY)}"] }
  gamma: { keys: ["\${GAMMA_KEY}"] }
`;

/** A mesh in front names the tenant in `x-mesh-tenant`. */
export const MESH_POLICY = `${PROVIDERS}
auth:
  mode: identity_header
  identity_header: { name: x-mesh-tenant, trusted: true }
`;

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
