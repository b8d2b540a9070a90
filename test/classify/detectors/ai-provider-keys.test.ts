import { describe, expect, it } from "vitest";
import { anthropicApiKey, openaiApiKey } from "../../../src/classify/detectors/ai-provider-keys.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(41);

describe("openaiApiKey", () => {
  it("finds project keys whole, with score 1 when they carry OpenAI's T3BlbkFJ mark", () => {
    const key = fake.openaiProject();
    expect(found(openaiApiKey, `OPENAI_API_KEY=${key}\n`)).toEqual([{ value: key, score: 1 }]);
  });

  it("finds service-account and admin keys", () => {
    const keys = [
      `sk-svcacct-${fake.mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 74)}T3BlbkFJ${fake.token(74)}`,
      `sk-admin-${fake.token(58)}T3BlbkFJ${fake.token(58)}`,
    ];
    expect(values(openaiApiKey, keys.join(" "))).toEqual(keys);
  });

  it("finds classic 48-character keys: score 1 with the mark, 0.8 without it", () => {
    const marked = fake.openaiClassic();
    const unmarked = `sk-${fake.token(48)}`;
    expect(found(openaiApiKey, `${marked}\n${unmarked}`)).toEqual([
      { value: marked, score: 1 },
      { value: unmarked, score: 0.8 },
    ]);
  });

  it("scores a scoped key without the mark 0.9", () => {
    const key = `sk-proj-${fake.token(100)}`;
    expect(found(openaiApiKey, key)).toEqual([{ value: key, score: 0.9 }]);
  });

  it("does not flag Anthropic keys, sk- in prose, placeholders, or other lengths", () => {
    const text = [
      fake.anthropicKey(),
      "pip install sk-learn; see also task-sk-list",
      "OPENAI_API_KEY=sk-...",
      "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      `sk-${fake.token(47)}`,
      `sk-${fake.token(49)}`,
      `sk-${fake.token(32)}`,
      `desk-${fake.token(48)}`,
    ].join("\n");
    expect(openaiApiKey.find(text)).toEqual([]);
  });
});

describe("anthropicApiKey", () => {
  it("finds API keys whole, with score 1", () => {
    const key = fake.anthropicKey();
    const text = `curl https://api.anthropic.com/v1/messages -H "x-api-key: ${key}"`;
    expect(found(anthropicApiKey, text)).toEqual([{ value: key, score: 1 }]);
    expect(key).toHaveLength(108);
  });

  it("finds Admin API keys and OAuth tokens", () => {
    const keys = [fake.anthropicKey("admin01"), fake.anthropicKey("oat01"), fake.anthropicKey("ort01")];
    expect(values(anthropicApiKey, keys.join("\n"))).toEqual(keys);
  });

  it("does not flag placeholders, unknown types or short bodies", () => {
    const text = [
      "ANTHROPIC_API_KEY=sk-ant-...",
      "sk-ant-api03-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      `sk-ant-foo03-${fake.token(93)}`,
      `sk-ant-api03-${fake.token(20)}`,
      "the sk-ant- prefix marks Anthropic keys",
    ].join("\n");
    expect(anthropicApiKey.find(text)).toEqual([]);
  });
});
