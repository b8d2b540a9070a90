import { describe, expect, it } from "vitest";
import { stripeKey } from "../../../src/classify/detectors/stripe.js";
import { fakes, found } from "./fakes.js";

const fake = fakes(37);

describe("stripeKey", () => {
  it("finds live secret and restricted keys with score 1, test-mode keys with 0.9", () => {
    const keys = ["sk_live_", "rk_live_", "sk_test_", "rk_test_"].map(fake.stripeKey);
    expect(found(stripeKey, keys.join("\n"))).toEqual([
      { value: keys[0], score: 1 },
      { value: keys[1], score: 1 },
      { value: keys[2], score: 0.9 },
      { value: keys[3], score: 0.9 },
    ]);
  });

  it("finds short legacy keys (24 characters) and webhook signing secrets", () => {
    const legacy = `sk_live_${fake.token(24)}`;
    const webhook = `whsec_${fake.token(32)}`;
    expect(found(stripeKey, `Stripe.apiKey = "${legacy}";\nSTRIPE_WEBHOOK_SECRET=${webhook}`)).toEqual([
      { value: legacy, score: 1 },
      { value: webhook, score: 1 },
    ]);
  });

  it("does not flag publishable keys, which Stripe makes public by design", () => {
    expect(stripeKey.find(`pk_live_${fake.token(99)} pk_test_${fake.token(24)}`)).toEqual([]);
  });

  it("does not flag short, masked or embedded keys", () => {
    const text = [
      `sk_live_${fake.token(23)}`,
      "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
      "sk_test_...",
      `task_live_${fake.token(30)}`,
      `sk_live_${fake.token(30)}_extra`,
    ].join("\n");
    expect(stripeKey.find(text)).toEqual([]);
  });
});
