import { describe, expect, it } from "vitest";
import { privateKey } from "../../../src/classify/detectors/private-key.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(47);

const block = (label: string, body: string, end = label) =>
  `-----BEGIN ${label}-----\n${body}\n-----END ${end}-----`;

describe("privateKey", () => {
  it("finds a PEM block whole, from BEGIN to the end of END, with score 1", () => {
    const key = block("RSA PRIVATE KEY", fake.pemBody(1600));
    const text = `$ cat id_rsa\n${key}\n$ `;
    expect(privateKey.find(text)).toEqual([{ start: 13, end: 13 + key.length, score: 1 }]);
  });

  it("finds every kind of private key label", () => {
    const keys = [
      "PRIVATE KEY",
      "EC PRIVATE KEY",
      "DSA PRIVATE KEY",
      "OPENSSH PRIVATE KEY",
      "ENCRYPTED PRIVATE KEY",
    ].map((label) => block(label, fake.pemBody(200)));
    expect(values(privateKey, keys.join("\n\n"))).toEqual(keys);
  });

  it("reads armour headers: encrypted PEM and PGP key blocks", () => {
    const pem = block(
      "RSA PRIVATE KEY",
      `Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,${fake.hex(32).toUpperCase()}\n\n${fake.pemBody(400)}`,
    );
    const pgp = block(
      "PGP PRIVATE KEY BLOCK",
      `Version: GnuPG v2\nComment: backup\n\n${fake.pemBody(900)}\n=${fake.token(4)}`,
    );
    expect(values(privateKey, `${pem}\n${pgp}`)).toEqual([pem, pgp]);
  });

  it("finds keys whose line breaks are escaped, as in JSON strings and .env values", () => {
    const key = block("PRIVATE KEY", fake.pemBody(300)).replaceAll("\n", "\\n");
    const text = `{"private_key": "${key}\\n", "client_email": "svc"}`;
    expect(found(privateKey, text)).toEqual([{ value: key, score: 1 }]);
  });

  it("finds keys pasted onto one line", () => {
    const key = block("PRIVATE KEY", fake.pemBody(600)).replaceAll("\n", " ");
    expect(values(privateKey, `PRIVATE_KEY="${key}"`)).toEqual([key]);
  });

  it("flags a block cut off before END up to its last base64 character, with score 0.9", () => {
    const begin = "-----BEGIN OPENSSH PRIVATE KEY-----";
    const body = fake.pemBody(300, 70);
    const text = `${begin}\n${body}\n\nthanks`;
    expect(found(privateKey, text)).toEqual([{ value: `${begin}\n${body}`, score: 0.9 }]);
  });

  it("does not flag public keys, certificates, or BEGIN lines without a key under them", () => {
    const text = [
      block("PUBLIC KEY", fake.pemBody(300)),
      block("CERTIFICATE", fake.pemBody(900)),
      block("RSA PRIVATE KEY", "..."),
      block("PRIVATE KEY", "<your key here>"),
      block("PRIVATE KEY", fake.pemBody(40)),
      "Keys start with -----BEGIN RSA PRIVATE KEY----- and end with the END line, and between the two lines is the base64 of the key's DER encoding, which the tools read and write for you.",
      "-----BEGIN private key-----",
    ].join("\n");
    expect(privateKey.find(text)).toEqual([]);
  });
});
