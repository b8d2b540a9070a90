import OpenAI, { AuthenticationError, PermissionDeniedError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rejectionOf } from "../../helpers/async.js";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import { ACME_KEY, BETA_KEY, KEYED_POLICY, MESH_POLICY, TENANT_ENV } from "../../helpers/tenants.js";

const HELLO = [{ role: "user" as const, content: "hello" }];

describe("the OpenAI door under auth: keys", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(KEYED_POLICY, { env: TENANT_ENV });
  });
  afterAll(async () => {
    await service.stop();
  });
  const sdk = (apiKey: string, defaultHeaders: Record<string, string> = {}) =>
    new OpenAI({ baseURL: `${service.baseUrl}/v1`, apiKey, maxRetries: 0, defaultHeaders });
  /** The tenant the call's decision names, found by the call id the answer carries. */
  const tenantOf = (callId: string | null) => service.app.decisions.byCall(callId ?? "")?.decision.tenant;

  it("answers 401 invalid_api_key in OpenAI's shape without a key, with a Bearer challenge", async () => {
    const response = await fetch(`${service.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "auto", messages: HELLO }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="switchyard"');
    expect(await response.json()).toEqual({
      error: {
        message: "a tenant API key is required: send authorization: Bearer <key>",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
  });

  it("makes the SDK raise AuthenticationError for a wrong key, unary and streaming, never echoing it", async () => {
    for (const stream of [false, true]) {
      const error = await rejectionOf(() =>
        sdk("sk-wrong-0123456789abcdef").chat.completions.create({ model: "auto", messages: HELLO, stream }),
      );
      expect(error).toBeInstanceOf(AuthenticationError);
      const { status, code, type } = error as AuthenticationError;
      expect({ status, code, type }).toEqual({
        status: 401,
        code: "invalid_api_key",
        type: "invalid_request_error",
      });
      expect((error as Error).message).not.toContain("sk-wrong");
    }
  });

  it("serves a key from the environment and one held as its digest, each as its own tenant", async () => {
    const acme = await sdk(ACME_KEY)
      .chat.completions.create({ model: "auto", messages: HELLO })
      .withResponse();
    expect(acme.data.choices[0]?.message.content).toBe("one two three");
    expect(tenantOf(acme.response.headers.get("x-switchyard-call-id"))).toBe("acme");
    const chunks: string[] = [];
    const stream = await sdk(BETA_KEY)
      .chat.completions.create({ model: "auto", messages: HELLO, stream: true })
      .withResponse();
    for await (const chunk of stream.data) chunks.push(chunk.choices[0]?.delta.content ?? "");
    expect(chunks.join("")).toBe("one two three");
    expect(tenantOf(stream.response.headers.get("x-switchyard-call-id"))).toBe("beta");
  });

  it("takes a tenant naming itself, and refuses with 403 one naming another, by header or metadata", async () => {
    const own = await sdk(ACME_KEY, { "x-switchyard-tenant": "acme" })
      .chat.completions.create({ model: "auto", messages: HELLO })
      .withResponse();
    expect(tenantOf(own.response.headers.get("x-switchyard-call-id"))).toBe("acme");

    const byHeader = await rejectionOf(() =>
      sdk(ACME_KEY, { "x-switchyard-tenant": "beta" }).chat.completions.create({
        model: "auto",
        messages: HELLO,
      }),
    );
    expect(byHeader).toBeInstanceOf(PermissionDeniedError);
    const { status, code, type, param } = byHeader as PermissionDeniedError;
    expect({ status, code, type, param }).toEqual({
      status: 403,
      code: "tenant_not_permitted",
      type: "permission_error",
      param: "x-switchyard-tenant",
    });
    expect((byHeader as Error).message).toContain(
      'x-switchyard-tenant: this caller is authenticated as tenant "acme" and may not act as another tenant',
    );

    const byMetadata = await rejectionOf(() =>
      sdk(ACME_KEY).chat.completions.create({
        model: "auto",
        messages: HELLO,
        stream: true,
        metadata: { tenant: "beta" },
      }),
    );
    expect(byMetadata).toBeInstanceOf(PermissionDeniedError);
    expect((byMetadata as PermissionDeniedError).param).toBe("metadata.tenant");
  });

  it("lists models only to a caller with a key", async () => {
    await expect(sdk("sk-wrong-0123456789abcdef").models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const models = await sdk(ACME_KEY).models.list();
    expect(models.data.map((model) => model.id)).toEqual(["auto", "default"]);
  });
});

describe("the OpenAI door under auth: identity_header", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(MESH_POLICY);
  });
  afterAll(async () => {
    await service.stop();
  });

  it("takes the tenant from the trusted header, and answers 401 without it", async () => {
    const ask = (headers: Record<string, string>) =>
      fetch(`${service.baseUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ model: "auto", messages: HELLO }),
      });
    const served = await ask({ "x-mesh-tenant": "acme" });
    expect(served.status).toBe(200);
    expect(
      service.app.decisions.byCall(served.headers.get("x-switchyard-call-id") ?? "")?.decision.tenant,
    ).toBe("acme");
    const refused = await ask({ "x-switchyard-tenant": "acme" });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    expect((await ask({ "x-mesh-tenant": "acme", "x-switchyard-tenant": "beta" })).status).toBe(403);
  });
});
