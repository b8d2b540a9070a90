import { describe, expect, it } from "vitest";
import { highEntropyToken } from "../../../src/classify/detectors/high-entropy-token.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(59);

describe("highEntropyToken", () => {
  it("finds the value of a key naming a secret, with score 0.8", () => {
    const token = fake.token(32);
    expect(highEntropyToken.find(`api_key=${token}`)).toEqual([{ start: 8, end: 40, score: 0.8 }]);
  });

  it("recognises keys in env files, JSON, YAML, headers, flags and query strings", () => {
    const tokens = Array.from({ length: 9 }, () => fake.token(28));
    const text = [
      `export SERVICE_TOKEN=${tokens[0]}`,
      `{"clientSecret": "${tokens[1]}"}`,
      `auth_token: '${tokens[2]}'`,
      `curl -H "X-Api-Key: ${tokens[3]}" https://api.internal/v1`,
      `deploy --token ${tokens[4]}`,
      `GET /callback?access_token=${tokens[5]}&state=ok`,
      `ENCRYPTION_KEY=${tokens[6]}`,
      `credentials = "${tokens[7]}"`,
      `:apikey => "${tokens[8]}"`,
    ].join("\n");
    expect(values(highEntropyToken, text)).toEqual(tokens);
  });

  it("finds tokens after Bearer and token schemes", () => {
    const bearer = fake.token(40);
    const token = fake.token(40);
    expect(found(highEntropyToken, `Authorization: Bearer ${bearer}\nAuthorization: token ${token}`)).toEqual(
      [
        { value: bearer, score: 0.8 },
        { value: token, score: 0.8 },
      ],
    );
  });

  it("finds Basic credentials (base64 of user:password) in an Authorization header", () => {
    const basic = Buffer.from("deploy:Vq8!zr2Lw0").toString("base64");
    expect(values(highEntropyToken, `Authorization: Basic ${basic}`)).toEqual([basic]);
  });

  it("includes base64 padding and other token characters", () => {
    const token = `${fake.mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 42)}==`;
    const dashed = `${fake.token(12)}-${fake.token(12)}_${fake.token(12)}`;
    expect(values(highEntropyToken, `secret: ${token}\nsecret: ${dashed}`)).toEqual([token, dashed]);
  });

  it("finds a token in free text near a context word, with score 0.6", () => {
    const token = fake.token(32);
    expect(found(highEntropyToken, `here is the new API token for staging: ${token}`)).toEqual([
      { value: token, score: 0.6 },
    ]);
    expect(found(highEntropyToken, `use ${token} as the bearer credential`)).toEqual([
      { value: token, score: 0.6 },
    ]);
  });

  it("sees context words in camelCase and ALLCAPS identifiers but not inside other words", () => {
    const token = fake.token(32);
    expect(values(highEntropyToken, `authToken ${token}`)).toEqual([token]);
    expect(highEntropyToken.find(`tokenizer ${token}`)).toEqual([]);
    expect(highEntropyToken.find(`authored by ${token}`)).toEqual([]);
  });

  it("flags hex only as the value of a secret-named key (32 or more digits), with score 0.6", () => {
    const hex = fake.hex(32);
    expect(found(highEntropyToken, `DD_API_KEY=${hex}`)).toEqual([{ value: hex, score: 0.6 }]);
    expect(highEntropyToken.find(`the token is ${hex}`)).toEqual([]);
    expect(highEntropyToken.find(`api_key=${fake.hex(24)}`)).toEqual([]);
  });

  it("does not flag tokens without context, or assigned to keys that do not name a secret", () => {
    const token = fake.token(32);
    const text = [
      `value=${token}`,
      `request_id: ${token} (see the token docs)`,
      `token_type=${token}`,
      `key_id=${token}`,
      `public_key=${token}`,
      `Idempotency-Key: ${token}`,
      `token_hash=${token}`,
      `just a random ${token} here`,
    ].join("\n");
    expect(highEntropyToken.find(text)).toEqual([]);
  });

  it("does not flag UUIDs, git SHAs, digests, paths, versions or words near a context word", () => {
    const text = [
      "token: 0f8c2a9e-1b3d-4c5e-8f7a-9b0c1d2e3f4a",
      "session token req_0f8c2a9e-1b3d-4c5e-8f7a-9b0c1d2e3f4a",
      `commit ${fake.hex(40)} fixed the token refresh`,
      `secret rotated, sha256:${fake.hex(64)}`,
      "token file at /var/run/secrets/kubernetes.io/serviceaccount/token",
      "auth module src/auth/refreshAccessTokenHandler2.ts",
      "token: refreshAccessTokenAsync2",
      "secret: release-2024-11-notes-v2",
      "api key docs: docs.example.internal/guides/api-keys-v2",
      "auth-service version 2.14.3-beta.1+build.20240311",
      "the token is short: Ab3dEf6hIj9k",
      "tokens: access_token refresh_token id_token",
    ].join("\n");
    expect(highEntropyToken.find(text)).toEqual([]);
  });

  it("does not flag base64 of ordinary text or image data", () => {
    const prose = Buffer.from("this is only a sentence about tokens").toString("base64");
    const png = `iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk${fake.token(20)}`;
    const text = `the secret is ${prose}\nauth logo: ${png}\nsecret <img src="data:image/gif;base64,${fake.token(60)}">`;
    expect(highEntropyToken.find(text)).toEqual([]);
  });

  it("leaves tokens with a vendor format to their own detectors", () => {
    const text = [
      `token=${fake.githubToken()}`,
      `api_key=${fake.openaiProject()}`,
      `Authorization: Bearer ${fake.jwt()}`,
      `secret=${fake.stripeKey()}`,
      `AWS token ${fake.awsKeyId()}`,
    ].join("\n");
    expect(highEntropyToken.find(text)).toEqual([]);
  });

  it("does not flag values public by design, such as Stripe publishable keys", () => {
    expect(highEntropyToken.find(`STRIPE_PUBLISHABLE_KEY=pk_live_${fake.token(99)}`)).toEqual([]);
  });

  it("does not flag tokens over 512 characters", () => {
    expect(highEntropyToken.find(`token=${fake.token(513)}`)).toEqual([]);
  });
});
