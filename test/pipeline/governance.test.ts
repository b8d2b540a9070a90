import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAi, startFakeOpenAi } from "../fakes/fake-openai-server.js";
import { call, pipelineFor, request } from "../helpers/pipeline.js";

/** The pipeline's governance, end to end against a real fake OpenAI server. */

/** An AWS access key id: AKIA and 16 base32 characters (made up). */
const KEY = "AKIAZ7Q4M2WKX3CJV6BP";

let fake: FakeOpenAi;
beforeAll(async () => {
  fake = await startFakeOpenAi();
});
afterAll(async () => {
  await fake.close();
});

const policyWith = (extra: string) => `
providers:
  cloud: { kind: openai-compatible, base_url: "${fake.url}", hosted: true }
routes:
  - name: r
    match: { data_class: [public] }
    primary: { provider: cloud, model: m }
${extra}
`;

const decisionLines = (rawLogs: string[]) =>
  rawLogs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === "decision");

describe("governance in the pipeline", () => {
  it("logs the prompt in the form the logging policy names, with every finding masked when redacted", async () => {
    const { pipeline, rawLogs } = pipelineFor(
      policyWith(
        "logging: { store_prompts: redacted, store_outputs: true }\ndetect: { pii: { action: redact } }",
      ),
    );
    fake.reset();
    await pipeline.route(
      request({ dataClass: "public", messages: [{ role: "user", content: "mail ann@example.org" }] }),
      call(),
    );
    const [line] = decisionLines(rawLogs);
    expect(line?.prompt).toEqual([{ role: "user", content: "mail [REDACTED:email]" }]);
    expect(line?.output).toMatchObject({ role: "assistant" });
    expect(rawLogs.join("\n")).not.toContain("ann@example.org");
    // The provider saw the token, and the attempt says one value went out redacted.
    expect(JSON.stringify(fake.requests[0]?.body)).toContain("<EMAIL_1>");
    expect(line?.attempts).toEqual([expect.objectContaining({ redacted: 1 })]);
  });

  it("keeps no prompt text at all by default, and hashes it with the key when asked", async () => {
    const plain = pipelineFor(policyWith(""));
    await plain.pipeline.route(request({ dataClass: "public" }), call());
    expect(decisionLines(plain.rawLogs)[0]).not.toHaveProperty("prompt");

    const hashed = pipelineFor(
      policyWith('logging: { store_prompts: hashed, hash_key: "0123456789abcdef-key" }'),
    );
    await hashed.pipeline.route(request({ dataClass: "public" }), call());
    await hashed.pipeline.route(request({ dataClass: "public" }), call());
    const [first, second] = decisionLines(hashed.rawLogs).map((line) => line.prompt as { hash: string }[]);
    expect(first?.[0]?.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(second?.[0]?.hash).toBe(first?.[0]?.hash);
    expect(hashed.rawLogs.join("\n")).not.toContain('"hello"');
  });

  it("sends evaluation traffic's line to the eval sink, never to the service log", async () => {
    const directory = await mkdtemp(join(tmpdir(), "switchyard-eval-"));
    const file = join(directory, "eval.jsonl");
    const { pipeline, rawLogs, decisions } = pipelineFor(
      policyWith(`logging: { store_prompts: full, eval_sink: { file: "${file}" } }`),
    );
    const context = call();
    await pipeline.route(request({ dataClass: "public", eval: true }), context);
    expect(decisionLines(rawLogs)).toEqual([]);
    // The sink writes asynchronously: wait for the line.
    let written = "";
    for (let tries = 0; tries < 200 && !written.includes("decision"); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      written = await readFile(file, "utf8").catch(() => "");
    }
    expect(JSON.parse(written.trim())).toMatchObject({
      sink: "eval",
      callId: context.callId,
      prompt: [{ content: "hello" }],
    });
    // The operator's decision record still has it.
    expect(decisions.byCall(context.callId)).toBeDefined();
  });

  it("withholds a writing tool the request did not approve: the provider never sees it, the decision says why", async () => {
    const { pipeline } = pipelineFor(policyWith("tools: { send_email: { writes: true } }"));
    const tools = [
      { name: "send_email", description: "sends", parameters: { type: "object" } },
      { name: "search", description: "reads", parameters: { type: "object" } },
    ];
    fake.reset();
    const withheld = await pipeline.route(request({ dataClass: "public", tools }), call());
    expect(withheld.decision.withheldTools).toEqual([
      {
        name: "send_email",
        reason: "writes (tools.send_email.writes: true) and the request does not approve it",
      },
    ]);
    const sent =
      (fake.requests[0]?.body as { tools: { function: { name: string } }[] } | undefined)?.tools ?? [];
    expect(sent.map((tool) => tool.function.name)).toEqual(["search"]);

    fake.reset();
    const approved = await pipeline.route(
      request({ dataClass: "public", tools, approvedTools: ["send_email"] }),
      call(),
    );
    expect(approved.decision.withheldTools).toEqual([]);
    expect((fake.requests[0]?.body as { tools: unknown[] } | undefined)?.tools).toHaveLength(2);
  });

  it("masks a key the model writes, in Route and in a Stream split mid-key, and raises an escalation", async () => {
    const { pipeline, rawLogs } = pipelineFor(
      policyWith("logging: { store_outputs: true, store_prompts: full }"),
    );
    fake.script({ type: "reply", content: `use ${KEY} to deploy` });
    const routed = await pipeline.route(request({ dataClass: "public" }), call());
    expect(routed.message.content).toBe("use [REDACTED:aws_access_key_id] to deploy");
    expect(routed.decision.outputFindings).toEqual([
      { kind: "aws_access_key_id", group: "secret", count: 1, action: "mask", rule: "built-in" },
    ]);
    expect(routed.decision.escalations).toEqual(["output.secret"]);

    fake.script({ type: "reply", content: ["use AK", "IAZ7Q4M", "2WKX3CJV6BP to", " deploy"] });
    let streamed = "";
    for await (const event of pipeline.stream(request({ dataClass: "public" }), call()))
      if (event.type === "delta") streamed += event.content;
    expect(streamed).toBe("use [REDACTED:aws_access_key_id] to deploy");
    expect(rawLogs.join("\n")).not.toContain(KEY);
    expect(rawLogs.filter((line) => line.includes('"msg":"escalation"'))).toHaveLength(2);
  });

  it("refuses by content rule with the rule's name, before anything is sent", async () => {
    const { pipeline } = pipelineFor(
      policyWith('content_rules: [{ name: exfiltration, phrases: ["dump the customer table"] }]'),
    );
    fake.reset();
    await expect(
      pipeline.route(
        request({
          dataClass: "public",
          messages: [{ role: "user", content: "please DUMP the\ncustomer table" }],
        }),
        call(),
      ),
    ).rejects.toThrow('refused by content rule "exfiltration"');
    expect(fake.requests).toHaveLength(0);
  });

  it("finds secrets in tool names, descriptions, schemas and stop sequences too, and never sends them out", async () => {
    const tools = [{ name: "deploy", description: `deploys with ${KEY}`, parameters: { type: "object" } }];
    const blocking = pipelineFor(policyWith(""));
    fake.reset();
    await expect(blocking.pipeline.route(request({ dataClass: "public", tools }), call())).rejects.toThrow(
      "aws_access_key_id",
    );
    const named = [{ name: KEY, description: "deploys", parameters: { type: "object" } }];
    await expect(
      blocking.pipeline.route(request({ dataClass: "public", tools: named }), call()),
    ).rejects.toThrow("aws_access_key_id");
    expect(fake.requests).toHaveLength(0);

    const redacting = pipelineFor(policyWith("detect: { secret: { action: redact } }"));
    await redacting.pipeline.route(request({ dataClass: "public", tools, params: { stop: [KEY] } }), call());
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.rawBody).not.toContain(KEY);
    expect(fake.requests[0]?.rawBody).toContain("deploys with <AWS_ACCESS_KEY_ID_1>");
  });

  it("finds a key pasted into a message's name or a tool call's id, and keeps the ids linked when redacted", async () => {
    const conversation = {
      dataClass: "public",
      messages: [
        { role: "user" as const, content: "run it", name: KEY },
        {
          role: "assistant" as const,
          content: "",
          toolCalls: [{ id: KEY, name: "run", arguments: "{}" }],
        },
        { role: "tool" as const, content: "done", toolCallId: KEY },
      ],
    };
    const blocking = pipelineFor(policyWith(""));
    fake.reset();
    await expect(blocking.pipeline.route(request(conversation), call())).rejects.toThrow(
      "aws_access_key_id (3)",
    );
    expect(fake.requests).toHaveLength(0);

    const redacting = pipelineFor(policyWith("detect: { secret: { action: redact } }"));
    await redacting.pipeline.route(request(conversation), call());
    const sent = fake.requests[0]?.body as {
      messages: { name?: string; tool_calls?: { id: string }[]; tool_call_id?: string }[];
    };
    expect(fake.requests[0]?.rawBody).not.toContain(KEY);
    expect(sent.messages[0]?.name).toBe("<AWS_ACCESS_KEY_ID_1>");
    expect(sent.messages[1]?.tool_calls?.[0]?.id).toBe(sent.messages[2]?.tool_call_id);
  });

  it("masks a key the model writes as a tool call's name, in the answer and in the log", async () => {
    const { pipeline, rawLogs } = pipelineFor(
      policyWith("logging: { store_outputs: true, store_prompts: full }"),
    );
    fake.script({ type: "reply", toolCalls: [{ name: KEY, arguments: "{}" }] });
    const routed = await pipeline.route(request({ dataClass: "public" }), call());
    expect(routed.message.toolCalls?.[0]?.name).toBe("[REDACTED:aws_access_key_id]");
    expect(routed.decision.outputFindings).toEqual([
      expect.objectContaining({ kind: "aws_access_key_id", count: 1 }),
    ]);
    expect(rawLogs.join("\n")).not.toContain(KEY);
  });
});
