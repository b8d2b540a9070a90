import fc from "fast-check";
import { isPlaceholder } from "../../src/classify/detectors/secret-text.js";

/**
 * Sensitive values to plant in requests, each generated fresh in a format its detector knows
 * (random, never real), and the ways they are written into a request.
 */
export interface Planted {
  kind: string;
  group: "pii" | "secret";
  /** The value itself, as it must never arrive in clear text where the policy forbids it. */
  value: string;
  /** How it is written into a sentence (the value alone, or with the words that make it one). */
  phrase: string;
}

const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";

const chars = (alphabet: string, min: number, max = min) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });

/**
 * Keeps only strings that look like random keys: letters and digits both, and many distinct
 * characters (a run like `AAAA…` reads as a placeholder, which detectors rightly pass over).
 */
const mixed = (arbitrary: fc.Arbitrary<string>) =>
  arbitrary.filter(
    (text) =>
      /[0-9]/.test(text) && /[A-Za-z]/.test(text) && new Set(text).size >= Math.min(12, text.length * 0.6),
  );

function luhnComplete(digits: string): string {
  let sum = 0;
  for (let index = 0; index < digits.length; index++) {
    let digit = Number(digits[digits.length - 1 - index]);
    if (index % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits + String((10 - (sum % 10)) % 10);
}

function ibanFor(country: string, bban: string): string {
  const rearranged = `${bban}${country}00`.replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (const digit of rearranged) remainder = (remainder * 10 + Number(digit)) % 97;
  return `${country}${String(98 - remainder).padStart(2, "0")}${bban}`;
}

const secret = (kind: string, value: fc.Arbitrary<string>, phrase = (v: string) => v) =>
  value.map((v): Planted => ({ kind, group: "secret", value: v, phrase: phrase(v) }));
const pii = (kind: string, value: fc.Arbitrary<string>, phrase = (v: string) => v) =>
  value.map((v): Planted => ({ kind, group: "pii", value: v, phrase: phrase(v) }));

export const plantedSecret: fc.Arbitrary<Planted> = fc.oneof(
  secret(
    "aws_access_key_id",
    mixed(chars(UPPER_DIGITS, 16)).map((body) => `AKIA${body}`),
  ),
  secret(
    "github_token",
    mixed(chars(ALNUM, 36)).map((body) => `ghp_${body}`),
  ),
  secret(
    "stripe_key",
    mixed(chars(ALNUM, 24)).map((body) => `sk_live_${body}`),
  ),
  secret(
    "private_key",
    fc
      .array(mixed(chars(`${ALNUM}+/`, 64)), { minLength: 3, maxLength: 6 })
      .map((lines) => `-----BEGIN RSA PRIVATE KEY-----\n${lines.join("\n")}\n-----END RSA PRIVATE KEY-----`),
  ),
  secret(
    "jwt",
    fc
      .tuple(chars(LOWER, 4, 10), mixed(chars(`${ALNUM}-_`, 43)))
      .map(
        ([subject, signature]) =>
          `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ sub: subject, iat: 1700000000 })).toString("base64url")}.${signature}`,
      ),
  ),
  secret(
    "password",
    // Not a value that is a reference by its form (`%NAME%` is a Windows variable): never flagged.
    mixed(chars(`${ALNUM}!#%^*`, 10, 20)).filter((value) => !isPlaceholder(value)),
    (value) => `password=${value}`,
  ),
);

export const plantedPersonalData: fc.Arbitrary<Planted> = fc.oneof(
  pii(
    "email",
    fc
      .tuple(chars(LOWER, 3, 10), fc.option(chars(LOWER, 2, 6), { nil: undefined }), chars(LOWER, 3, 10))
      .map(([local, tag, domain]) => `${local}${tag ? `+${tag}` : ""}@${domain}.example.com`),
  ),
  pii(
    "card",
    fc
      .tuple(
        fc.constantFrom("4111", "4012", "5555", "5105"),
        chars("0123456789", 11),
        fc.constantFrom("", " ", "-"),
      )
      .map(([prefix, body, separator]) => {
        const digits = luhnComplete(prefix + body);
        return separator === "" ? digits : (digits.match(/.{1,4}/g) ?? []).join(separator);
      }),
  ),
  pii(
    "iban",
    fc
      .tuple(chars("0123456789", 8), chars("0123456789", 10))
      .map(([bank, account]) => ibanFor("DE", `${bank}${account}`)),
  ),
  pii(
    "ssn",
    fc
      .tuple(
        fc.integer({ min: 1, max: 665 }),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 9999 }),
      )
      .map(([area, group, serial]) =>
        [String(area).padStart(3, "0"), String(group).padStart(2, "0"), String(serial).padStart(4, "0")].join(
          "-",
        ),
      ),
    (value) => `SSN ${value}`,
  ),
);

const WORDS =
  "the quarterly report lists shipping delays for three regions please check notes again before friday".split(
    " ",
  );
/** Filler prose that no detector flags. */
export const filler = fc
  .array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 12 })
  .map((words) => words.join(" "));

/** How a value is written into a request's text. */
export type Encoding = "plain" | "json-string" | "json-unicode-escaped" | "percent-encoded";

export const encoding: fc.Arbitrary<Encoding> = fc.constantFrom(
  "plain",
  "json-string",
  "json-unicode-escaped",
  "percent-encoded",
);

/** `phrase` written in `how`: as is, inside a JSON document, with characters \u-escaped, or URL-encoded. */
export function encode(phrase: string, how: Encoding): string {
  switch (how) {
    case "plain":
      return phrase;
    case "json-string":
      return JSON.stringify({ note: phrase });
    case "json-unicode-escaped":
      return `{"note":"${[...phrase].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)).join("")}"}`;
    case "percent-encoded":
      return `https://tracker.example.com/search?q=${encodeURIComponent(phrase)}`;
    default:
      return how satisfies never;
  }
}

/** Every form in which `value` would still be readable: as is, JSON-escaped, URL-encoded. */
export function readableForms(value: string): string[] {
  const unicodeEscaped = [...value]
    .map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`))
    .join("");
  return [...new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), unicodeEscaped])];
}

/** Whether any of `texts` holds `value` in any form a reader could take it back from. */
export function containsValue(texts: readonly string[], value: string): boolean {
  return texts.some((text) => readableForms(value).some((form) => text.includes(form)));
}
