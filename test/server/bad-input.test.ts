import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY } from "../helpers/policies.js";
import {
  collect,
  createTransports,
  rejectionOf,
  type TransportKind,
  type TransportSet,
  userRequest,
} from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

const MAX_BODY_BYTES = 64 * 1024;

let switchyard: TestSwitchyard;
let transports: TransportSet;

beforeAll(async () => {
  switchyard = await startTestSwitchyard(FRONT_DOOR_POLICY, { limits: { maxBodyBytes: MAX_BODY_BYTES } });
  transports = createTransports(switchyard.baseUrl);
});

afterAll(async () => {
  transports?.close();
  await switchyard?.stop();
});

/** Plain init fields, accepted by Route and Stream alike. */
type RouterInit = { messages: Array<{ role: Role; content: string }>; task?: string; dataClass?: string };

interface BadCase {
  name: string;
  request: RouterInit;
  code: Code;
  /** The message must start with this: the field, then why. */
  message: string | RegExp;
}

const BAD_CASES: BadCase[] = [
  {
    name: "no messages",
    request: { messages: [] },
    code: Code.InvalidArgument,
    message: "messages: must contain at least one message",
  },
  {
    name: "ROLE_UNSPECIFIED",
    request: { messages: [{ role: Role.UNSPECIFIED, content: "hi" }] },
    code: Code.InvalidArgument,
    message: "messages[0].role: must be ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT or ROLE_TOOL",
  },
  {
    name: "a role number the contract does not define",
    request: { messages: [{ role: 99 as Role, content: "hi" }] },
    code: Code.InvalidArgument,
    message: "messages[0].role: unknown role 99",
  },
  {
    name: "an unknown data class",
    request: userRequest("hi", { dataClass: "nope" }),
    code: Code.InvalidArgument,
    message: 'dataClass: unknown data class "nope"',
  },
  {
    name: "a body above the configured limit",
    request: userRequest("x".repeat(MAX_BODY_BYTES + 1024)),
    code: Code.ResourceExhausted,
    message: /message size .* is larger than configured readMaxBytes 65536|larger than/,
  },
];

/** Role numbers only exist in the binary encoding; JSON clients cannot send 99. */
const KINDS: TransportKind[] = [
  "gRPC over h2c (binary)",
  "gRPC-Web over HTTP/1.1",
  "Connect over HTTP/1.1 (binary)",
  "Connect over h2c (JSON)",
];

describe.each(KINDS)("bad input over %s", (kind) => {
  const client = () => createClient(RouterService, transports.get(kind));

  for (const bad of BAD_CASES) {
    if (kind.includes("JSON") && bad.name.includes("role number")) continue;
    it(`refuses ${bad.name} with ${Code[bad.code]} naming the field, and the next call succeeds`, async () => {
      const error = ConnectError.from(await rejectionOf(() => client().route(bad.request)));
      expect(error.code).toBe(bad.code);
      if (typeof bad.message === "string")
        expect(error.rawMessage.startsWith(bad.message), error.rawMessage).toBe(true);
      else expect(error.rawMessage).toMatch(bad.message);

      const streamError = ConnectError.from(await rejectionOf(() => collect(client().stream(bad.request))));
      expect(streamError.code).toBe(bad.code);

      const ok = await client().route(userRequest("still there?"));
      expect(ok.message?.content).toBe(LOCAL_REPLY);
    });
  }
});

/** A Connect unary call by hand, as curl would make it. */
async function postJson(
  body: string,
): Promise<{ status: number; json: { code?: string; message?: string } }> {
  const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: response.status, json: (await response.json()) as { code?: string; message?: string } };
}

describe("bad JSON on the Connect protocol (plain HTTP POST)", () => {
  it("answers malformed JSON with HTTP 400 and a Connect error invalid_argument", async () => {
    const { status, json } = await postJson('{"messages": [');
    expect(status).toBe(400);
    expect(json.code).toBe("invalid_argument");
    expect(json.message).toBeTruthy();
    expect((await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"}]}')).status).toBe(200);
  });

  it("answers an unknown role name with HTTP 400 naming the role field", async () => {
    // connect reads JSON ignoring unknown fields, which maps an unknown enum name to 0: the
    // refusal is then the ROLE_UNSPECIFIED one, still naming the field.
    const { status, json } = await postJson('{"messages":[{"role":"ROLE_FOO","content":"hi"}]}');
    expect(status).toBe(400);
    expect(json.code).toBe("invalid_argument");
    expect(json.message).toMatch(/^messages\[0\]\.role: /);
  });

  it("answers ROLE_UNSPECIFIED and an unknown data class with messages naming the field", async () => {
    const unspecified = await postJson('{"messages":[{"role":"ROLE_UNSPECIFIED","content":"hi"}]}');
    expect(unspecified.status).toBe(400);
    expect(unspecified.json.message).toMatch(/^messages\[0\]\.role: /);
    const dataClass = await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"}],"dataClass":"nope"}');
    expect(dataClass.status).toBe(400);
    expect(dataClass.json.message).toMatch(/^dataClass: /);
  });

  it("answers a body above the limit with HTTP 429 and resource_exhausted, then serves the next call", async () => {
    const big = JSON.stringify({ messages: [{ role: "ROLE_USER", content: "x".repeat(MAX_BODY_BYTES) }] });
    const { status, json } = await postJson(big);
    expect(json.code).toBe("resource_exhausted");
    expect(status).toBe(429);
    const ok = await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"}]}');
    expect(ok.status).toBe(200);
  });
});
