import { describe, expect, it } from "vitest";
import { jwt } from "../../../src/classify/detectors/jwt.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(43);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("jwt", () => {
  it("finds a signed token whole, with score 1", () => {
    const token = fake.jwt();
    const text = `Authorization: Bearer ${token}\r\n`;
    expect(jwt.find(text)).toEqual([{ start: 22, end: 22 + token.length, score: 1 }]);
  });

  it("finds tokens in cookies, query strings and JSON, and before a full stop", () => {
    const tokens = [fake.jwt({ alg: "RS256", kid: "k1" }), fake.jwt(), fake.jwt({ alg: "ES256" })];
    const text = `Cookie: session=${tokens[0]}; theme=dark\nGET /cb?id_token=${tokens[1]}&state=x\n{"access_token":"${tokens[2]}"}\nIt expired: ${tokens[0]}.`;
    expect(values(jwt, text)).toEqual([...tokens, tokens[0]]);
  });

  it("finds encrypted tokens (five parts, the key part may be empty)", () => {
    const header = b64url({ alg: "dir", enc: "A256GCM" });
    const token = `${header}..${fake.token(16)}.${fake.token(120)}.${fake.token(22)}`;
    expect(found(jwt, `token=${token}`)).toEqual([{ value: token, score: 1 }]);
  });

  it("does not flag headers that are not JSON with an alg", () => {
    const text = [
      `${b64url({ typ: "JWT" })}.${b64url({ sub: "x" })}.${fake.token(43)}`,
      `eyJub3QganNvbg.${b64url({ sub: "x" })}.${fake.token(43)}`,
      `${b64url(["alg"])}.${b64url({ sub: "x" })}.${fake.token(43)}`,
    ].join("\n");
    expect(jwt.find(text)).toEqual([]);
  });

  it("does not flag unsigned tokens, short signatures, or tokens missing a part", () => {
    const header = b64url({ alg: "HS256" });
    const payload = b64url({ sub: "x" });
    const text = [
      `${b64url({ alg: "none" })}.${payload}.`,
      `${header}.${payload}.${fake.token(15)}`,
      `${header}.${payload}`,
      `${header}..${fake.token(43)}`,
      "eyJ.eyJ.eyJ",
    ].join("\n");
    expect(jwt.find(text)).toEqual([]);
  });

  it("does not flag a token that runs on into more base64 or dotted parts", () => {
    const token = fake.jwt();
    expect(jwt.find(`x${token}`)).toEqual([]);
    expect(jwt.find(`${token}.more`)).toEqual([]);
    expect(jwt.find(`part.${token}`)).toEqual([]);
  });
});
