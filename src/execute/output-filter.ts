import { maskFindings } from "../classify/mask.js";
import { scanText } from "../classify/scan.js";
import type { RedactedValue } from "../core/call.js";

/**
 * What stands between a provider's answer and everyone downstream of it (the caller, the logs,
 * the decision), one channel per stream of text: the answer's text, and each tool call's
 * arguments. Two stages, in order:
 *
 * 1. **Mask**: a secret the model wrote (a key, a private key block, a password) is replaced by
 *    `[REDACTED:<kind>]`. A secret can arrive split across deltas, so the channel holds back an
 *    unfinished word at the end of what it has when that word could be part of one (it has a
 *    digit, an inner capital or punctuation, or follows `password=`-style wording; and an
 *    unfinished `-----BEGIN` block) until the next delta or the end, and scans what it releases
 *    with the text just before it as context. Plain words are released at once, so prose pays
 *    no latency; a key's public prefix (`sk`, `glpat`) may go out before the rest is masked.
 * 2. **Restore**: the tokens redaction put in the request (`<EMAIL_1>`) are put back, also when a
 *    token is split across deltas; in tool-call arguments the value is JSON-escaped, so the
 *    arguments stay valid JSON.
 *
 * Holding back costs the caller at most one unfinished word of latency, and only for words that
 * look like code or keys. Masking runs on the model's own words, before restoring: what is
 * restored is the caller's own value, going back to the caller.
 *
 * `incremental: false` (Route, where nobody waits for a delta) holds everything to the end and
 * scans the answer once, in MAX_HELD pieces cut at word boundaries.
 */
export interface OutputFilter {
  /** What of the text so far may be released: possibly empty (held back), possibly more than `delta`. */
  text(delta: string): string;
  /** The same for the arguments of the tool call at `index`. */
  toolArguments(index: number, delta: string): string;
  /** A tool call's id or name the model wrote (whole, never split): with any secret in it masked. */
  identifier(text: string): string;
  /** Everything still held back, per channel, at the answer's end. */
  end(): { text: string; toolArguments: Map<number, string> };
  /** Secrets masked so far, by kind. */
  readonly masked: ReadonlyMap<string, number>;
}

/** Longest unfinished word held back before it is released anyway (a pathological token). */
const MAX_HELD = 16 * 1024;
/** Released text kept as context for the next scan (context words such as `password=`). */
const CONTEXT = 64;

export function createOutputFilter(
  vault: ReadonlyMap<string, RedactedValue> | undefined,
  options: { incremental: boolean } = { incremental: true },
): OutputFilter {
  const masked = new Map<string, number>();
  const onMask = (kind: string) => masked.set(kind, (masked.get(kind) ?? 0) + 1);
  const channel = (json: boolean) => createChannel(vault, json, options.incremental, onMask);
  const textChannel = channel(false);
  const toolChannels = new Map<number, ReturnType<typeof channel>>();
  const toolChannel = (index: number) => {
    let found = toolChannels.get(index);
    if (!found) {
      found = channel(true);
      toolChannels.set(index, found);
    }
    return found;
  };
  return {
    text: (delta) => textChannel.push(delta),
    toolArguments: (index, delta) => toolChannel(index).push(delta),
    identifier: (text) => maskSecrets(text, onMask),
    end: () => ({
      text: textChannel.end(),
      toolArguments: new Map([...toolChannels].map(([index, found]) => [index, found.end()])),
    }),
    masked,
  };
}

function createChannel(
  vault: ReadonlyMap<string, RedactedValue> | undefined,
  json: boolean,
  incremental: boolean,
  onMask: (kind: string) => void,
) {
  const masker = maskStage(onMask, json, incremental);
  const restorer = vault && vault.size > 0 ? restoreStage(vault, json) : undefined;
  return {
    push(delta: string): string {
      const safe = masker.push(delta);
      return restorer ? restorer.push(safe) : safe;
    },
    end(): string {
      const safe = masker.end();
      return restorer ? restorer.push(safe) + restorer.end() : safe;
    },
  };
}

/** `json`: tool-call arguments, where JSON punctuation also ends a word (values stream one by one). */
function maskStage(onMask: (kind: string) => void, json: boolean, incremental: boolean) {
  let pending = "";
  let context = "";
  const release = (segment: string): string => {
    if (segment === "") return "";
    const scanned = context + segment;
    const secrets = secretsIn(scanned).filter((finding) => finding.end > context.length);
    for (const finding of secrets) onMask(finding.kind);
    const out = maskFindings(scanned, secrets, "secret", context.length).slice(context.length);
    context = (context + out).slice(-CONTEXT);
    return out;
  };
  return {
    push(delta: string): string {
      pending += delta;
      if (!incremental) {
        if (pending.length <= MAX_HELD) return "";
        let cut = lastSeparatorEnd(pending, json) || pending.length;
        // Never cut an unfinished key block in two: its second half alone is not recognised.
        const begin = pending.lastIndexOf("-----BEGIN");
        if (begin > 0 && pending.indexOf("-----END", begin) < 0) cut = Math.min(cut, begin);
        const segment = pending.slice(0, cut);
        pending = pending.slice(cut);
        return release(segment);
      }
      const wordStart = lastSeparatorEnd(pending, json);
      // With no separator in what is pending, its word goes on from what was released last: a
      // key sent a letter at a time is one word ("AK…"), not a run of plain one-letter words.
      const carried = wordStart === 0 ? context.slice(lastSeparatorEnd(context, json)) : "";
      const before = context.slice(0, context.length - carried.length) + pending.slice(0, wordStart);
      let cut = mayBeSecret(carried + pending.slice(wordStart), before) ? wordStart : pending.length;
      const begin = pending.lastIndexOf("-----BEGIN");
      if (begin >= 0 && pending.indexOf("-----END", begin) < 0) cut = Math.min(cut, begin);
      if (pending.length - cut > MAX_HELD) cut = pending.length;
      const segment = pending.slice(0, cut);
      pending = pending.slice(cut);
      return release(segment);
    },
    end(): string {
      const segment = pending;
      pending = "";
      return release(segment);
    },
  };
}

/** The secrets in `text`, in order. */
function secretsIn(text: string) {
  return scanText(text).filter((finding) => finding.group === "secret");
}

/** `text` with every secret in it masked. */
function maskSecrets(text: string, onMask: (kind: string) => void): string {
  const secrets = secretsIn(text);
  for (const finding of secrets) onMask(finding.kind);
  return maskFindings(text, secrets, "secret");
}

/** Words a secret cannot start as: letters only, capitalised at most at the first. */
const PLAIN_WORD = /^[A-Za-z]?[a-z]*$/;
/** Wording after which the next word is a value to hide (`password=`, `token: "`). */
const ASSIGNS_SECRET =
  /(?:pass(?:word|wd)?|pwd|secret|token|key|credentials?|auth(?:orization)?|bearer)["']?\s*[:=]?\s*["']?$/i;

/** Whether an unfinished word could be (the start of) a secret, so it must wait for its end. */
function mayBeSecret(word: string, before: string): boolean {
  if (word === "") return false;
  if (!PLAIN_WORD.test(word)) return true;
  return ASSIGNS_SECRET.test(before.slice(-40));
}

/** Just past the last whitespace character (or, in JSON, structural character), or 0. */
function lastSeparatorEnd(text: string, json: boolean): number {
  for (let index = text.length - 1; index >= 0; index--) {
    const code = text.charCodeAt(index);
    if (code === 32 || code === 10 || code === 9 || code === 13) return index + 1;
    // " , : { } [ ]
    if (
      json &&
      (code === 34 ||
        code === 44 ||
        code === 58 ||
        code === 123 ||
        code === 125 ||
        code === 91 ||
        code === 93)
    )
      return index + 1;
  }
  return 0;
}

/** The tokens redact() writes: `<EMAIL_1>`, `<EMAIL_#3f9a2c1b>`. Bounded, so linear. */
const TOKEN = /<[A-Z][A-Z0-9_]{0,48}_(?:\d{1,6}|#[0-9a-f]{8})>/g;
const TOKEN_PREFIX = /^<[A-Z0-9_#a-f]{0,64}$/;

function restoreStage(vault: ReadonlyMap<string, RedactedValue>, json: boolean) {
  let pending = "";
  const restore = (text: string) =>
    text.replace(TOKEN, (token) => {
      const found = vault.get(token);
      if (!found) return token;
      return json ? JSON.stringify(found.value).slice(1, -1) : found.value;
    });
  return {
    push(safe: string): string {
      pending += safe;
      const open = pending.lastIndexOf("<");
      // An unfinished token at the end waits for the rest of it.
      const cut = open >= 0 && TOKEN_PREFIX.test(pending.slice(open)) ? open : pending.length;
      const ready = pending.slice(0, cut);
      pending = pending.slice(cut);
      return restore(ready);
    },
    end(): string {
      const rest = pending;
      pending = "";
      return restore(rest);
    },
  };
}
