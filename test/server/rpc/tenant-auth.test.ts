import { writeFile } from "node:fs/promises";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { collect, failureOf } from "../../helpers/async.js";
import { createTransports, type TransportSet, userRequest } from "../../helpers/rpc.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";
import {
  ACME_KEY,
  BETA_KEY,
  bearer,
  GAMMA_KEY,
  KEYED_POLICY,
  MESH_POLICY,
  RELOADED_POLICY,
  TENANT_ENV,
} from "../../helpers/tenants.js";

/** The three RouterService methods, each returning the tenant its decision names. */
function methods(router: ReturnType<typeof createClient<typeof RouterService>>) {
  return {
    Route: async (tenant: string, headers: Record<string, string>) =>
      (await router.route({ ...userRequest("hi"), tenant }, { headers })).decision?.tenant,
    Stream: async (tenant: string, headers: Record<string, string>) => {
      const events = await collect(router.stream({ ...userRequest("hi"), tenant }, { headers }));
      const done = events.at(-1)?.event;
      return done?.case === "done" ? done.value.decision?.tenant : undefined;
    },
    Classify: async (tenant: string, headers: Record<string, string>) =>
      (await router.classify({ ...userRequest("hi"), tenant }, { headers })).decision?.tenant,
  };
}

describe("RouterService under auth: keys", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  beforeAll(async () => {
    service = await startTestSwitchyard(KEYED_POLICY, { env: TENANT_ENV });
    transports = createTransports(service.baseUrl);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });
  const grpc = () => methods(createClient(RouterService, transports.get("gRPC over h2c (binary)")));

  it.each(["Route", "Stream", "Classify"] as const)(
    "%s without a key is UNAUTHENTICATED, with a Bearer challenge and no decision recorded",
    async (method) => {
      const before = service.app.decisions.list({ limit: 1000 }).decisions.length;
      const error = await failureOf(grpc()[method]("", {}));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toBe("a tenant API key is required: send authorization: Bearer <key>");
      expect(error.metadata.get("www-authenticate")).toBe('Bearer realm="switchyard"');
      expect(service.app.decisions.list({ limit: 1000 }).decisions.length).toBe(before);
    },
  );

  it.each(["Route", "Stream", "Classify"] as const)(
    "%s with a wrong key is UNAUTHENTICATED, and the message never echoes it",
    async (method) => {
      const error = await failureOf(grpc()[method]("", bearer("wrong-key-0123456789abcdef")));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toBe("the API key presented is not valid (it may have been revoked)");
      expect(error.message).not.toContain("wrong-key");
    },
  );

  it.each(["Route", "Stream", "Classify"] as const)(
    "%s with a key from the environment, or one held as its digest, is that key's tenant",
    async (method) => {
      expect(await grpc()[method]("", bearer(ACME_KEY))).toBe("acme");
      expect(await grpc()[method]("acme", bearer(ACME_KEY))).toBe("acme");
      expect(await grpc()[method]("", bearer(BETA_KEY))).toBe("beta");
    },
  );

  it.each(["Route", "Stream", "Classify"] as const)(
    "%s with tenant A's key naming tenant B is PERMISSION_DENIED, and B is charged nothing",
    async (method) => {
      const charged = () => service.app.decisions.list({ tenant: "beta", limit: 1000 }).decisions.length;
      const before = charged();
      const error = await failureOf(grpc()[method]("beta", bearer(ACME_KEY)));
      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.rawMessage).toBe(
        'tenant: this caller is authenticated as tenant "acme" and may not act as another tenant',
      );
      expect(charged()).toBe(before);
    },
  );

  it("answers the same over Connect and gRPC-Web (the challenge in the headers)", async () => {
    for (const kind of ["Connect over HTTP/1.1 (JSON)", "gRPC-Web over HTTP/1.1"] as const) {
      const router = methods(createClient(RouterService, transports.get(kind)));
      const error = await failureOf(router.Route("", {}));
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.metadata.get("www-authenticate")).toBe('Bearer realm="switchyard"');
      expect(await router.Route("", bearer(BETA_KEY))).toBe("beta");
    }
  });

  it("ignores an identity header it was not told to trust: it proves nothing, and does not override a key", async () => {
    const identity = { "x-switchyard-tenant-identity": "beta", "x-mesh-tenant": "beta" };
    expect((await failureOf(grpc().Route("", identity))).code).toBe(Code.Unauthenticated);
    expect(await grpc().Route("", { ...identity, ...bearer(ACME_KEY) })).toBe("acme");
  });

  it("never writes a key to a log line or a decision", async () => {
    await grpc().Route("", bearer(ACME_KEY));
    await failureOf(grpc().Route("", bearer(`${ACME_KEY}x`)));
    const text = `${service.rawLogs.join("\n")}${JSON.stringify(service.app.decisions.list({ limit: 1000 }))}`;
    expect(text).not.toContain(ACME_KEY);
    expect(text).not.toContain(BETA_KEY);
  });

  it("takes a reload's keys at the next call, without a restart: a revoked key refused, a new one served", async () => {
    await writeFile(service.policyPath, RELOADED_POLICY);
    expect(await service.app.reloader.reload("test")).toBe(true);
    expect((await failureOf(grpc().Route("", bearer(ACME_KEY)))).code).toBe(Code.Unauthenticated);
    expect(await grpc().Stream("", bearer(GAMMA_KEY))).toBe("gamma");
    expect(await grpc().Route("", bearer(BETA_KEY))).toBe("beta");
    await writeFile(service.policyPath, KEYED_POLICY);
    expect(await service.app.reloader.reload("test")).toBe(true);
    expect((await failureOf(grpc().Route("", bearer(GAMMA_KEY)))).code).toBe(Code.Unauthenticated);
    expect(await grpc().Route("", bearer(ACME_KEY))).toBe("acme");
  });
});

describe("RouterService under auth: identity_header", () => {
  let service: TestSwitchyard;
  let transports: TransportSet;
  beforeAll(async () => {
    service = await startTestSwitchyard(MESH_POLICY);
    transports = createTransports(service.baseUrl);
  });
  afterAll(async () => {
    transports.close();
    await service.stop();
  });
  const grpc = () => methods(createClient(RouterService, transports.get("gRPC over h2c (binary)")));

  it("takes the tenant from the header the operator trusts", async () => {
    expect(await grpc().Route("", { "x-mesh-tenant": "acme" })).toBe("acme");
    expect(await grpc().Stream("acme", { "x-mesh-tenant": "acme" })).toBe("acme");
  });

  it("refuses a call without it as UNAUTHENTICATED, and one naming another tenant as PERMISSION_DENIED", async () => {
    const missing = await failureOf(grpc().Route("acme", {}));
    expect(missing.code).toBe(Code.Unauthenticated);
    expect(missing.metadata.get("www-authenticate")).toBeNull();
    expect((await failureOf(grpc().Classify("beta", { "x-mesh-tenant": "acme" }))).code).toBe(
      Code.PermissionDenied,
    );
  });
});

describe("RouterService under auth: none", () => {
  it("says at start, as a warning, that any caller may claim any tenant", async () => {
    const service = await startTestSwitchyard(MINIMAL_POLICY);
    try {
      expect(service.logs).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: expect.stringMatching(
            /^auth.mode is none: calls are not authenticated, so any caller may name any tenant and spend its budget/,
          ),
        }),
      );
    } finally {
      await service.stop();
    }
  });
});
