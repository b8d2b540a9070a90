import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { EscalationPolicy } from "../../src/core/policy.js";
import { createEscalations, type EscalationContext } from "../../src/telemetry/escalation.js";
import { closedPort } from "../helpers/ports.js";

/** A logger whose every line is kept, parsed. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino(sink), lines };
}

interface Received {
  method: string | undefined;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A webhook on a free loopback port; `answer` decides what it does with each request (once read). */
async function webhook(answer: (response: ServerResponse) => void = (response) => response.end()) {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method,
        contentType: request.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      answer(response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { url: `http://127.0.0.1:${address.port}/hook`, received };
}

function context(policy: EscalationPolicy): EscalationContext {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    callId: "b7ad6b7169203331",
    tenant: "acme",
    policyVersion: "abc123def456",
    policy,
  };
}

const EVENT = { rule: "content_rules.weapons", kinds: [], action: "block" as const };

describe("createEscalations", () => {
  it("logs each event at warn with the ids, rule, kinds and action", async () => {
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    escalations.escalate(
      { rule: "built-in", kinds: ["aws_access_key_id"], action: "block" },
      context({ timeoutMs: 1000 }),
    );
    await escalations.settled();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "escalation",
        component: "escalation",
        type: "switchyard.escalation",
        traceId: "0af7651916cd43dd8448eb211c80319c",
        callId: "b7ad6b7169203331",
        tenant: "acme",
        policyVersion: "abc123def456",
        rule: "built-in",
        kinds: ["aws_access_key_id"],
        action: "block",
      }),
    ]);
  });

  it("POSTs the event as JSON to the webhook: ids, rule, kinds and action, never text", async () => {
    const hook = await webhook();
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    escalations.escalate(
      { rule: "detect.email", kinds: ["email"], action: "block" },
      context({ webhookUrl: hook.url, timeoutMs: 5000 }),
    );
    await escalations.settled();
    expect(hook.received).toHaveLength(1);
    const [{ method, contentType, body }] = hook.received as [Received];
    expect(method).toBe("POST");
    expect(contentType).toBe("application/json");
    expect(body).toEqual({
      type: "switchyard.escalation",
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      traceId: "0af7651916cd43dd8448eb211c80319c",
      callId: "b7ad6b7169203331",
      tenant: "acme",
      policyVersion: "abc123def456",
      rule: "detect.email",
      kinds: ["email"],
      action: "block",
    });
    // One line: the event. A delivery that succeeds adds nothing.
    expect(lines).toHaveLength(1);
  });

  it("settles only once every delivery started so far has finished", async () => {
    const hook = await webhook((response) => setTimeout(() => response.end(), 50));
    const { logger } = capturedLogger();
    const escalations = createEscalations(logger);
    const where = context({ webhookUrl: hook.url, timeoutMs: 5000 });
    escalations.escalate(EVENT, where);
    escalations.escalate({ ...EVENT, action: "escalate" }, where);
    await escalations.settled();
    expect(hook.received.map((received) => received.body.action).toSorted()).toEqual(["block", "escalate"]);
    // Nothing left in flight: settling again is immediate and harmless.
    await escalations.settled();
  });

  it("logs a webhook that answers with an error status", async () => {
    const hook = await webhook((response) => {
      response.statusCode = 503;
      response.end("down");
    });
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    escalations.escalate(EVENT, context({ webhookUrl: hook.url, timeoutMs: 5000 }));
    await escalations.settled();
    expect(lines.at(-1)).toMatchObject({
      level: 40,
      msg: "escalation webhook refused the event",
      status: 503,
      rule: "content_rules.weapons",
    });
  });

  it("abandons a webhook that hangs at timeout_ms, and logs it", async () => {
    const hook = await webhook(() => {
      // Never answers.
    });
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    const started = performance.now();
    escalations.escalate(EVENT, context({ webhookUrl: hook.url, timeoutMs: 200 }));
    await escalations.settled();
    // Generous bounds: not before the timeout, and well before the test's own.
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(hook.received).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({
      level: 40,
      msg: "escalation webhook unreachable",
      rule: "content_rules.weapons",
      traceId: "0af7651916cd43dd8448eb211c80319c",
      error: expect.any(String),
    });
  });

  it("logs an unreachable webhook and never throws", async () => {
    const port = await closedPort();
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    expect(() =>
      escalations.escalate(EVENT, context({ webhookUrl: `http://127.0.0.1:${port}/hook`, timeoutMs: 5000 })),
    ).not.toThrow();
    await escalations.settled();
    expect(lines.map((line) => line.msg)).toEqual(["escalation", "escalation webhook unreachable"]);
  });

  it("does not follow a redirect (the event goes where the policy says, or nowhere)", async () => {
    const elsewhere = await webhook();
    const hook = await webhook((response) => {
      response.statusCode = 307;
      response.setHeader("location", elsewhere.url);
      response.end();
    });
    const { logger, lines } = capturedLogger();
    const escalations = createEscalations(logger);
    escalations.escalate(EVENT, context({ webhookUrl: hook.url, timeoutMs: 5000 }));
    await escalations.settled();
    expect(elsewhere.received).toEqual([]);
    expect(lines.at(-1)?.msg).toMatch(/^escalation webhook/);
  });
});
