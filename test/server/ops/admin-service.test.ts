import { randomBytes } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AdminService, TargetState } from "../../../gen/switchyard/v1/admin_pb.js";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { AttemptOutcome } from "../../../gen/switchyard/v1/types_pb.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { UNSET_KEY_VARIABLE } from "../../helpers/policies.js";
import { rejectionOf, TRANSPORT_KINDS, userRequest } from "../../helpers/rpc.js";

const frontDoor = useFrontDoor();

describe.each(
  TRANSPORT_KINDS.filter((kind) => !kind.includes("(JSON)") || kind.startsWith("Connect over HTTP/1.1")),
)("AdminService over %s", (kind) => {
  const admin = () => createClient(AdminService, frontDoor.transports.get(kind));
  const router = () => createClient(RouterService, frontDoor.transports.get(kind));

  it("GetPolicy names the policy in force, its routes and the providers left out", async () => {
    const policy = await admin().getPolicy({});
    expect(policy.version).toBe(frontDoor.switchyard.app.policies.current().version);
    expect(policy.source).toBe(frontDoor.switchyard.policyPath);
    expect(policy.routes).toEqual(["chat", "doomed", "hang", "slow", "default"]);
    expect(policy.loadedAt && timestampDate(policy.loadedAt).getTime()).toBeLessThanOrEqual(Date.now());
    expect(policy.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`"openai".*${UNSET_KEY_VARIABLE} is not set`)),
      ]),
    );
  });

  it("ListTargets reports each target once, the one without its key DISABLED with the reason", async () => {
    const { targets } = await admin().listTargets({});
    expect(targets.map((t) => t.target)).toEqual([
      "openai/gpt-4.1",
      "flaky/big",
      "local/tiny",
      "broken/big",
      "hung/forever",
      "slow/steady",
    ]);
    const openai = targets.find((t) => t.target === "openai/gpt-4.1");
    expect(openai).toMatchObject({
      provider: "openai",
      model: "gpt-4.1",
      kind: "openai-compatible",
      hosted: true,
      state: TargetState.DISABLED,
    });
    expect(openai?.reason).toContain(`${UNSET_KEY_VARIABLE} is not set`);
    expect(targets.find((t) => t.target === "local/tiny")).toMatchObject({
      kind: "mock",
      hosted: false,
      state: TargetState.AVAILABLE,
      reason: "",
      inputUsdPerMtok: 1,
      outputUsdPerMtok: 2,
    });
  });

  it("GetDecision returns the decision a Route took, by its trace id", async () => {
    const routed = await router().route(userRequest("hello", { task: "chat", dataClass: "public" }));
    const traceId = routed.decision?.traceId ?? "";
    const { decision, recordedAt } = await admin().getDecision({ traceId });
    expect(decision).toEqual(routed.decision);
    expect(recordedAt).toBeDefined();
  });

  it("GetDecision lists every recent call made under one caller trace", async () => {
    const traceId = randomBytes(16).toString("hex");
    const traceparent = `00-${traceId}-b7ad6b7169203331-01`;
    await router().route(userRequest("first"), { headers: { traceparent } });
    await router().route(userRequest("second"), { headers: { traceparent } });
    const { decision, traceDecisions } = await admin().getDecision({ traceId });
    expect(traceDecisions).toHaveLength(2);
    expect(traceDecisions.at(-1)?.decision).toEqual(decision);
  });

  it("GetDecision also has the decision of a call that failed", async () => {
    const error = ConnectError.from(
      await rejectionOf(() => router().route(userRequest("hi", { task: "doomed" }))),
    );
    const traceId = error.metadata.get("x-trace-id") ?? "";
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const { decision } = await admin().getDecision({ traceId });
    expect(decision?.route).toBe("doomed");
    expect(decision?.attempts.map((a) => a.outcome)).toEqual([AttemptOutcome.FAILED, AttemptOutcome.FAILED]);
  });

  it("GetDecision answers NOT_FOUND for an unknown trace id and INVALID_ARGUMENT for a malformed one", async () => {
    const unknown = ConnectError.from(
      await rejectionOf(() => admin().getDecision({ traceId: "f".repeat(32) })),
    );
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toMatch(/^trace_id: /);
    for (const traceId of ["", "xyz", "A".repeat(32), "0".repeat(31)]) {
      const malformed = ConnectError.from(await rejectionOf(() => admin().getDecision({ traceId })));
      expect(malformed.code, traceId).toBe(Code.InvalidArgument);
      expect(malformed.rawMessage).toMatch(/^trace_id: /);
    }
  });
});
