/**
 * Fake secrets of the right shapes for detector tests: random strings from a seeded generator,
 * so every run sees the same values and none is a real credential.
 */
import type { Detector } from "../../../src/classify/detectors/detector.js";

export const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const LOWER = "abcdefghijklmnopqrstuvwxyz";
export const DIGITS = "0123456789";
export const ALNUM = UPPER + LOWER + DIGITS;
export const BASE32 = `${UPPER}234567`;
export const BASE64 = `${ALNUM}+/`;
export const BASE64URL = `${ALNUM}-_`;
export const HEX = "0123456789abcdef";

/** A deterministic source of random strings (mulberry32). */
export function fakes(seed = 1) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (alphabet: string, length: number) => {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)];
    return out;
  };
  /** Random, but with at least one upper, one lower and one digit (as generated keys have). */
  const mixed = (alphabet: string, length: number): string => {
    for (;;) {
      const value = pick(alphabet, length);
      if (/[A-Z]/.test(value) && /[a-z]/.test(value) && /[0-9]/.test(value)) return value;
    }
  };
  const b64url = (value: string) => Buffer.from(value).toString("base64url");
  return {
    pick,
    mixed,
    awsKeyId: (prefix = "AKIA") => prefix + pick(BASE32, 16),
    awsSecret: () => mixed(BASE64, 40),
    googleKey: () => `AIza${mixed(BASE64URL, 35)}`,
    githubToken: (prefix = "ghp_") => prefix + mixed(ALNUM, 36),
    githubPat: () => `github_pat_${mixed(ALNUM, 22)}_${mixed(ALNUM, 59)}`,
    gitlabToken: (prefix = "glpat-") => prefix + mixed(BASE64URL, 20),
    slackBot: () => `xoxb-${pick(DIGITS, 12)}-${pick(DIGITS, 13)}-${mixed(ALNUM, 24)}`,
    slackUser: () => `xoxp-${pick(DIGITS, 12)}-${pick(DIGITS, 12)}-${pick(DIGITS, 13)}-${pick(HEX, 32)}`,
    slackWebhook: () =>
      `https://hooks.slack.com/services/T${pick(UPPER + DIGITS, 10)}/B${pick(UPPER + DIGITS, 10)}/${mixed(ALNUM, 24)}`,
    stripeKey: (prefix = "sk_live_") => prefix + mixed(ALNUM, 99),
    openaiProject: () => `sk-proj-${mixed(BASE64URL, 74)}T3BlbkFJ${mixed(BASE64URL, 74)}`,
    openaiClassic: () => `sk-${mixed(ALNUM, 20)}T3BlbkFJ${mixed(ALNUM, 20)}`,
    anthropicKey: (type = "api03") => `sk-ant-${type}-${mixed(BASE64URL, 93)}AA`,
    jwt: (
      header: object = { alg: "HS256", typ: "JWT" },
      payload: object = { sub: "user-1842", iat: 1700000000 },
    ) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${mixed(BASE64URL, 43)}`,
    pemBody: (characters: number, width = 64) => {
      const body = mixed(BASE64, characters);
      const lines: string[] = [];
      for (let at = 0; at < body.length; at += width) lines.push(body.slice(at, at + width));
      return lines.join("\n");
    },
    hex: (length: number) => pick(HEX, length),
    token: (length: number) => mixed(ALNUM, length),
  };
}

/** What a detector finds, as values and scores (easier to read in expectations than offsets). */
export function found(detector: Detector, text: string): { value: string; score: number }[] {
  return detector
    .find(text)
    .map((match) => ({ value: text.slice(match.start, match.end), score: match.score }));
}

/** The values a detector finds. */
export function values(detector: Detector, text: string): string[] {
  return detector.find(text).map((match) => text.slice(match.start, match.end));
}
