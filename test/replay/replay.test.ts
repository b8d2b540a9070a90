import { describe, expect, it } from "vitest";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { Policy } from "../../src/core/policy.js";
import type { LlmRequest } from "../../src/core/types.js";
import type { RecordedDecision } from "../../src/record/decision-log.js";
import { labelDigest } from "../../src/record/routing-record.js";
import {
  parseRule,
  type ReplayedCall,
  type ReplayRule,
  replayAll,
  replayCall,
} from "../../src/replay/replay.js";
import { decision } from "../helpers/decision-log-spec.js";
import { call, pipelineFor, request } from "../helpers/pipeline.js";

/**
 * The policy the calls are recorded under. `cloud` is hosted; `onprem` is not. Public chat goes
 * to the cloud first; personal data (declared, or raised by detection) stays on premises; the
 * `search` team has a route of its own; the rest goes to the default route.
 */
const RECORDED_POLICY = `
defaults: { data_class: internal, task: chat, infer_task: false }
providers:
  cloud:
    kind: mock
    hosted: true
    region: us
    models: { big: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 } }
  cloud_cheap:
    kind: mock
    hosted: true
    region: us
    models: { small: { input_usd_per_mtok: 0.4, output_usd_per_mtok: 1.6 } }
  onprem:
    kind: mock
    hosted: false
    models: { llama: { input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.1 } }
data_classes:
  public: { may_leave: true }
  internal: { may_leave: false }
  pii: { may_leave: false }
routes:
  - name: assistant
    match: { task: chat, data_class: public }
    primary: { provider: cloud, model: big }
    fallback: [{ provider: onprem, model: llama }]
  - name: private
    match: { data_class: pii }
    primary: { provider: onprem, model: llama }
  - name: search_team
    match: { labels: { team: search } }
    primary: { provider: onprem, model: llama }
  - name: default
    primary: { provider: onprem, model: llama }
detect:
  pii: { action: raise, to: pii }
`;

/** The recorded policy with each `[from, to]` replaced (each must occur). */
function edited(...edits: [string, string][]): Policy {
  let text = RECORDED_POLICY;
  for (const [from, to] of edits) {
    expect(text).toContain(from);
    text = text.replace(from, to);
  }
  return parsePolicy(text, { source: "edited.yaml", env: {} });
}

/** The calls, as the record step of a real pipeline records them under RECORDED_POLICY, oldest first. */
const CALLS: Record<string, Partial<LlmRequest>> = {
  chat: { task: "chat", dataClass: "public" },
  email: {
    task: "chat",
    dataClass: "public",
    messages: [{ role: "user", content: "write to jane.doe@example.com about the invoice" }],
  },
  declaredPii: { task: "chat", dataClass: "pii" },
  search: { labels: { team: "search", secret_project: "x-17" } },
  summary: { messages: [{ role: "user", content: "Please summarize this report in three lines." }] },
};

async function record(): Promise<{ records: RecordedDecision[]; ids: Record<string, string> }> {
  const { pipeline, decisions } = pipelineFor(RECORDED_POLICY);
  const ids: Record<string, string> = {};
  for (const [name, overrides] of Object.entries(CALLS)) {
    const result = await pipeline.route(request(overrides), call());
    ids[name] = result.decision.callId;
  }
  return { records: decisions.list({ limit: 100 }).decisions, ids };
}

const recorded = record();

/** Replays the recorded calls under `policy`: the calls by name, and the report. */
async function replayed(policy: Policy, rules: string[] = []) {
  const { records, ids } = await recorded;
  const calls: ReplayedCall[] = [];
  const parsed = rules.map((text) => parseRule(text, policy) as ReplayRule);
  const report = replayAll(records, policy, parsed, (one) => calls.push(one));
  const byName = (name: string) => calls.find((one) => one.callId === ids[name]) as ReplayedCall;
  const changed = Object.fromEntries(
    Object.keys(CALLS)
      .map((name) => [name, byName(name).changes] as const)
      .filter(([, changes]) => changes.length > 0),
  );
  const name = (callId: string) => Object.keys(ids).find((key) => ids[key] === callId);
  const violations = Object.fromEntries(
    report.violations.map((violation) => [violation.rule, violation.callIds.map(name).sort()]),
  );
  return { report, byName, changed, violations };
}

describe("replayCall", () => {
  it("finds nothing changed under the very policy the calls were recorded under", async () => {
    const { report, changed, byName } = await replayed(edited());
    expect(changed).toEqual({});
    expect(report.totals).toMatchObject({ replayed: 5, changed: 0, notReplayable: 0 });
    expect(report.totals.estimatedCostAfterPicoUsd).toBe(report.totals.estimatedCostBeforePicoUsd);
    expect(byName("chat").after).toMatchObject({
      route: "assistant",
      eligible: ["cloud/big", "onprem/llama"],
      target: "cloud/big",
      dataClass: "public",
      refusal: "",
    });
    expect(byName("email").after).toMatchObject({ route: "private", dataClass: "pii" });
    expect(byName("search").after.route).toBe("search_team");
  });

  it("reports the chosen target and estimated cost of a reordered route, and nothing else", async () => {
    const { changed, byName, violations } = await replayed(
      edited([
        "primary: { provider: cloud, model: big }\n    fallback: [{ provider: onprem, model: llama }]",
        "primary: { provider: onprem, model: llama }\n    fallback: [{ provider: cloud, model: big }]",
      ]),
      ["target-change", "route-change"],
    );
    expect(changed).toEqual({ chat: ["target", "cost"] });
    const chat = byName("chat");
    expect([chat.before.target, chat.after.target]).toEqual(["cloud/big", "onprem/llama"]);
    expect(chat.after.estimatedCostPicoUsd).toBeLessThan(chat.before.estimatedCostPicoUsd);
    expect(violations).toEqual({ "target-change": ["chat"] });
  });

  it("catches personal data made eligible for a hosted target, declared or detected", async () => {
    const { changed, byName, violations } = await replayed(
      edited(
        ["pii: { may_leave: false }", "pii: { may_leave: true }"],
        [
          "match: { data_class: pii }\n    primary: { provider: onprem, model: llama }",
          "match: { data_class: pii }\n    primary: { provider: onprem, model: llama }\n    fallback: [{ provider: cloud_cheap, model: small }]",
        ],
      ),
      ["hosted:pii", "hosted:public", "target-change"],
    );
    expect(changed).toEqual({ email: ["eligible"], declaredPii: ["eligible"] });
    expect(byName("email").after.eligible).toEqual(["onprem/llama", "cloud_cheap/small"]);
    expect(byName("email").gainedHosted).toEqual(["cloud_cheap/small"]);
    expect(violations).toEqual({ "hosted:pii": ["declaredPii", "email"] });
  });

  it("recomputes the data class from the declared one and the kinds found, through the new detect rules", async () => {
    const { changed, byName, violations } = await replayed(
      edited(["pii: { action: raise, to: pii }", "pii: { action: allow }"]),
      ["hosted:pii", "route-change"],
    );
    expect(changed).toEqual({ email: ["route", "eligible", "target", "data-class", "cost"] });
    expect(byName("email").before).toMatchObject({
      route: "private",
      dataClass: "pii",
      target: "onprem/llama",
    });
    expect(byName("email").after).toMatchObject({
      route: "assistant",
      dataClass: "public",
      target: "cloud/big",
    });
    // A call that was personal data and leaves under the new rules breaks hosted:pii.
    expect(violations).toEqual({ "hosted:pii": ["email"], "route-change": ["email"] });
  });

  it("refuses what a new blocking rule blocks, and says which calls it was", async () => {
    const { changed, byName, violations } = await replayed(
      edited([
        "pii: { action: raise, to: pii }",
        "pii: { action: raise, to: pii }\n  email: { action: block }",
      ]),
      ["refused"],
    );
    // email's own rule now wins over its group's raise: the call stays public, and is refused.
    expect(changed).toEqual({ email: ["route", "eligible", "target", "data-class", "cost", "refusal"] });
    expect(byName("email").after.refusal).toBe(
      "refused: the request carries email, which detect.email blocks",
    );
    expect(byName("email").after).toMatchObject({ route: "assistant", dataClass: "public", eligible: [] });
    expect(violations).toEqual({ refused: ["email"] });
  });

  it("matches labels by their digests, and reports a call whose label no longer routes it", async () => {
    const moved = await replayed(edited(["labels: { team: search }", "labels: { team: ads }"]), [
      "route-change",
    ]);
    expect(moved.changed).toEqual({ search: ["route"] });
    expect(moved.violations).toEqual({ "route-change": ["search"] });
    const renamed = await replayed(
      edited(
        ["- name: search_team", "- name: search"],
        ["labels: { team: search }", "labels: { team: [ads, search] }"],
      ),
    );
    expect(renamed.byName("search").after.route).toBe("search");
    // The recorded record holds digests, never the label text a caller chose.
    const { records, ids } = await recorded;
    const search = records.find((entry) => entry.decision.callId === ids.search);
    expect(search?.routing?.labels).toContainEqual([labelDigest("secret_project"), labelDigest("x-17")]);
    expect(JSON.stringify(search)).not.toContain("x-17");
  });

  it("infers the task from what was recorded when the new policy infers and the old did not", async () => {
    const { changed, byName } = await replayed(
      edited(
        ["infer_task: false", "infer_task: true"],
        [
          "  - name: default",
          "  - name: summaries\n    match: { task: summarize }\n    primary: { provider: onprem, model: llama }\n  - name: default",
        ],
      ),
    );
    expect(changed).toEqual({ summary: ["route"] });
    expect(byName("summary").after.route).toBe("summaries");
  });

  it("reports a call refused when no route takes it any more", async () => {
    const policy = edited(["  - name: default\n    primary: { provider: onprem, model: llama }\n", ""]);
    const { changed, byName, violations } = await replayed(policy, ["refused"]);
    expect(changed).toEqual({ summary: ["route", "eligible", "target", "cost", "refusal"] });
    expect(byName("summary").after.refusal).toMatch(/^no route matches task "chat"/);
    expect(violations).toEqual({ refused: ["summary"] });
  });

  it("prices the recorded tokens at each policy's prices, so a price rise alone is a cost increase", async () => {
    const policy = edited([
      "input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.1",
      "input_usd_per_mtok: 0.5, output_usd_per_mtok: 1",
    ]);
    const { report, changed, violations } = await replayed(policy, [
      "cost-increase:10",
      "cost-increase:100000",
    ]);
    expect(changed).toEqual({ email: ["cost"], declaredPii: ["cost"], search: ["cost"], summary: ["cost"] });
    const { estimatedCostBeforePicoUsd: before, estimatedCostAfterPicoUsd: after } = report.totals;
    expect(after).toBeGreaterThan(before);
    expect(Object.keys(violations)).toEqual(["cost-increase:10"]);
  });

  it("counts a call recorded without its routing record as not replayable", async () => {
    const { records } = await recorded;
    const old: RecordedDecision = { decision: decision("t-old"), recordedAt: new Date(), outcome: "ok" };
    expect(replayCall(old, edited())).toBeUndefined();
    const report = replayAll([...records, old], edited(), []);
    expect(report.totals).toMatchObject({ replayed: 5, notReplayable: 1, changed: 0 });
  });
});

describe("parseRule", () => {
  const policy = edited();
  it.each([
    ["hosted:pii", { kind: "hosted", dataClass: "pii" }],
    ["route-change", { kind: "route-change" }],
    ["target-change", { kind: "target-change" }],
    ["refused", { kind: "refused" }],
    ["cost-increase:12.5", { kind: "cost-increase", percent: 12.5 }],
  ])("reads %s", (text, rule) => {
    expect(parseRule(text, policy)).toEqual({ name: text, ...rule });
  });

  it.each([
    ["hosted:secret", /unknown data class "secret" \(the policy declares: public, internal, pii\)/],
    ["hosted", /say which data class/],
    ["cost-increase:ten", /say by how many percent/],
    ["refused:yes", /takes no argument/],
    ["pii-leak", /unknown rule "pii-leak"/],
  ])("refuses %s, naming it", (text, message) => {
    const parsed = parseRule(text, policy);
    expect(parsed).toHaveProperty("error");
    expect("error" in parsed && parsed.error).toMatch(message);
  });
});
