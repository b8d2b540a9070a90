import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import { TenantDeniedError, UnauthenticatedError } from "../../src/core/errors.js";
import type { Caller } from "../../src/core/types.js";
import { NOTHING_PRESENTED } from "../../src/identify/authenticate.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const ACME_KEY = "acme-key-0123456789abcdef";
const BETA_KEY = "beta-key-0123456789abcdef";

const ROUTES = `
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m }
`;
const keyed = parsePolicy(
  `${ROUTES}
tenants:
  acme: { keys: ["\${ACME_KEY}"] }
  beta: { keys: ["sha256:${createHash("sha256").update(BETA_KEY).digest("hex")}"] }
`,
  { source: "keys.yaml", env: { ACME_KEY } },
);
const meshed = parsePolicy(
  `${ROUTES}
auth:
  mode: identity_header
  identity_header: { name: x-mesh-tenant, trusted: true }
`,
  { source: "mesh.yaml", env: {} },
);
const open = parsePolicy(ROUTES, { source: "open.yaml", env: {} });

function remote(headers: Record<string, string>): Caller {
  return { kind: "remote", header: (name) => headers[name] };
}
const bearer = (key: string) => remote({ authorization: `Bearer ${key}` });

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected identify to refuse the call");
}

describe("identify: who is calling", () => {
  it("makes a call with a tenant's key that tenant's, from the environment or a SHA-256 digest", () => {
    expect(identify(request({ tenant: "" }), keyed, bearer(ACME_KEY)).tenant).toBe("acme");
    expect(identify(request({ tenant: "" }), keyed, bearer(BETA_KEY)).tenant).toBe("beta");
    expect(identify(request({ tenant: "acme" }), keyed, bearer(ACME_KEY)).tenant).toBe("acme");
  });

  it("refuses a call without a key, with a wrong one, or another scheme, as UNAUTHENTICATED with a Bearer challenge", () => {
    for (const caller of [
      NOTHING_PRESENTED,
      bearer("not-a-key-0123456789"),
      remote({ authorization: `Basic ${ACME_KEY}` }),
    ]) {
      const error = refusal(() => identify(request(), keyed, caller));
      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect((error as UnauthenticatedError).scheme).toBe("Bearer");
      expect(error.message).not.toContain(ACME_KEY);
    }
  });

  it("authenticates before it checks the request, so a caller proving nothing learns nothing of the policy", () => {
    expect(
      refusal(() => identify(request({ messages: [], model: "gpt-5" }), keyed, NOTHING_PRESENTED)),
    ).toBeInstanceOf(UnauthenticatedError);
  });

  it("refuses a key's caller naming another tenant as PERMISSION_DENIED, naming its own tenant only", () => {
    const error = refusal(() => identify(request({ tenant: "beta" }), keyed, bearer(ACME_KEY)));
    expect(error).toBeInstanceOf(TenantDeniedError);
    expect(error.message).toBe(
      'tenant: this caller is authenticated as tenant "acme" and may not act as another tenant',
    );
  });

  it("ignores an identity header unless the operator trusts it: under keys it proves nothing", () => {
    expect(
      refusal(() =>
        identify(
          request(),
          keyed,
          remote({ "x-switchyard-tenant-identity": "beta", "x-mesh-tenant": "beta" }),
        ),
      ),
    ).toBeInstanceOf(UnauthenticatedError);
    expect(
      identify(request(), keyed, remote({ authorization: `Bearer ${ACME_KEY}`, "x-mesh-tenant": "beta" }))
        .tenant,
    ).toBe("acme");
  });

  it("takes the tenant from the trusted identity header, refusing a call without it or naming another", () => {
    expect(identify(request(), meshed, remote({ "x-mesh-tenant": "acme" })).tenant).toBe("acme");
    expect(refusal(() => identify(request(), meshed, NOTHING_PRESENTED))).toBeInstanceOf(
      UnauthenticatedError,
    );
    // Sent twice, a header arrives joined: it names no tenant.
    expect(
      refusal(() => identify(request(), meshed, remote({ "x-mesh-tenant": "acme, beta" }))),
    ).toBeInstanceOf(UnauthenticatedError);
    // Keys are not read in this mode.
    expect(refusal(() => identify(request(), meshed, bearer(ACME_KEY)))).toBeInstanceOf(UnauthenticatedError);
    expect(
      refusal(() => identify(request({ tenant: "beta" }), meshed, remote({ "x-mesh-tenant": "acme" }))),
    ).toBeInstanceOf(TenantDeniedError);
  });

  it("with auth none, or an in-process caller, takes the request's tenant as written", () => {
    expect(identify(request({ tenant: "beta" }), open, bearer("anything-at-all-0123")).tenant).toBe("beta");
    expect(identify(request({ tenant: "" }), open, NOTHING_PRESENTED).tenant).toBe("default");
    expect(identify(request({ tenant: "beta" }), keyed, { kind: "in-process" }).tenant).toBe("beta");
    expect(identify(request({ tenant: "beta" }), keyed).tenant).toBe("beta");
  });
});
