import { EventStreamCodec } from "@smithy/eventstream-codec";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { fromUtf8, toUtf8 } from "@smithy/util-utf8";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRequestSigner } from "../../../src/providers/bedrock/bedrock-signing.js";
import {
  DEFAULT_REPLY,
  type FakeBedrock,
  sigV4Signature,
  startFakeBedrock,
  TEST_CREDENTIALS,
  TEST_REGION,
} from "../../fakes/fake-bedrock-server.js";

const MODEL_PATH = "/model/anthropic.claude-3-haiku-20240307-v1%3A0";

/** Splits a whole event-stream body into messages by their prelude lengths. */
function decodeAll(bytes: Buffer): { headers: Record<string, string>; payload: unknown }[] {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const out: { headers: Record<string, string>; payload: unknown }[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const message = codec.decode(bytes.subarray(offset, offset + length));
    const headers: Record<string, string> = {};
    for (const [name, header] of Object.entries(message.headers)) headers[name] = String(header.value);
    out.push({ headers, payload: JSON.parse(toUtf8(message.body)) });
    offset += length;
  }
  return out;
}

describe("fake Bedrock server", () => {
  let fake: FakeBedrock;
  const sign = createRequestSigner(TEST_REGION, TEST_CREDENTIALS);

  async function post(path: string, body: unknown, tamper?: (headers: Record<string, string>) => void) {
    const url = new URL(`${fake.url}${path}`);
    const text = JSON.stringify(body);
    const headers = await sign({ url, body: text, headers: { "content-type": "application/json" } });
    tamper?.(headers);
    const response = await request(url, { method: "POST", headers, body: text });
    return {
      status: response.statusCode,
      headers: response.headers,
      body: Buffer.from(await response.body.arrayBuffer()),
    };
  }

  beforeAll(async () => {
    fake = await startFakeBedrock();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(() => fake.reset());

  describe("SigV4 check", () => {
    // AWS's SigV4 test suite, "get-vanilla" and "post-vanilla" (credentials AKIDEXAMPLE, service "service").
    it.each([
      ["GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"],
      ["POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"],
    ])("computes AWS's documented signature for %s vanilla", async (method, expected) => {
      const input = {
        method,
        path: "/",
        headers: { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z" },
        signedHeaders: ["host", "x-amz-date"],
        payload: "",
        amzDate: "20150830T123600Z",
        region: "us-east-1",
        service: "service",
        secretAccessKey: TEST_CREDENTIALS.secretAccessKey,
      };
      expect(sigV4Signature(input)).toBe(expected);
      // The library the adapter signs with agrees.
      const signer = new SignatureV4({
        service: "service",
        region: "us-east-1",
        credentials: TEST_CREDENTIALS,
        sha256: Hash.bind(null, "sha256"),
        applyChecksum: false,
      });
      const signed = await signer.sign(
        new HttpRequest({
          method,
          hostname: "example.amazonaws.com",
          path: "/",
          headers: { host: "example.amazonaws.com" },
        }),
        { signingDate: new Date("2015-08-30T12:36:00Z") },
      );
      expect(signed.headers.authorization).toContain(`Signature=${expected}`);
    });

    it("accepts a request signed for bedrock in its region, model id encoded in the path", async () => {
      const response = await post(`${MODEL_PATH}/converse-stream`, { messages: [] });
      expect(response.status).toBe(200);
      expect(fake.requests[0]?.signature).toBe("valid");
      expect(fake.requests[0]?.modelId).toBe("anthropic.claude-3-haiku-20240307-v1:0");
    });

    it.each([
      [
        "a wrong signature",
        (h: Record<string, string>) => {
          h.authorization = (h.authorization ?? "").replace(/Signature=.{4}/, "Signature=0000");
        },
        "mismatch",
        "InvalidSignatureException",
      ],
      [
        "a changed signed header",
        (h: Record<string, string>) => {
          h["content-type"] = "application/x-amz-json-1.1";
        },
        "mismatch",
        "InvalidSignatureException",
      ],
      [
        "no authorization",
        (h: Record<string, string>) => {
          delete h.authorization;
        },
        "missing",
        "MissingAuthenticationTokenException",
      ],
      [
        "an unknown key",
        (h: Record<string, string>) => {
          h.authorization = (h.authorization ?? "").replace("AKIDEXAMPLE", "AKIDOTHER");
        },
        "unknown-key",
        "UnrecognizedClientException",
      ],
    ] as const)("answers %s with 403 as AWS does", async (_what, tamper, verdict, errorType) => {
      const response = await post(`${MODEL_PATH}/converse-stream`, { messages: [] }, tamper);
      expect(response.status).toBe(403);
      expect(fake.requests[0]?.signature).toBe(verdict);
      expect(response.headers["x-amzn-errortype"]).toBe(
        `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      );
      expect(JSON.parse(response.body.toString())).toHaveProperty("message");
    });

    it("refuses a body changed after signing (payload hash)", async () => {
      const url = new URL(`${fake.url}${MODEL_PATH}/converse-stream`);
      const headers = await sign({
        url,
        body: '{"messages":[]}',
        headers: { "content-type": "application/json" },
      });
      const response = await request(url, { method: "POST", headers, body: '{"messages":[1]}' });
      await response.body.dump();
      expect(response.statusCode).toBe(403);
      expect(fake.requests[0]?.signature).toBe("wrong-payload-hash");
    });
  });

  it("streams real event-stream messages in Bedrock's order, CRCs intact", async () => {
    fake.script({
      type: "reply",
      content: ["Hi", " there"],
      toolUses: [{ toolUseId: "tooluse_1", name: "lookup", input: ['{"q":', '"x"}'] }],
      usage: { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 3 },
    });
    const response = await post(`${MODEL_PATH}/converse-stream`, { messages: [] });
    expect(response.headers["content-type"]).toBe("application/vnd.amazon.eventstream");
    expect(response.headers["x-amzn-requestid"]).toMatch(/^[0-9a-f-]{36}$/);
    const messages = decodeAll(response.body);
    expect(messages.map((m) => m.headers[":event-type"])).toEqual([
      "messageStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "contentBlockStart",
      "contentBlockDelta",
      "contentBlockDelta",
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
    expect(messages.every((m) => m.headers[":message-type"] === "event")).toBe(true);
    expect(messages[4]?.payload).toMatchObject({
      contentBlockIndex: 1,
      start: { toolUse: { toolUseId: "tooluse_1", name: "lookup" } },
    });
    expect(messages[8]?.payload).toMatchObject({ stopReason: "tool_use" });
    expect(messages[9]?.payload).toMatchObject({
      usage: { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 3, totalTokens: 18 },
    });
  });

  it("sends an exception message inside the stream", async () => {
    fake.script({
      type: "reply",
      content: ["a", "b"],
      exceptionAfterTokens: { tokens: 1, type: "throttlingException" },
    });
    const messages = decodeAll((await post(`${MODEL_PATH}/converse-stream`, { messages: [] })).body);
    expect(messages.at(-1)?.headers).toMatchObject({
      ":message-type": "exception",
      ":exception-type": "throttlingException",
    });
  });

  it("answers /converse with the whole JSON answer", async () => {
    const response = await post(`${MODEL_PATH}/converse`, {
      messages: [{ role: "user", content: [{ text: "hi" }] }],
    });
    expect(JSON.parse(response.body.toString())).toMatchObject({
      output: { message: { role: "assistant", content: [{ text: DEFAULT_REPLY }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 1 },
    });
  });

  it("answers an error script with the type header and a message body", async () => {
    fake.script({ type: "error", status: 429 });
    const response = await post(`${MODEL_PATH}/converse-stream`, { messages: [] });
    expect(response.status).toBe(429);
    expect(response.headers["x-amzn-errortype"]).toBe(
      "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
    );
    expect(JSON.parse(response.body.toString())).toEqual({
      message: "Too many requests, please wait before trying again.",
    });
  });
});
