import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RouterService } from "../../../gen/switchyard/v1/router_pb.js";
import { DecisionSchema, Role } from "../../../gen/switchyard/v1/types_pb.js";
import { collect, rejectionOf } from "../../helpers/async.js";
import { useFrontDoor } from "../../helpers/front-door.js";
import { TRANSPORT_KINDS, userRequest } from "../../helpers/rpc.js";

/** The walkthrough's requests, against the policy the README starts the service with. */
const SHIPPED_POLICY = readFileSync(new URL("../../../config/switchyard.yaml", import.meta.url), "utf8");
const frontDoor = useFrontDoor({ policy: SHIPPED_POLICY });

const EMAIL_REQUEST = userRequest("write to jane.doe@example.com about the invoice", {
  task: "chat",
  dataClass: "public",
});
const KEY_REQUEST = userRequest("deploy with AKIAIOSFODNN7EXAMPLE", { task: "chat", dataClass: "public" });

describe.each(TRANSPORT_KINDS)("governance at the front door over %s (shipped policy)", (kind) => {
  const client = () => createClient(RouterService, frontDoor.transports.get(kind));

  it("Classify finds the email in a public request, says where (never what), and keeps it home", async () => {
    const result = await client().classify(EMAIL_REQUEST);
    expect(result.dataClass).toBe("pii");
    expect(result.entities).toEqual([
      expect.objectContaining({
        kind: "email",
        group: "pii",
        messageIndex: 0,
        field: "content",
        start: 9,
        end: 29,
      }),
    ]);
    expect(result.decision?.dataClassReason).toBe("raised from public to pii by detect.pii: email found");
    expect(result.decision?.findings).toEqual([
      expect.objectContaining({
        kind: "email",
        group: "pii",
        count: 1,
        action: "raise to pii",
        rule: "detect.pii",
      }),
    ]);
    expect(result.decision?.target).toBe("self_hosted/llama");
    expect(JSON.stringify(result)).not.toContain("jane.doe");
  });

  it("Route serves it from the self-hosted model and the decision says why", async () => {
    const result = await client().route(EMAIL_REQUEST);
    expect(result.decision).toMatchObject({
      route: "pii_sensitive",
      target: "self_hosted/llama",
      dataClass: "pii",
    });
    expect(result.decision?.candidates.every((candidate) => !candidate.target.startsWith("hosted"))).toBe(
      true,
    );
  });

  it("refuses a request carrying a cloud key with PERMISSION_DENIED naming the kind, the decision attached", async () => {
    const error = ConnectError.from(await rejectionOf(() => client().route(KEY_REQUEST)));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toBe(
      "refused: the request carries aws_access_key_id (1), which detect.secret blocks",
    );
    expect(error.rawMessage).not.toContain("AKIA");
    const [decision] = error.findDetails(DecisionSchema);
    expect(decision?.refusal).toBe(error.rawMessage);
    expect(decision?.attempts).toEqual([]);
    expect(JSON.stringify(decision)).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  it("refuses the same key over Stream before any event, and Classify only reports the refusal", async () => {
    const error = ConnectError.from(await rejectionOf(() => collect(client().stream(KEY_REQUEST))));
    expect(error.code).toBe(Code.PermissionDenied);
    const classified = await client().classify(KEY_REQUEST);
    expect(classified.decision?.refusal).toContain("aws_access_key_id");
    expect(classified.entities.map((entity) => entity.kind)).toEqual(["aws_access_key_id"]);
  });

  it("infers the task when none is declared, and says so", async () => {
    const result = await client().classify({
      messages: [{ role: Role.USER, content: "TL;DR of the meeting notes below please" }],
      dataClass: "public",
    });
    expect(result.task).toBe("summarize");
    expect(result.decision?.taskInferred).toBe(true);
  });
});
