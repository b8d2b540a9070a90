import { describe, expect, it } from "vitest";
import { admit } from "../../src/admit/admit.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { RoutePolicy } from "../../src/core/policy.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const policy = parsePolicy(
  `
defaults: { max_tokens: 300 }
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: capped
    match: { task: capped }
    primary: { provider: local, model: m }
    budgets: { max_tokens: 100 }
  - name: bounded
    match: { task: bounded }
    primary: { provider: local, model: m }
    budgets: { max_tokens: bounded }
  - name: open
    primary: { provider: local, model: m }
`,
  { source: "admit.test.yaml", env: {} },
);

function route(name: string): RoutePolicy {
  const found = policy.routes.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no route ${name}`);
  return found;
}

const asking = (maxTokens?: number) =>
  identify(request({ params: { stop: [], ...(maxTokens !== undefined && { maxTokens }) } }), policy);

describe("admit", () => {
  it("caps output tokens at a route's number, the caller may ask for fewer", () => {
    expect(admit(asking(), route("capped"), policy)).toEqual({ maxTokens: 100 });
    expect(admit(asking(500), route("capped"), policy)).toEqual({ maxTokens: 100 });
    expect(admit(asking(40), route("capped"), policy)).toEqual({ maxTokens: 40 });
  });

  it("caps a bounded route at the policy's default max_tokens", () => {
    expect(admit(asking(), route("bounded"), policy)).toEqual({ maxTokens: 300 });
    expect(admit(asking(1000), route("bounded"), policy)).toEqual({ maxTokens: 300 });
    expect(admit(asking(20), route("bounded"), policy)).toEqual({ maxTokens: 20 });
  });

  it("passes the caller's value on an unbounded route, or none so the provider decides", () => {
    expect(route("open").budgets.maxTokens).toBe("unbounded");
    expect(admit(asking(5000), route("open"), policy)).toEqual({ maxTokens: 5000 });
    expect(admit(asking(), route("open"), policy)).toEqual({});
  });
});
