import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSwitchyardClients,
  decisionOf,
  type SwitchyardProtocol,
} from "../../clients/ts/switchyard-client.js";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const POLICY = `
providers:
  local: { kind: mock, hosted: false }
  down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: server_error } }
routes:
  - name: broken
    match: { task: broken }
    primary: { provider: down, model: a }
  - name: default
    primary: { provider: local, model: tiny }
`;

describe("createSwitchyardClients", () => {
  let service: TestSwitchyard;
  beforeAll(async () => {
    service = await startTestSwitchyard(POLICY);
  });
  afterAll(async () => {
    await service.stop();
  });

  for (const protocol of ["grpc", "connect", "grpc-web"] satisfies SwitchyardProtocol[])
    it(`routes over ${protocol}`, async () => {
      const { router } = createSwitchyardClients({ baseUrl: service.baseUrl, protocol });
      const answer = await router.route({ messages: [{ role: Role.USER, content: "hi" }] });
      expect(answer.decision?.target).toBe("local/tiny");
    });

  it("reads the decision a failed call carries", async () => {
    const { router } = createSwitchyardClients({ baseUrl: service.baseUrl });
    const error = await router
      .route({ messages: [{ role: Role.USER, content: "hi" }], task: "broken" })
      .catch((e: unknown) => e);
    // A 500 is retried once on the same target (the default retry.max_attempts: 2).
    expect(decisionOf(error)).toMatchObject({
      route: "broken",
      attempts: [{ target: "down/a" }, { target: "down/a", retry: 1 }],
    });
    expect(decisionOf(new Error("not from Switchyard"))).toBeUndefined();
  });
});
