import { describe, expect, it } from "vitest";
import { githubToken, gitlabToken } from "../../../src/classify/detectors/code-host-tokens.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(23);

describe("githubToken", () => {
  it("finds each classic prefix with 36 alphanumerics, with score 1", () => {
    const tokens = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"].map(fake.githubToken);
    expect(found(githubToken, tokens.join("\n"))).toEqual(tokens.map((value) => ({ value, score: 1 })));
  });

  it("finds fine-grained github_pat_ tokens whole", () => {
    const token = fake.githubPat();
    const text = `export GH_TOKEN=${token}`;
    expect(githubToken.find(text)).toEqual([{ start: 16, end: 16 + 93, score: 1 }]);
  });

  it("accepts longer app tokens, up to 251 characters after the prefix", () => {
    const token = `ghs_${fake.token(80)}`;
    expect(values(githubToken, `Authorization: token ${token}`)).toEqual([token]);
  });

  it("does not flag short, masked, or embedded tokens", () => {
    const token = fake.githubToken();
    const text = [
      token.slice(0, -1),
      "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
      `x${token}`,
      `${token}_suffix`,
      "ghp_ is the prefix of personal tokens",
      "github_pat_ tokens are fine-grained",
    ].join("\n");
    expect(githubToken.find(text)).toEqual([]);
  });
});

describe("gitlabToken", () => {
  it("finds glpat- tokens, with score 1", () => {
    const token = fake.gitlabToken();
    expect(found(gitlabToken, `PRIVATE-TOKEN: ${token}`)).toEqual([{ value: token, score: 1 }]);
  });

  it("finds the other documented prefixes and legacy runner registration tokens", () => {
    const tokens = [
      ...[
        "gldt-",
        "glrt-",
        "glptt-",
        "glft-",
        "glimt-",
        "glagent-",
        "gloas-",
        "glsoat-",
        "glffct-",
        "glcbt-",
      ].map(fake.gitlabToken),
      `GR1348941${fake.mixed("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20)}`,
    ];
    expect(values(gitlabToken, tokens.join(" "))).toEqual(tokens);
  });

  it("includes the suffix of routable tokens, but not a sentence's full stop", () => {
    const routable = `glpat-${fake.token(27)}.01${fake.pick("abcdefghijklmnopqrstuvwxyz0123456789", 7)}`;
    const versioned = `glpat-${fake.token(38)}.01.${fake.pick("abcdefghijklmnopqrstuvwxyz0123456789", 9)}`;
    const classic = fake.gitlabToken();
    const text = `${routable} and ${versioned} replace ${classic}.`;
    expect(values(gitlabToken, text)).toEqual([routable, versioned, classic]);
  });

  it("does not flag placeholders, short bodies or single-class bodies", () => {
    const text = [
      "glpat-your-token-goes-here-now",
      "glpat-XXXXXXXXXXXXXXXXXXXX",
      `glpat-${fake.token(19)}`,
      "glpat-abcdefghijklmnopqrstuvwxyz",
      `xglpat-${fake.token(20)}`,
    ].join("\n");
    expect(gitlabToken.find(text)).toEqual([]);
  });
});
