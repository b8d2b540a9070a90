import { describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const policyWith = (defaults: string) =>
  parsePolicy(
    `
${defaults}
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: r
    primary: { provider: local, model: m }
`,
    { source: "classify.test.yaml", env: {} },
  );

describe("classify", () => {
  it("takes the task and data class the caller declared", () => {
    const policy = policyWith("");
    expect(classify(identify(request({ task: "summarize", dataClass: "public" }), policy), policy)).toEqual({
      task: "summarize",
      taskInferred: false,
      dataClass: "public",
      declaredDataClass: "public",
      dataClassReason: "declared by the caller",
      entities: [],
      findings: [],
    });
  });

  it("uses the policy's defaults for what was not declared, and says nothing was declared", () => {
    const policy = policyWith("defaults: { task: draft, data_class: pii, infer_task: false }");
    expect(classify(identify(request(), policy), policy)).toEqual({
      task: "draft",
      taskInferred: false,
      dataClass: "pii",
      declaredDataClass: "",
      dataClassReason: "the policy's default (none declared)",
      entities: [],
      findings: [],
    });
  });

  it("fails closed without defaults in the file: task chat, class internal (which may not leave)", () => {
    const policy = policyWith("");
    const classification = classify(identify(request(), policy), policy);
    expect(classification).toMatchObject({ task: "chat", dataClass: "internal" });
    expect(policy.dataClasses.get(classification.dataClass)?.mayLeave).toBe(false);
  });
});
