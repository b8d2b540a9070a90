import { createClient } from "@connectrpc/connect";
import OpenAI, { APIError, BadRequestError, NotFoundError, RateLimitError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/switchyard/v1/admin_pb.js";
import { AttemptOutcome } from "../../../gen/switchyard/v1/types_pb.js";
import { DEFAULT_REPLY } from "../../fakes/fake-openai-server.js";
import { always, type Chaos, startChaos } from "../../helpers/chaos.js";
import { createTransports } from "../../helpers/rpc.js";

/**
 * The OpenAI-compatible door driven by the official `openai` SDK over a real socket, in front of
 * real fake OpenAI upstreams: what an application that speaks the OpenAI API sees when its base
 * URL points at the router.
 */
let chaos: Chaos<"primary" | "fallback"> | undefined;
afterEach(async () => {
  await chaos?.stop();
  chaos = undefined;
});

const start = async () => {
  chaos = await startChaos(
    ["primary", "fallback"],
    (providers) => `
${providers}
routes:
  - name: by-model
    match: { model: [gpt-4o] }
    primary: { provider: primary, model: gpt-4o }
    fallback: [{ provider: fallback, model: gpt-4o-mini }]
    retry: { max_attempts: 1 }
  - name: chat
    primary: { provider: primary, model: m1 }
    fallback: [{ provider: fallback, model: m2 }]
    retry: { max_attempts: 1 }
`,
  );
  const sdk = new OpenAI({
    baseURL: `${chaos.switchyard.baseUrl}/v1`,
    apiKey: "not-checked-yet",
    maxRetries: 0,
  });
  return { chaos, sdk };
};

const HELLO = [{ role: "user" as const, content: "hello" }];

/** Everything a stream delivered before it ended, and how it ended. */
async function collect<T>(stream: AsyncIterable<T>): Promise<{ chunks: T[]; error?: unknown }> {
  const chunks: T[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks };
}

describe("POST /v1/chat/completions through the official SDK", () => {
  it("answers a unary call with the answering model, usage and the decision in headers", async () => {
    const { sdk } = await start();
    const { data, response } = await sdk.chat.completions
      .create({ model: "auto", messages: HELLO })
      .withResponse();
    expect(data).toMatchObject({
      object: "chat.completion",
      model: "m1",
      choices: [{ index: 0, message: { role: "assistant", content: DEFAULT_REPLY }, finish_reason: "stop" }],
    });
    expect(data.usage?.total_tokens).toBe(
      (data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0),
    );
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-switchyard-route")).toBe("chat");
    expect(response.headers.get("x-switchyard-target")).toBe("primary/m1");
    expect(response.headers.get("x-switchyard-attempts")).toBe('"primary/m1";outcome=succeeded');
    expect(response.headers.get("x-switchyard-trace-id")).toMatch(/^[0-9a-f]{32}$/);
    expect(data.id).toBe(`chatcmpl-${response.headers.get("x-switchyard-call-id")}`);
  });

  it("streams chunks as they come, the answering model in each, usage last, then [DONE]", async () => {
    const { sdk } = await start();
    const stream = await sdk.chat.completions.create({
      model: "auto",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set(["m1"]));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(DEFAULT_REPLY);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const finish = chunks.at(-2);
    expect(finish?.choices[0]?.finish_reason).toBe("stop");
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    // Every chunk before the usage one says usage: null, as OpenAI's do.
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("passes tools to the upstream and returns its tool calls, unary and streamed", async () => {
    const { chaos, sdk } = await start();
    const toolCall = { id: "call_1", name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' };
    chaos.fakes.primary.script(
      { type: "reply", toolCalls: [toolCall] },
      { type: "reply", toolCalls: [toolCall] },
    );
    const tools = [
      {
        type: "function" as const,
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ];
    const unary = await sdk.chat.completions.create({ model: "auto", messages: HELLO, tools });
    expect(unary.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: toolCall.arguments },
          },
        ],
      },
    });
    expect(chaos.fakes.primary.requests[0]?.body).toMatchObject({ tools });

    const stream = await sdk.chat.completions.create({ model: "auto", messages: HELLO, tools, stream: true });
    const { chunks } = await collect(stream);
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({
      index: 0,
      id: "call_1",
      type: "function",
      function: { name: "get_weather" },
    });
    expect(JSON.parse(calls.map((call) => call.function?.arguments ?? "").join(""))).toEqual({
      city: "Paris",
      unit: "c",
    });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("a primary failing before the first token fails over unseen: the body's model is the fallback's", async () => {
    const { chaos, sdk } = await start();
    always(chaos.fakes.primary, { type: "error", status: 503 });
    const { data, response } = await sdk.chat.completions
      .create({ model: "auto", messages: HELLO })
      .withResponse();
    expect(data.model).toBe("m2");
    expect(data.choices[0]?.message.content).toBe(DEFAULT_REPLY);
    expect(response.headers.get("x-switchyard-target")).toBe("fallback/m2");
    expect(response.headers.get("x-switchyard-attempts")).toBe(
      '"primary/m1";outcome=failed;error=overloaded, "fallback/m2";outcome=succeeded',
    );

    const stream = await sdk.chat.completions.create({
      model: "auto",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(new Set(chunks.map((chunk) => chunk.model))).toEqual(new Set(["m2"]));
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(DEFAULT_REPLY);
  });

  it("a primary failing after the first token ends the stream with an error the SDK raises", async () => {
    const { chaos, sdk } = await start();
    always(chaos.fakes.primary, {
      type: "reply",
      content: "Paris is the capital of France.",
      dropAfterTokens: 3,
    });
    const stream = await sdk.chat.completions.create({ model: "auto", messages: HELLO, stream: true });
    const { chunks, error } = await collect(stream);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Paris is the");
    expect(chunks.every((chunk) => chunk.choices[0]?.finish_reason === null)).toBe(true);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).code).toBe("stream_interrupted");
    // Not restarted on another model once tokens reached the caller.
    expect(chaos.fakes.fallback.requests).toHaveLength(0);
  });

  it("a 429 no fallback can absorb reaches the caller as a 429 with retry-after: RateLimitError", async () => {
    const { chaos, sdk } = await start();
    always(chaos.fakes.primary, { type: "error", status: 429, retryAfterSeconds: 7 });
    always(chaos.fakes.fallback, { type: "error", status: 429, retryAfterSeconds: 9 });
    const error = await sdk.chat.completions
      .create({ model: "auto", messages: HELLO })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimited = error as RateLimitError;
    expect(rateLimited.status).toBe(429);
    // The soonest either target takes calls again.
    expect(rateLimited.headers?.get("retry-after")).toBe("7");
    expect(rateLimited.headers?.get("retry-after-ms")).toBe("7000");
    expect(rateLimited.headers?.get("x-switchyard-attempts")).toBe(
      '"primary/m1";outcome=failed;error=rate_limited, "fallback/m2";outcome=failed;error=rate_limited',
    );
  });

  it("a bad request is a BadRequestError naming the parameter as the caller wrote it", async () => {
    const { sdk } = await start();
    const error = await sdk.chat.completions
      .create({ model: "auto", messages: HELLO, max_completion_tokens: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe("max_completion_tokens");
    expect((error as BadRequestError).message).toContain("max_completion_tokens: must be at least 1");
  });

  it("an unknown model is a 404 model_not_found listing what the router serves", async () => {
    const { sdk } = await start();
    const error = await sdk.chat.completions
      .create({ model: "gpt-5o", messages: HELLO })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe("model_not_found");
    expect((error as NotFoundError).message).toContain("auto, by-model, chat, gpt-4o");
  });

  it("a model routes match by name picks that route; a route's name picks the route", async () => {
    const { sdk } = await start();
    const byModel = await sdk.chat.completions.create({ model: "gpt-4o", messages: HELLO }).withResponse();
    expect(byModel.response.headers.get("x-switchyard-route")).toBe("by-model");
    expect(byModel.data.model).toBe("gpt-4o");
    const byRoute = await sdk.chat.completions.create({ model: "chat", messages: HELLO }).withResponse();
    expect(byRoute.response.headers.get("x-switchyard-route")).toBe("chat");
    expect(byRoute.data.model).toBe("m1");
  });

  it("GET /v1/models lists auto, the routes and the models they match; retrieve finds one", async () => {
    const { sdk } = await start();
    const listed = [];
    for await (const model of sdk.models.list()) listed.push(model.id);
    expect(listed).toEqual(["auto", "by-model", "chat", "gpt-4o"]);
    expect(await sdk.models.retrieve("gpt-4o")).toMatchObject({ id: "gpt-4o", object: "model" });
    await expect(sdk.models.retrieve("nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("the whole decision is in AdminService under the trace id the headers give", async () => {
    const { chaos, sdk } = await start();
    always(chaos.fakes.primary, { type: "error", status: 500 });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const { response } = await sdk.chat.completions
      .create(
        { model: "auto", messages: HELLO },
        { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
      )
      .withResponse();
    expect(response.headers.get("x-switchyard-trace-id")).toBe(traceId);
    const operator = createTransports(chaos.switchyard.operatorUrl);
    try {
      const admin = createClient(AdminService, operator.get("gRPC over h2c (binary)"));
      const callId = response.headers.get("x-switchyard-call-id") ?? "";
      const { decision } = await admin.getDecision({ callId });
      expect(decision).toMatchObject({ route: "chat", target: "fallback/m2", traceId });
      expect(decision?.attempts.map((attempt) => attempt.outcome)).toEqual([
        AttemptOutcome.FAILED,
        AttemptOutcome.SUCCEEDED,
      ]);
      const byTrace = await admin.getDecision({ traceId });
      expect(byTrace.traceDecisions.map((recorded) => recorded.decision?.callId)).toEqual([callId]);
    } finally {
      operator.close();
    }
  });
});
