// Content detection benchmark: how fast the built scanner (dist/src/classify/scan.js, every
// detector classify runs) gets through realistic text, which detector takes the time, and how long
// it takes on 1 MiB adversarial inputs. One process, one thread: MB/s here is MB/s per core.
// See bench/README.md ("Content detection") for what is measured and how to read it.
//
//   npm run bench:detect                      # ~1–2 min; writes bench/results/<date>-detect.{md,json}
//   npm run bench:detect -- --no-write        # print only
//   npm run bench:detect -- --only adversarial --adversarial-reps 3
//
// Options: --reps N (7, timed passes over the corpus) --warmup N (2) --adversarial-reps N (5)
//          --mb N (8, corpus size) --seed N (1) --only throughput|adversarial --no-build --no-write
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureBuilt, sourceRevision } from "./build-check.mjs";
import { runMain, writeResults } from "./harness.mjs";
import { PROMPTS } from "./prompts.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MIB = 1 << 20;
/** The issue's aims: scanning throughput per core, and "small" for any adversarial megabyte. */
const AIM_MB_S = 100;
const SLOW_MS = 250;

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "7" },
    warmup: { type: "string", default: "2" },
    "adversarial-reps": { type: "string", default: "5" },
    mb: { type: "string", default: "8" },
    seed: { type: "string", default: "1" },
    only: { type: "string" },
    "no-build": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const REPS = Number(opts.reps);
const WARMUP = Number(opts.warmup);
const ADV_REPS = Number(opts["adversarial-reps"]);
const CORPUS_BYTES = Number(opts.mb) * 1e6;
const SEED = Number(opts.seed);
if (!(REPS >= 1 && WARMUP >= 0 && ADV_REPS >= 1 && CORPUS_BYTES > 0))
  throw new Error("--reps and --adversarial-reps must be >= 1, --warmup >= 0, --mb > 0");
if (opts.only && !["throughput", "adversarial"].includes(opts.only))
  throw new Error("--only throughput or --only adversarial");

function log(line) {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/** mulberry32: a small seeded PRNG, so every run scans the same bytes. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    between: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)],
    chars: (alphabet, n) => {
      let s = "";
      for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)];
      return s;
    },
  };
}

const DIGITS = "0123456789";
const HEX = "0123456789abcdef";
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64 = `${ALNUM}+/`;

// ---------------------------------------------------------------------------------------------
// The mixed realistic corpus: prose, source code, JSON log lines, chat turns with a sprinkle of
// (fake) sensitive values, and CSV, in segments of 1–6 KB in random order.

/** Share of the corpus's bytes by kind of text. */
const MIX = [
  ["prose", 0.3],
  ["code", 0.25],
  ["chat", 0.2],
  ["logs", 0.15],
  ["csv", 0.1],
];

// biome-ignore format: word lists
const FIRST = ["maria", "john", "aisha", "wei", "lars", "sofia", "pedro", "emma", "noah", "priya", "kenji", "olga", "fatima", "lucas", "anna", "david"];
// biome-ignore format: word lists
const LAST = ["keller", "smith", "khan", "zhang", "berg", "rossi", "silva", "jones", "meyer", "patel", "tanaka", "ivanova", "haddad", "martin", "novak", "cohen"];
// biome-ignore format: word lists
const DOMAINS = ["example.com", "example.org", "mail.example.net", "contoso.com", "fabrikam.com", "northwind-traders.com"];

function fakes(rand) {
  const email = () =>
    `${rand.pick(FIRST)}${rand.pick([".", "_", ""])}${rand.pick(LAST)}${rand.next() < 0.3 ? rand.between(1, 99) : ""}@${rand.pick(DOMAINS)}`;
  const phone = () =>
    rand.pick([
      () => `(415) 555-01${rand.chars(DIGITS, 2)}`,
      () => `+1 212 555 01${rand.chars(DIGITS, 2)}`,
      () => `+44 20 7946 0${rand.chars(DIGITS, 3)}`,
      () => `020 7946 0${rand.chars(DIGITS, 3)}`,
      () => `+49 30 901820${rand.chars(DIGITS, 2)}`,
    ])();
  const card = () => {
    const [prefix, length] = rand.pick([
      ["4", 16],
      [`5${rand.between(1, 5)}`, 16],
      ["37", 15],
    ]);
    let digits = prefix + rand.chars(DIGITS, length - prefix.length - 1);
    digits += luhnDigit(digits);
    const sep = rand.pick([" ", "-", ""]);
    return length === 15
      ? [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep)
      : digits.match(/.{4}/g).join(sep);
  };
  const key = () =>
    rand.pick([
      () => `sk-proj-${rand.chars(`${ALNUM}_-`, 48)}`,
      () => `AKIA${rand.chars(UPPER_ALNUM, 16)}`,
      () => `ghp_${rand.chars(ALNUM, 36)}`,
      () => `xoxb-${rand.chars(DIGITS, 11)}-${rand.chars(DIGITS, 13)}-${rand.chars(ALNUM, 24)}`,
      () => `sk_live_${rand.chars(ALNUM, 24)}`,
      () => `password=${rand.chars(`${ALNUM}!#%`, 14)}`,
    ])();
  const iban = () => rand.pick(["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"]);
  const ssn = () => `${rand.between(100, 665)}-${rand.between(10, 99)}-${rand.between(1000, 9999)}`;
  return { email, phone, card, key, iban, ssn };
}

function luhnDigit(payload) {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

function buildCorpus(targetBytes, seed) {
  const rand = prng(seed);
  const fake = fakes(rand);
  const docs = [
    "README.md",
    ...readdirSync(join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .sort()
      .map((f) => join("docs", f)),
  ];
  const paragraphs = docs
    .flatMap((f) => readFileSync(join(ROOT, f), "utf8").split(/\n\s*\n/))
    .map((p) => p.trim())
    .filter((p) => p.length > 40);
  const sentences = paragraphs
    .filter((p) => /^[A-Za-z*`]/.test(p))
    .flatMap((p) => p.replace(/\s+/g, " ").split(/(?<=[.!?])\s+/))
    .filter((s) => s.length >= 20 && s.length <= 300);
  const sources = [...walk(join(ROOT, "src"))]
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(f, "utf8").split("\n"));

  const planted = { email: 0, phone: 0, card: 0, key: 0, iban: 0, ssn: 0 };
  let untilSensitive = rand.between(1500, 4500);
  const sensitive = () => {
    const kind = rand.pick([
      "email",
      "email",
      "email",
      "phone",
      "phone",
      "phone",
      "card",
      "card",
      "key",
      "key",
      "iban",
      "ssn",
    ]);
    planted[kind]++;
    const v = fake[kind]();
    switch (kind) {
      case "email":
        return rand.pick([
          `You can reach me at ${v} if anything is unclear.`,
          `Please send the signed copy to ${v} by Friday.`,
          `Forwarding this from ${v}, who asked about the rollout.`,
        ]);
      case "phone":
        return rand.pick([`Call me on ${v} after three.`, `My mobile is ${v}.`, `The site office is ${v}.`]);
      case "card":
        return rand.pick([
          `The card on file is ${v}, can you check why the charge failed?`,
          `I paid with ${v}, expiry 09/27.`,
        ]);
      case "key":
        return rand.pick([
          `I put this in the config: ${v} and it still returns 401.`,
          `Here is the env I used:\nAPI_TOKEN=${v}\nREGION=eu-west-1`,
        ]);
      case "iban":
        return `Refund it to IBAN ${v}, please.`;
      default:
        return `The form lists SSN ${v} for the applicant.`;
    }
  };

  const segment = {
    prose(size) {
      const out = [];
      for (let n = 0; n < size; ) {
        const p = rand.pick(paragraphs);
        out.push(p);
        n += p.length + 2;
      }
      return out.join("\n\n");
    },
    code(size) {
      const lines = rand.pick(sources);
      const out = [];
      for (let i = rand.int(lines.length), n = 0; n < size; i = (i + 1) % lines.length) {
        out.push(lines[i]);
        n += lines[i].length + 1;
      }
      return out.join("\n");
    },
    chat(size) {
      const out = [];
      for (let n = 0, turn = 0; n < size; turn++) {
        const parts = [];
        for (let k = rand.between(1, 6); k > 0; k--) {
          const s = rand.pick(sentences);
          parts.push(s);
          untilSensitive -= s.length + 1;
          if (untilSensitive <= 0) {
            parts.push(sensitive());
            untilSensitive = rand.between(1500, 4500);
          }
        }
        const text = `${turn % 2 === 0 ? "user" : "assistant"}: ${parts.join(" ")}`;
        out.push(text);
        n += text.length + 2;
      }
      return out.join("\n\n");
    },
    logs(size) {
      const out = [];
      for (let n = 0; n < size; ) {
        const line = JSON.stringify({
          level: rand.pick([30, 30, 30, 40, 50]),
          time: 1764460800000 + rand.int(86_400_000),
          pid: 4100 + rand.int(8),
          hostname: `switchyard-${rand.chars(HEX, 5)}`,
          msg: rand.pick(["decision", "request completed", "provider call", "retrying", "budget checked"]),
          request_id: rand.chars(HEX, 32),
          route: rand.pick(["chat_default", "code_assist", "summarize_internal", "fallback"]),
          provider: rand.pick(["openai", "anthropic", "onprem_vllm", "mock"]),
          latency_ms: Math.round(rand.next() * 250000) / 100,
          input_tokens: rand.int(8000),
          output_tokens: rand.int(2000),
          ...(rand.next() < 0.3 && { remote_addr: `10.${rand.int(256)}.${rand.int(256)}.${rand.int(256)}` }),
        });
        out.push(line);
        n += line.length + 1;
      }
      return out.join("\n");
    },
    csv(size) {
      const orders = rand.next() < 0.5;
      const out = [
        orders
          ? "order_id,created_at,sku,qty,unit_price,currency,country,status"
          : "timestamp,host,region,p50_ms,p99_ms,rps,errors",
      ];
      for (let n = 0; n < size; ) {
        const day = String(rand.between(1, 28)).padStart(2, "0");
        const row = orders
          ? [
              `ORD-${rand.chars(DIGITS, 8)}`,
              `2026-11-${day}T${rand.between(10, 23)}:${rand.between(10, 59)}:00Z`,
              `SKU-${rand.chars(UPPER_ALNUM, 6)}`,
              rand.between(1, 40),
              (rand.next() * 500).toFixed(2),
              rand.pick(["EUR", "USD", "GBP"]),
              rand.pick(["DE", "US", "GB", "FR", "NL"]),
              rand.pick(["shipped", "pending", "returned"]),
            ].join(",")
          : [
              `2026-11-${day} ${rand.between(10, 23)}:${rand.between(10, 59)}:${rand.between(10, 59)}`,
              `web-${rand.between(1, 40)}`,
              rand.pick(["eu-west-1", "us-east-1", "ap-south-1"]),
              (rand.next() * 40).toFixed(1),
              (rand.next() * 400).toFixed(1),
              rand.int(5000),
              rand.int(20),
            ].join(",");
        out.push(row);
        n += row.length + 1;
      }
      return out.join("\n");
    },
  };

  const parts = [];
  const bytesByKind = Object.fromEntries(MIX.map(([kind]) => [kind, 0]));
  let total = 0;
  while (total < targetBytes) {
    // Kinds drawn by their share of the bytes.
    let r = rand.next();
    let kind = MIX[MIX.length - 1][0];
    for (const [k, share] of MIX) {
      r -= share;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const text = segment[kind](rand.between(1000, 6000));
    const bytes = Buffer.byteLength(text) + 2;
    parts.push(text);
    bytesByKind[kind] += bytes;
    total += bytes;
  }
  return { text: parts.join("\n\n"), bytesByKind, planted };
}

/**
 * Cuts `text` into pieces of about `size` code units, at a line break (else a space) in the last
 * quarter when there is one, each a flat string of its own as a decoded request message would be.
 */
function chunk(text, size) {
  const chunks = [];
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + size);
    if (end < text.length) {
      const line = text.lastIndexOf("\n", end - 1);
      const space = text.lastIndexOf(" ", end - 1);
      if (line >= at + size * 0.75) end = line + 1;
      else if (space >= at + size * 0.75) end = space + 1;
    }
    chunks.push(Buffer.from(text.slice(at, end), "utf8").toString("utf8"));
    at = end;
  }
  return chunks;
}

/** Tool-call arguments carrying the text: JSON with `\n`, `\"` and, ensure_ascii style, `\uXXXX`. */
function asToolArguments(chunks) {
  return chunks.map((content, i) =>
    JSON.stringify({ path: `notes/section-${i}.md`, mode: "overwrite", content }).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
  );
}

/**
 * The text and the decoded views the scanner builds of it (what its detectors' find() sees):
 * src/classify/scan.ts's own `decodedViews`, loaded from dist/ in main().
 */
let viewsOf = (text) => [text];

/** Milliseconds one detector's find() takes over all `texts`, and how many matches it returns. */
function timeFind(detector, texts) {
  collect();
  const t0 = performance.now();
  let found = 0;
  for (const text of texts) found += detector.find(text).length;
  return { ms: performance.now() - t0, found };
}

// ---------------------------------------------------------------------------------------------
// Adversarial inputs: 1 MiB each, ASCII (bytes = code units).

function adversarialInputs(seed) {
  const rand = prng(seed + 1000);
  const fill = (unit) => unit.repeat(Math.ceil(MIB / unit.length)).slice(0, MIB);
  const wall = (alphabet) => rand.chars(alphabet, MIB);
  const lines = (make) => {
    let s = "";
    while (s.length < MIB) s += `${make()}\n`;
    return s.slice(0, MIB);
  };
  const fake = fakes(rand);
  // [name, text, asked for by the issue]
  return [
    ["wall of digits", wall(DIGITS), true],
    [
      "digits separated by single spaces",
      [...wall(DIGITS).slice(0, MIB / 2)].join(" ").padEnd(MIB, "7"),
      true,
    ],
    ['"4111 " repeated', fill("4111 "), true],
    ['"@" repeated', fill("@"), true],
    ['"a@" repeated', fill("a@"), true],
    ['"a." repeated', fill("a."), true],
    ["base64 wall", wall(BASE64), true],
    ["hex wall", wall(HEX), true],
    ['"1.1.1.1…"', fill("1."), true],
    ['"::" repeated', fill("::"), true],
    ['"eyJ" repeated', fill("eyJ"), true],
    ['"eyJ.eyJ." repeated', fill("eyJ.eyJ."), true],
    ['"-----BEGIN " repeated', fill("-----BEGIN "), true],
    ['"password=" repeated', fill("password="), true],
    ['"AKIA" repeated', fill("AKIA"), true],
    ['"%41" repeated', fill("%41"), true],
    ['"\\u0041" (JSON escape) repeated', fill("\\u0041"), true],
    ["one 1 MiB token (letters and digits)", wall(ALNUM), true],
    ['"sk-" repeated', fill("sk-"), true],
    // Beyond the issue's list: other anchors the detectors expand around, and findings-heavy text.
    ['"\\" repeated (stray backslashes)', fill("\\"), false],
    ['"\\n" (JSON escape) repeated', fill("\\n"), false],
    ['"%" repeated', fill("%"), false],
    ['"0" repeated', fill("0"), false],
    ['"-" repeated', fill("-"), false],
    ['"=" repeated', fill("="), false],
    ["spaces and line breaks", fill(" \n"), false],
    ['"+1 " repeated', fill("+1 "), false],
    ['"123-45-6789 " repeated', fill("123-45-6789 "), false],
    ['"DE89 " repeated', fill("DE89 "), false],
    ['"x [at] " repeated', fill("x [at] "), false],
    ['"a at b dot " repeated', fill("a at b dot "), false],
    ['"postgres://u:p@" repeated', fill("postgres://u:p@"), false],
    ['"ghp_" repeated', fill("ghp_"), false],
    ['"xoxb-" repeated', fill("xoxb-"), false],
    ['"Bearer " repeated', fill("Bearer "), false],
    [
      "unterminated PEM private key",
      fill(`-----BEGIN RSA PRIVATE KEY-----\n${wall(BASE64).slice(0, 64)}\n`),
      false,
    ],
    ["phone directory (distinct numbers, one a line)", lines(fake.phone), false],
    ["e-mail list (distinct addresses, one a line)", lines(fake.email), false],
    ["valid card numbers, one a line", lines(fake.card), false],
    ["api_key=<random token> lines", lines(() => `api_key=${rand.chars(ALNUM, 32)}`), false],
  ];
}

// ---------------------------------------------------------------------------------------------
// Measurement.

function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Collects garbage before each timed pass when Node runs with --expose-gc (npm run bench:detect
 * does), so one pass does not pay for the previous one's garbage: a megabyte of escapes leaves
 * tens of MB behind, and a major collection landing in the next input's run would be charged to it.
 */
const collect = typeof globalThis.gc === "function" ? globalThis.gc : () => {};

function makeTimer(scanText) {
  return (texts, detectors) => {
    collect();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let findings = 0;
    for (const text of texts) findings += scanText(text, detectors).length;
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, findings };
  };
}

async function throughput(time, detectors, corpus) {
  const mixed4 = chunk(corpus.text, 4096);
  const mixed64 = chunk(corpus.text, 65536);
  const sets = [
    { id: "mixed-4k", what: "mixed realistic text", chunkLabel: "4 KB", chunks: mixed4, aim: true },
    { id: "mixed-64k", what: "mixed realistic text", chunkLabel: "64 KB", chunks: mixed64, aim: true },
    {
      id: "tool-args-4k",
      what: "the same as JSON tool-call arguments (escapes)",
      chunkLabel: "4 KB",
      chunks: asToolArguments(mixed4),
    },
    {
      id: "tool-args-64k",
      what: "the same as JSON tool-call arguments (escapes)",
      chunkLabel: "64 KB",
      chunks: asToolArguments(mixed64),
    },
  ];
  for (const set of sets) {
    set.bytes = set.chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
    set.withDecodedView = set.chunks.filter((c) => viewsOf(c).length > 1).length;
    set.runs = [];
  }
  // Sets interleaved within each repetition, so a noisy second hits all of them alike.
  for (let rep = 0; rep < WARMUP + REPS; rep++) {
    const line = [];
    for (const set of sets) {
      const r = time(set.chunks, detectors);
      if (rep >= WARMUP) set.runs.push(r);
      set.findings = r.findings;
      line.push(`${set.id} ${f1(set.bytes / 1e3 / r.ms)} MB/s`);
    }
    log(
      `throughput ${rep < WARMUP ? `warm-up ${rep + 1}` : `rep ${rep - WARMUP + 1}/${REPS}`}: ${line.join(", ")}`,
    );
  }
  for (const set of sets) {
    set.mbPerS = median(set.runs.map((r) => set.bytes / 1e3 / r.ms));
    set.mbPerSMin = Math.min(...set.runs.map((r) => set.bytes / 1e3 / r.ms));
    set.mbPerSMax = Math.max(...set.runs.map((r) => set.bytes / 1e3 / r.ms));
    set.mbPerSCpu = median(set.runs.map((r) => set.bytes / 1e3 / r.cpuMs));
    set.msMedian = median(set.runs.map((r) => r.ms));
  }

  // Per detector: its find() over every chunk and every decoded view the scanner builds of it
  // (precomputed), in 4 KB and 64 KB chunks; and the scanner with no detector (escape tests,
  // decoded views, merging). Both sizes, so a detector whose cost grows faster than the text shows.
  const sizes = [sets[0], sets[1]];
  const viewTexts = sizes.map((set) => set.chunks.flatMap(viewsOf));
  const none = sizes.map(() => []);
  const alone = sizes.map(() => detectors.map(() => []));
  const found = detectors.map(() => 0);
  for (let rep = 0; rep < 1 + REPS; rep++) {
    sizes.forEach((set, s) => {
      const base = time(set.chunks, []);
      if (rep > 0) none[s].push(base.ms);
      detectors.forEach((d, i) => {
        const r = timeFind(d, viewTexts[s]);
        if (rep > 0) alone[s][i].push(r.ms);
        if (s === 0) found[i] = r.found;
      });
    });
    log(`per-detector ${rep === 0 ? "warm-up" : `rep ${rep}/${REPS}`} done`);
  }
  const perDetector = detectors
    .map((d, i) => {
      const bySize = sizes.map((set, s) => {
        const ms = Math.max(0, median(alone[s][i]));
        return { ms, mbPerS: set.bytes / 1e3 / ms, share: ms / set.msMedian, runsMs: alone[s][i] };
      });
      return { kind: d.kind, group: d.group, findings: found[i], at4k: bySize[0], at64k: bySize[1] };
    })
    .sort((a, b) => b.at4k.ms - a.at4k.ms);
  const overhead = sizes.map((set, s) => {
    const ms = median(none[s]);
    return { ms, share: ms / set.msMedian, runsMs: none[s] };
  });
  return {
    sets: sets.map(({ chunks: c, ...rest }) => ({ ...rest, chunkCount: c.length })),
    perDetector,
    overhead: { at4k: overhead[0], at64k: overhead[1] },
    fullMs: { at4k: sets[0].msMedian, at64k: sets[1].msMedian },
    sumMs: {
      at4k: overhead[0].ms + perDetector.reduce((n, d) => n + d.at4k.ms, 0),
      at64k: overhead[1].ms + perDetector.reduce((n, d) => n + d.at64k.ms, 0),
    },
  };
}

/**
 * Microseconds per scanText call on the texts a call scans: the main benchmark's 2 KB prompt
 * (bench/run.mjs --prompt prose; classify scans each message once), the mock's answer to it
 * (Route's output filter scans the whole answer once), and what Stream's output filter scans per
 * streamed word (the word with up to 64 characters of context before it). Median of 7 batches.
 */
function perCall(scanText, detectors, prompt) {
  const texts = [
    ["the 2 KB prompt of `npm run bench -- --prompt prose` (classify)", prompt],
    [
      "the mock's answer to it (Route's output filter, once per answer)",
      `This is bench_mock/bench-model, an offline mock. You said: "${prompt.slice(0, 200)}…"`,
    ],
    ["a word and 64 characters of context (Stream's output filter, per word)", prompt.slice(0, 74)],
    ["one word", " quarterly"],
  ];
  return texts.map(([what, text]) => {
    const n = Math.max(200, Math.round(2e6 / (text.length + 50)));
    const batches = [];
    for (let b = 0; b < 8; b++) {
      collect();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) scanText(text, detectors);
      if (b > 0) batches.push(((performance.now() - t0) * 1000) / n);
    }
    return { what, bytes: Buffer.byteLength(text), us: median(batches), runsUs: batches };
  });
}

function adversarial(time, detectors, inputs) {
  const results = [];
  for (const [name, text, asked] of inputs) {
    time([text], detectors); // warm-up, and the findings count
    const runs = [];
    const cpuRuns = [];
    let findings = 0;
    for (let i = 0; i < ADV_REPS; i++) {
      const r = time([text], detectors);
      runs.push(r.ms);
      cpuRuns.push(r.cpuMs);
      findings = r.findings;
    }
    // Each detector's find() on this input and the decoded views the scanner builds of it, and
    // the scanner with no detector (escape tests, decoded views, merging): the fastest of 3 runs,
    // since interference only ever adds time.
    const fastest = (run) => {
      const first = run();
      return first > 2000 ? first : Math.min(first, run(), run());
    };
    const views = viewsOf(text);
    const noneMs = fastest(() => time([text], []).ms);
    const perDetector = detectors
      .map((d) => ({ kind: d.kind, ms: fastest(() => timeFind(d, views).ms) }))
      .sort((a, b) => b.ms - a.ms);
    const result = {
      name,
      asked,
      bytes: Buffer.byteLength(text),
      msMedian: median(runs),
      msMax: Math.max(...runs),
      cpuMsMedian: median(cpuRuns),
      runsMs: runs,
      runsCpuMs: cpuRuns,
      findings,
      scannerMs: noneMs,
      perDetector,
    };
    results.push(result);
    log(
      `adversarial ${name.padEnd(48)} ${f1(result.msMedian).padStart(8)} ms  (slowest: ${perDetector[0]?.kind} ` +
        `${f1(perDetector[0]?.ms)} ms, scanner ${f1(noneMs)} ms, ${findings} findings)`,
    );
  }
  return results;
}

/** Busy CPU seconds of the whole machine (all cores, steal included) from /proc/stat. */
function machineBusy() {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) / 100;
}

/** Runs `fn` and says how many cores other processes kept busy meanwhile (this one's CPU removed). */
async function withOtherLoad(fn) {
  const busy0 = machineBusy();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const ours = (cpu.user + cpu.system) / 1e6;
  return { result, wallS, otherCores: Math.max(0, (machineBusy() - busy0 - ours) / wallS) };
}

// ---------------------------------------------------------------------------------------------
// Report.

const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
/** What takes most of an adversarial input's time: its slowest detector, or the scanner's own work. */
const culprit = (a) =>
  (a.perDetector[0]?.ms ?? 0) >= a.scannerMs
    ? a.perDetector[0].kind
    : "the scanner itself: escape tests, decoded views, merging";
const isSlow = (a) => Math.min(a.msMedian, a.cpuMsMedian) > SLOW_MS;
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : "–");

function markdown(meta, corpus, tp, adv) {
  const lines = [];
  lines.push(`# Content detection benchmark — ${meta.date}`, "");
  lines.push(
    `Command: \`${meta.command}\` · one process, one thread (MB/s is per core; MB = 10⁶ bytes of UTF-8) · ` +
      `${meta.reps} timed repetitions after ${meta.warmup} warm-up, medians · adversarial: ` +
      `${meta.adversarialReps} runs each after one warm-up.`,
    "",
    `Machine: ${meta.cpus} × ${meta.cpuModel} (shared), load average before ${meta.loadavg.join(" ")}, ` +
      `after ${meta.loadavgAfter.join(" ")}; other processes kept ${f2(meta.otherCores.throughput)} ` +
      `(throughput) / ${f2(meta.otherCores.adversarial)} (adversarial) cores busy meanwhile; ` +
      `Node ${meta.node}; git ${meta.git}` +
      `${meta.distStale ? ` (dist/ stale: ${meta.distStale} files)` : ""}; ` +
      `${meta.detectors.length} detectors: ${meta.detectors.map((d) => `${d.kind} (${d.group})`).join(", ")}.`,
    "",
  );
  if (tp) {
    const kinds = Object.entries(corpus.bytesByKind)
      .map(([k, b]) => `${k} ${pct(b / corpus.bytes)}`)
      .join(", ");
    const planted = Object.entries(corpus.planted)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    lines.push(
      "## Throughput",
      "",
      `Corpus (seed ${meta.seed}): ${f1(corpus.bytes / 1e6)} MB: ${kinds}. Planted in the chat turns ` +
        `(fake values, about one per 1.5–4.5 KB of chat): ${planted}.`,
      "",
      "| text | chunks | MB | chunks with a decoded view | MB/s (median) | min–max | MB/s by CPU time | findings | aim ≥ 100 MB/s |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    );
    for (const s of tp.sets) {
      const met = s.aim ? (s.mbPerS >= AIM_MB_S ? "yes" : "**no**") : "";
      lines.push(
        `| ${s.what}, ${s.chunkLabel} chunks | ${f0(s.chunkCount)} | ${f1(s.bytes / 1e6)} | ` +
          `${pct(s.withDecodedView / s.chunkCount)} | ` +
          `**${f1(s.mbPerS)}** | ${f1(s.mbPerSMin)}–${f1(s.mbPerSMax)} | ${f1(s.mbPerSCpu)} | ${f0(s.findings)} | ${met} |`,
      );
    }
    lines.push(
      "",
      "Per detector, mixed text: its find() over every chunk and every decoded view the scanner builds " +
        "of one (median over the repetitions), over the whole corpus. Share = of the full scan's median " +
        `time (4 KB chunks ${f0(tp.fullMs.at4k)} ms, the parts add up to ${f0(tp.sumMs.at4k)} ms; 64 KB ` +
        `${f0(tp.fullMs.at64k)} ms, parts ${f0(tp.sumMs.at64k)} ms: the detectors taking turns on each ` +
        "chunk cost more than each running over all chunks, see bench/README.md). Findings: that " +
        "detector's matches (4 KB chunks, views included), before overlaps with other detectors are resolved.",
      "",
      "| detector | group | ms, 4 KB chunks | MB/s alone | share | ms, 64 KB chunks | share | findings |",
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const d of tp.perDetector) {
      lines.push(
        `| ${d.kind} | ${d.group} | ${f1(d.at4k.ms)} | ${d.at4k.ms >= 0.5 ? f0(d.at4k.mbPerS) : "–"} | ${pct(d.at4k.share)} | ` +
          `${f1(d.at64k.ms)} | ${pct(d.at64k.share)} | ${f0(d.findings)} |`,
      );
    }
    const o = tp.overhead;
    lines.push(
      "| *scanner itself (escape tests, decoded views, merging; no detectors)* | | " +
        `${f1(o.at4k.ms)} | | ${pct(o.at4k.share)} | ${f1(o.at64k.ms)} | ${pct(o.at64k.share)} | |`,
      "",
      "Per call, on what a call scans (median of 7 batches):",
      "",
      "| text | bytes | µs per scan |",
      "| --- | ---: | ---: |",
      ...tp.perCall.map((c) => `| ${c.what} | ${f0(c.bytes)} | ${f1(c.us)} |`),
      "",
    );
  }
  if (adv) {
    // Slow by what the input costs: wall time, unless CPU time says the wait was for a busy box.
    const slow = adv.filter((a) => isSlow(a));
    const worst = [...adv].sort((a, b) => b.msMedian - a.msMedian);
    lines.push(
      "## Adversarial inputs (1 MiB each)",
      "",
      `Worst: **${worst[0].name}, ${f1(worst[0].msMedian)} ms** (median; CPU ${f1(worst[0].cpuMsMedian)} ms; ` +
        "slowest single run of any input " +
        `${f1(Math.max(...adv.map((a) => a.msMax)))} ms). ` +
        (slow.length === 0
          ? `No input over ${SLOW_MS} ms (wall and CPU time).`
          : `**${slow.length} input(s) over ${SLOW_MS} ms: ${slow
              .map((a) => `${a.name} (${f0(a.msMedian)} ms, mostly ${culprit(a)})`)
              .join("; ")}.**`),
      "",
      "| input | median ms | max ms | CPU ms | findings | slowest detector alone (ms) | next (ms) | scanner alone ms |",
      "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    );
    for (const a of adv) {
      const [first, second] = a.perDetector;
      const flag = isSlow(a) ? " **SLOW**" : "";
      lines.push(
        `| ${a.name.replaceAll("|", "\\|")}${a.asked ? "" : " ⁺"} | ${f1(a.msMedian)}${flag} | ${f1(a.msMax)} | ` +
          `${f1(a.cpuMsMedian)} | ` +
          `${f0(a.findings)} | ${first ? `${first.kind} (${f1(first.ms)})` : ""} | ` +
          `${second ? `${second.kind} (${f1(second.ms)})` : ""} | ${f1(a.scannerMs)} |`,
      );
    }
    lines.push(
      "",
      `⁺ not in the issue's list. CPU ms: this process's CPU time (median, all its threads: V8's ` +
        `background GC can put it above the wall time; a busy box inflates it less); **SLOW** when both the median and the CPU time exceed ${SLOW_MS} ms. "Detector alone": its find() on the input and on the decoded views the ` +
        `scanner builds of it; "scanner alone": the scanner with no detector (escape tests, building ` +
        "decoded views, merging); fastest of 3 runs each.",
      "",
    );
    for (const a of slow) {
      lines.push(
        `### Over ${SLOW_MS} ms: ${a.name}`,
        "",
        `${a.perDetector
          .filter((d) => d.ms >= 1)
          .map((d) => `${d.kind} ${f1(d.ms)} ms`)
          .join(", ")}; the scanner itself ${f1(a.scannerMs)} ms.`,
        "",
      );
    }
  }
  lines.push("See bench/README.md (Content detection) for how to read this.", "");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (Number(process.versions.node.split(".")[0]) < 24) {
    log(`Node ${process.versions.node}: run through npm (npm run bench:detect) so Node 24 is used`);
    process.exit(2);
  }
  const loadBefore = loadavg().map((x) => x.toFixed(2));
  const distStale = ensureBuilt(ROOT, { noBuild: opts["no-build"], log });
  const { scanText, decodedViews } = await import("../dist/src/classify/scan.js");
  viewsOf = decodedViews;
  const { DETECTORS } = await import("../dist/src/classify/detectors/detectors.js");
  const time = makeTimer(scanText);

  let corpus;
  let tp;
  if (opts.only !== "adversarial") {
    const built = buildCorpus(CORPUS_BYTES, SEED);
    corpus = { ...built, bytes: Buffer.byteLength(built.text) };
    log(`corpus: ${f1(corpus.bytes / 1e6)} MB (${JSON.stringify(corpus.planted)} planted)`);
    const run = await withOtherLoad(() => throughput(time, DETECTORS, corpus));
    tp = { ...run.result, wallS: run.wallS, otherCores: run.otherCores };
    tp.perCall = perCall(scanText, DETECTORS, PROMPTS.prose);
  }
  let adv;
  let advLoad;
  if (opts.only !== "throughput") {
    const run = await withOtherLoad(() => adversarial(time, DETECTORS, adversarialInputs(SEED)));
    adv = run.result;
    advLoad = { wallS: run.wallS, otherCores: run.otherCores };
  }

  const now = new Date();
  const git = process.env.BENCH_GIT ?? sourceRevision(ROOT);
  const meta = {
    date: now.toISOString().slice(0, 10),
    timestamp: now.toISOString(),
    command: [
      "npm run bench:detect",
      ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
    ].join(" "),
    reps: REPS,
    warmup: WARMUP,
    adversarialReps: ADV_REPS,
    seed: SEED,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "?",
    loadavg: loadBefore,
    loadavgAfter: loadavg().map((x) => x.toFixed(2)),
    node: process.versions.node,
    git,
    distStale,
    gcBetweenPasses: typeof globalThis.gc === "function",
    otherCores: { throughput: tp?.otherCores, adversarial: advLoad?.otherCores },
    detectors: DETECTORS.map((d) => ({ kind: d.kind, group: d.group })),
  };
  const corpusSummary = corpus && {
    bytes: corpus.bytes,
    bytesByKind: corpus.bytesByKind,
    planted: corpus.planted,
  };
  const md = markdown(meta, corpusSummary, tp, adv);
  process.stdout.write(`\n${md}\n`);

  if (!opts["no-write"] && !opts.only) {
    writeResults(`${meta.date}-detect`, md, {
      meta,
      corpus: corpusSummary,
      throughput: tp,
      adversarial: adv,
    });
  }
}

runMain(main);
