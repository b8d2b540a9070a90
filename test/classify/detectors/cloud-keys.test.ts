import { describe, expect, it } from "vitest";
import {
  awsAccessKeyId,
  awsSecretAccessKey,
  googleApiKey,
} from "../../../src/classify/detectors/cloud-keys.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(11);

describe("awsAccessKeyId", () => {
  it("finds an AKIA key as a whole token, with score 1", () => {
    const key = fake.awsKeyId();
    const text = `aws_access_key_id = ${key}\n`;
    expect(awsAccessKeyId.find(text)).toEqual([{ start: 20, end: 40, score: 1 }]);
  });

  it("scores credential prefixes 1 and identity IDs (users, roles, policies) 0.8", () => {
    const keys = ["ASIA", "ABIA", "ACCA", "AIDA", "AROA", "AGPA", "AIPA", "ANPA", "ANVA"].map(fake.awsKeyId);
    expect(found(awsAccessKeyId, keys.join(", "))).toEqual(
      keys.map((value, index) => ({ value, score: index < 3 ? 1 : 0.8 })),
    );
  });

  it("flags AWS's documented example key, which has the real format", () => {
    expect(values(awsAccessKeyId, "AKIAIOSFODNN7EXAMPLE")).toEqual(["AKIAIOSFODNN7EXAMPLE"]);
  });

  it("does not flag masked keys, lower case, or keys inside a longer token", () => {
    const key = fake.awsKeyId();
    const text = [
      "AKIAXXXXXXXXXXXXXXXX",
      "AKIA****************",
      key.toLowerCase(),
      `x${key}`,
      `${key}Z`,
      `${key}9`,
      "AKIA1234567890123456", // 0, 1, 8 and 9 are not base32
    ].join(" ");
    expect(awsAccessKeyId.find(text)).toEqual([]);
  });

  it("finds keys after punctuation and quotes", () => {
    const a = fake.awsKeyId();
    const b = fake.awsKeyId("ASIA");
    expect(values(awsAccessKeyId, `{"AccessKeyId":"${a}"}\n'${b}'`)).toEqual([a, b]);
  });
});

describe("awsSecretAccessKey", () => {
  it("finds 40 base64 characters after aws_secret_access_key, with score 0.9", () => {
    const secret = fake.awsSecret();
    expect(found(awsSecretAccessKey, `aws_secret_access_key = ${secret}`)).toEqual([
      { value: secret, score: 0.9 },
    ]);
  });

  it("accepts the ways configs, SDKs and consoles name it, before or after the value", () => {
    const secrets = Array.from({ length: 6 }, () => fake.awsSecret());
    const text = [
      `AWS_SECRET_ACCESS_KEY=${secrets[0]}`,
      `"SecretAccessKey": "${secrets[1]}"`,
      `secretAccessKey: '${secrets[2]}'`,
      `export AWS_SECRET=${secrets[3]}`,
      `${secrets[4]} <- that is the aws secret`,
      `Access key ID,Secret access key\nAKIAIOSFODNN7EXAMPLE,${secrets[5]}`,
    ].join("\n\n");
    expect(values(awsSecretAccessKey, text)).toEqual(secrets);
  });

  it("takes secret_key as its name only beside an access key ID", () => {
    const secret = fake.awsSecret();
    const terraform = `provider "aws" {\n  access_key = "${fake.awsKeyId()}"\n  secret_key = "${secret}"\n}`;
    expect(values(awsSecretAccessKey, terraform)).toEqual([secret]);
    expect(awsSecretAccessKey.find(`secret_key = "${fake.awsSecret()}"`)).toEqual([]);
  });

  it("flags AWS's documented example secret", () => {
    const text = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    expect(values(awsSecretAccessKey, text)).toEqual(["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]);
  });

  it("does not flag 40 base64 characters without the context words", () => {
    expect(awsSecretAccessKey.find(`secret = ${fake.awsSecret()}`)).toEqual([]);
    expect(awsSecretAccessKey.find(`value: ${fake.awsSecret()}`)).toEqual([]);
  });

  it("does not flag context words more than 48 characters away", () => {
    const text = `aws_secret_access_key is set below.${" ".repeat(40)}\nvalue=${fake.awsSecret()}`;
    expect(awsSecretAccessKey.find(text)).toEqual([]);
  });

  it("does not flag git SHAs, hex, other lengths, paths or masked values next to the words", () => {
    const text = [
      `aws_secret_access_key: ${fake.hex(40)}`,
      `aws_secret_access_key: ${fake.awsSecret()}x`,
      `aws_secret_access_key: ${fake.awsSecret().slice(1)}`,
      "aws_secret_access_key: usr/local/lib/node/Modules/aws/v2/Keys1",
      `aws_secret_access_key: ${"x".repeat(40)}`,
    ].join("\n");
    expect(awsSecretAccessKey.find(text)).toEqual([]);
  });

  it("finds each key once when several context words surround it", () => {
    const secret = fake.awsSecret();
    const text = `aws_secret_access_key (the AWS secret): ${secret} # secret access key`;
    expect(values(awsSecretAccessKey, text)).toEqual([secret]);
  });
});

describe("googleApiKey", () => {
  it("finds AIza and 35 base64url characters, with score 1", () => {
    const key = fake.googleKey();
    expect(found(googleApiKey, `const firebaseConfig = { apiKey: "${key}" };`)).toEqual([
      { value: key, score: 1 },
    ]);
  });

  it("does not flag shorter, longer or masked keys", () => {
    const key = fake.googleKey();
    const text = [
      key.slice(0, -1),
      `${key}A`,
      `${key}-`,
      "AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
      `_${key}`,
    ].join(" ");
    expect(googleApiKey.find(text)).toEqual([]);
  });
});
