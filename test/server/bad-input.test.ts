import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { Role } from "../../gen/switchyard/v1/types_pb.js";
import { collect, rejectionOf } from "../helpers/async.js";
import { FRONT_DOOR_POLICY, LOCAL_REPLY } from "../helpers/policies.js";
import { createTransports, type TransportKind, type TransportSet, userRequest } from "../helpers/rpc.js";
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
    message: /^request message (of \d+ bytes )?is larger than maxBodyBytes 65536$/,
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

/** A gRPC(-Web) length-prefixed message frame; `flags` 0x02 is the Connect end-stream flag. */
function envelope(json: string, flags = 0): Buffer {
  const payload = Buffer.from(json);
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

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

  it("answers an unknown role name with HTTP 400 naming the role field and the valid names", async () => {
    const { status, json } = await postJson('{"messages":[{"role":"ROLE_USR","content":"hi"}]}');
    expect(status).toBe(400);
    expect(json.code).toBe("invalid_argument");
    expect(json.message).toBe(
      'messages[0].role: unknown value "ROLE_USR" (valid: ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL; did you mean "ROLE_USER"?)',
    );
  });

  it("refuses an unknown field instead of ignoring it, naming it and what it probably meant", async () => {
    // Ignored, `dataClas` would have left the request at the default class without a word.
    const typo = await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"}],"dataClas":"public"}');
    expect(typo).toEqual({
      status: 400,
      json: { code: "invalid_argument", message: 'dataClas: unknown field (did you mean "dataClass"?)' },
    });
    const nested = await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"},{"rol":"ROLE_USER"}]}');
    expect(nested.json.message).toBe('messages[1].rol: unknown field (did you mean "role"?)');
  });

  it("names fields by their JSON path, not by protobuf type names", async () => {
    const negative = await postJson(
      '{"messages":[{"role":"ROLE_USER","content":"hi"}],"params":{"maxTokens":-1}}',
    );
    expect(negative.json.message).toBe(
      "params.maxTokens: must be a whole number from 0 to 4294967295, got -1",
    );
    const label = await postJson('{"messages":[{"role":"ROLE_USER","content":"hi"}],"labels":{"team":1}}');
    expect(label.json.message).toBe('labels["team"]: expected a string, got 1');
    for (const body of [negative, label]) expect(body.json.message).not.toContain("switchyard.v1");
  });

  it("names the JSON field over gRPC with the JSON codec too", async () => {
    const client = createClient(RouterService, transports.get("gRPC over h2c (JSON)"));
    // A client that builds its JSON by hand can send what the generated one cannot: go under it.
    const response = await fetch(`${switchyard.baseUrl}/switchyard.v1.RouterService/Route`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+json" },
      body: envelope('{"messages":[{"role":"ROLE_USER","content":"hi","toolCalls":[{"idd":"x"}]}]}'),
    });
    const trailer = Buffer.from(await response.arrayBuffer()).toString();
    expect(trailer).toContain("grpc-status: 3");
    expect(decodeURIComponent(/grpc-message: (.*)\r\n/.exec(trailer)?.[1] ?? "")).toBe(
      'messages[0].toolCalls[0].idd: unknown field (did you mean "id"?)',
    );
    expect((await client.route(userRequest("still there?"))).message?.content).toBe(LOCAL_REPLY);
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

describe("malformed streaming requests", () => {
  const streamPath = () => `${switchyard.baseUrl}/switchyard.v1.RouterService/Stream`;

  it("answers a Connect stream whose only envelope has the end-stream flag with invalid_argument", async () => {
    const response = await fetch(streamPath(), {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: envelope('{"messages":[{"role":"ROLE_USER","content":"hi"}]}', 0x02),
    });
    const frames = Buffer.from(await response.arrayBuffer());
    // The end-of-stream frame (flag 0x02) carries the error.
    expect(frames[0]).toBe(0x02);
    const end = JSON.parse(frames.subarray(5).toString()) as { error?: { code?: string; message?: string } };
    expect(end.error?.code).toBe("invalid_argument");
    expect(end.error?.message).toMatch(/^protocol error: missing input message/);
  });

  it("answers a server stream sent two request messages with invalid_argument", async () => {
    const one = '{"messages":[{"role":"ROLE_USER","content":"hi"}]}';
    const response = await fetch(streamPath(), {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: Buffer.concat([envelope(one), envelope(one)]),
    });
    const frames = Buffer.from(await response.arrayBuffer());
    // No answer frame, only the end-of-stream frame with the error.
    expect(frames[0]).toBe(0x02);
    const end = JSON.parse(frames.subarray(5).toString()) as { error?: { code?: string; message?: string } };
    expect(end.error).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/extra input message/),
    });
  });
});

describe("tool-call arguments", () => {
  const client = () => createClient(RouterService, transports.get("gRPC over h2c (binary)"));
  const withArguments = (args: string) => ({
    messages: [
      { role: Role.USER, content: "weather?" },
      { role: Role.ASSISTANT, content: "", toolCalls: [{ id: "call_1", name: "weather", arguments: args }] },
      { role: Role.TOOL, content: "sunny", toolCallId: "call_1" },
    ],
  });

  it("must be a JSON document", async () => {
    for (const args of ['{"city": "Par', "city=Paris", "{}{}"]) {
      const error = ConnectError.from(await rejectionOf(() => client().route(withArguments(args))));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toBe("messages[1].toolCalls[0].arguments: must be a JSON document");
    }
    expect((await client().route(withArguments('{"city":"Paris"}'))).message?.content).toBe(LOCAL_REPLY);
    // An empty string is a call without arguments, as some providers write it.
    expect((await client().route(withArguments(""))).message?.content).toBe(LOCAL_REPLY);
  });

  it("may not nest deeper than the bound", async () => {
    const deep = `${"[".repeat(65)}${"]".repeat(65)}`;
    const error = ConnectError.from(await rejectionOf(() => client().route(withArguments(deep))));
    expect(error.rawMessage).toBe("messages[1].toolCalls[0].arguments: JSON nests deeper than 64 levels");
  });
});

describe("tool parameter schemas", () => {
  const route = (parameters: string) =>
    postJson(
      `{"messages":[{"role":"ROLE_USER","content":"hi"}],"tools":[{"name":"f","description":"d","parameters":${parameters}}]}`,
    );

  it("may not carry strings that are not valid UTF-8 (an unpaired surrogate) to a provider", async () => {
    const key = await route('{"k\\ud800":"v"}');
    expect(key).toEqual({
      status: 400,
      json: { code: "invalid_argument", message: "tools[0].parameters: holds a key that is not valid UTF-8" },
    });
    const value = await route('{"type":"string","description":"x\\udc00"}');
    expect(value.json.message).toBe("tools[0].parameters: holds a string that is not valid UTF-8");
  });

  it("may not nest deeper than the bound, over JSON as over binary", async () => {
    const deep = `${'{"a":'.repeat(40)}1${"}".repeat(40)}`;
    expect((await route(deep)).json.message).toBe("tools[0].parameters: nests deeper than 32 levels");
    const fine = `${'{"a":'.repeat(20)}1${"}".repeat(20)}`;
    expect((await route(fine)).status).toBe(200);
  });

  it("may not hold more than 20,000 keys and values (providers walk schemas too)", async () => {
    const wide = JSON.stringify({ type: "integer", enum: Array.from({ length: 20_001 }, () => 0) });
    expect((await route(wide)).json.message).toBe("tools[0].parameters: has more than 20000 keys and values");
  });
});
