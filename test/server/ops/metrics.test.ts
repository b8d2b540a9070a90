import { request as http1Request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startTestSwitchyard, type TestSwitchyard } from "../../helpers/switchyard.js";

/** Prometheus scraping the operator listener, over a real socket. */
let service: TestSwitchyard | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

const POLICY = `
providers:
  local: { kind: mock, hosted: false, mock: { latency_ms: 0, token_interval_ms: 0 } }
  down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: server_error } }
routes:
  - name: flaky
    match: { task: flaky }
    primary: { provider: down, model: a }
    fallback: [{ provider: local, model: tiny }]
    retry: { max_attempts: 1 }
  - name: default
    primary: { provider: local, model: tiny }
`;

function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; type: string }> {
  return new Promise((resolve, reject) => {
    http1Request(url, { headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, text, type: response.headers["content-type"] ?? "" }),
      );
    })
      .on("error", reject)
      .end();
  });
}

function chat(baseUrl: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http1Request(
      new URL("/v1/chat/completions", baseUrl),
      { method: "POST", headers: { "content-type": "application/json", ...headers } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("error", reject);
    request.end(JSON.stringify({ model: "auto", messages: [{ role: "user", content: "hi" }] }));
  });
}

/** The label sets a metric's samples carry, as written. */
function series(text: string, metric: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${metric}{`))
    .map((line) => line.slice(metric.length, line.lastIndexOf(" ")));
}

describe("GET /metrics on the operator listener", () => {
  it("shows each call's series: calls, attempts, fallbacks, tokens, steps and breaker state", async () => {
    service = await startTestSwitchyard(POLICY);
    expect(await chat(service.baseUrl, { "x-switchyard-tenant": "acme" })).toBe(200);
    expect(await chat(service.baseUrl, { "x-switchyard-tenant": "acme", "x-switchyard-task": "flaky" })).toBe(
      200,
    );
    const scraped = await get(`${service.operatorUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toContain("text/plain");
    const { text } = scraped;
    expect(text).toContain(
      'switchyard_calls_total{route="default",target="local/tiny",tenant="acme",outcome="ok"} 1',
    );
    expect(text).toContain(
      'switchyard_calls_total{route="flaky",target="local/tiny",tenant="acme",outcome="ok"} 1',
    );
    expect(text).toContain(
      'switchyard_attempts_total{target="down/a",outcome="failed",error_class="server"} 1',
    );
    expect(text).toContain('switchyard_fallbacks_total{route="flaky"} 1');
    expect(text).toMatch(/switchyard_tokens_total\{target="local\/tiny",direction="output"\} \d+/);
    expect(text).toContain('switchyard_call_duration_seconds_count{route="default"} 1');
    expect(text).toContain('switchyard_step_duration_seconds_count{step="execute"} 2');
    expect(text).toContain('switchyard_breaker_state{target="down/a"} 0');
  });

  it("keeps the tenant label bounded: past the first 100 tenants, every other one is 'other'", async () => {
    service = await startTestSwitchyard(POLICY);
    for (let i = 0; i < 130; i++)
      expect(await chat(service.baseUrl, { "x-switchyard-tenant": `tenant-${i}` })).toBe(200);
    const { text } = await get(`${service.operatorUrl}/metrics`);
    const calls = series(text, "switchyard_calls_total");
    expect(calls).toHaveLength(101);
    expect(text).toContain(
      'switchyard_calls_total{route="default",target="local/tiny",tenant="other",outcome="ok"} 30',
    );
  });

  it("needs the operator token when one is set, as AdminService does", async () => {
    const token = "a-long-operator-token-for-tests";
    service = await startTestSwitchyard(POLICY, { operatorToken: token });
    expect((await get(`${service.operatorUrl}/metrics`)).status).toBe(401);
    expect(
      (await get(`${service.operatorUrl}/metrics`, { authorization: "Bearer wrong-token-of-some-length" }))
        .status,
    ).toBe(401);
    expect((await get(`${service.operatorUrl}/metrics`, { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    // The router's port does not serve it.
    expect((await get(`${service.baseUrl}/metrics`)).status).toBe(404);
  });
});
