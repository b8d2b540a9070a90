import { describe, expect, it, vi } from "vitest";
import type { RedactedValue } from "../../src/core/call.js";
import { createOutputFilter, type OutputFilter } from "../../src/execute/output-filter.js";

// The filter's masking mechanics (holding back, context, counting) run here over two stand-in
// secret detectors; output-filter-masking.test.ts runs the same cases over the real ones.
vi.mock("../../src/classify/detectors/detectors.js", async () => ({
  DETECTORS: (await import("../helpers/stand-in-detectors.js")).STAND_IN_DETECTORS,
}));

const email = (value: string): RedactedValue => ({ value, kind: "email", group: "pii" });

const VAULT = new Map<string, RedactedValue>([
  ["<EMAIL_1>", email("ann@example.com")],
  ["<EMAIL_2>", email('bob "the builder"\n@example.com')],
  ["<EMAIL_#3f9a2c1b>", email("hashed@example.com")],
]);

/** Everything the caller sees of the answer's text, fed in `deltas`, then the end. */
function textThrough(filter: OutputFilter, deltas: readonly string[]): string {
  return deltas.map((delta) => filter.text(delta)).join("") + filter.end().text;
}

/** `text` cut at `at`. */
const splitAt = (text: string, at: number) => [text.slice(0, at), text.slice(at)];

describe("createOutputFilter", () => {
  describe("restoring tokens", () => {
    it("puts a token back wherever it is split across two deltas", () => {
      const answer = "Sure, I wrote to <EMAIL_1> and <EMAIL_#3f9a2c1b> today.";
      for (let at = 0; at <= answer.length; at++)
        expect(textThrough(createOutputFilter(VAULT), splitAt(answer, at)), `split at ${at}`).toBe(
          "Sure, I wrote to ann@example.com and hashed@example.com today.",
        );
    });

    it("puts a token back when it arrives one character at a time", () => {
      const answer = "Mail <EMAIL_1>, ok";
      expect(textThrough(createOutputFilter(VAULT), [...answer])).toBe("Mail ann@example.com, ok");
    });

    it("leaves a token the vault does not hold, and text that only looks like one, as written", () => {
      const answer = "<EMAIL_9> <PHONE_1> <EMAIL_> a < b <b>bold</b> <EMAIL_1";
      for (let at = 0; at <= answer.length; at++)
        expect(textThrough(createOutputFilter(VAULT), splitAt(answer, at)), `split at ${at}`).toBe(answer);
    });

    it("restores nothing without a vault", () => {
      expect(textThrough(createOutputFilter(undefined), ["to <EMAIL_1> now"])).toBe("to <EMAIL_1> now");
      expect(textThrough(createOutputFilter(new Map()), ["to <EMAIL_1> now"])).toBe("to <EMAIL_1> now");
    });

    it("writes the value as it is into the text, quotes and newlines included", () => {
      expect(textThrough(createOutputFilter(VAULT), ["to <EMAIL_2>."])).toBe(
        'to bob "the builder"\n@example.com.',
      );
    });

    it("JSON-escapes the value in tool-call arguments, so they still parse, wherever they are split", () => {
      const args = '{"to":"<EMAIL_2>","cc":["<EMAIL_1>"]}';
      for (let at = 0; at <= args.length; at++) {
        const filter = createOutputFilter(VAULT);
        const [first, second] = splitAt(args, at);
        const out =
          filter.toolArguments(0, first as string) +
          filter.toolArguments(0, second as string) +
          (filter.end().toolArguments.get(0) ?? "");
        expect(JSON.parse(out), `split at ${at}`).toEqual({
          to: 'bob "the builder"\n@example.com',
          cc: ["ann@example.com"],
        });
      }
    });

    it("keeps each tool call's arguments a channel of its own", () => {
      const filter = createOutputFilter(VAULT);
      const out = new Map<number, string>([
        [0, ""],
        [1, ""],
      ]);
      const push = (index: number, delta: string) =>
        out.set(index, (out.get(index) ?? "") + filter.toolArguments(index, delta));
      push(0, '{"to":"<EMA');
      push(1, '{"to":"IL_1>"}');
      push(0, 'IL_1>"}');
      push(1, "");
      for (const [index, rest] of filter.end().toolArguments) out.set(index, (out.get(index) ?? "") + rest);
      expect(out.get(0)).toBe('{"to":"ann@example.com"}');
      // "IL_1>" in call 1 never met the "<EMA" of call 0.
      expect(out.get(1)).toBe('{"to":"IL_1>"}');
    });

    it("keeps the text apart from the tool calls", () => {
      const filter = createOutputFilter(VAULT);
      const text = filter.text("Sending to <EMA");
      const args = filter.toolArguments(0, 'IL_1>"}');
      const rest = filter.end();
      expect(text + rest.text).toBe("Sending to <EMA");
      expect(args + (rest.toolArguments.get(0) ?? "")).toBe('IL_1>"}');
    });
  });

  describe("holding back", () => {
    it("releases plain prose words at once", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("Hello")).toBe("Hello");
      expect(filter.text(" wor")).toBe(" wor");
      expect(filter.text("ld, this is")).toBe("ld, this is");
      expect(filter.text(" Fine")).toBe(" Fine");
      expect(filter.end().text).toBe("");
    });

    it("releases prose sent one character at a time, each at once", () => {
      const filter = createOutputFilter(undefined);
      for (const character of "Hello there General Kenobi") expect(filter.text(character)).toBe(character);
    });

    it("holds a word whose letters arrive one by one once it stops looking plain", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("an i")).toBe("an i");
      expect(filter.text("P")).toBe("");
      expect(filter.text("hone")).toBe("");
      expect(filter.text(" case")).toBe("Phone case");
    });

    it("holds a word with a digit until the next whitespace", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("the code abc1")).toBe("the code ");
      expect(filter.text("23")).toBe("");
      expect(filter.text(" is")).toBe("abc123 is");
    });

    it("holds a word with an inner capital or punctuation until the next whitespace", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("call getUser")).toBe("call ");
      expect(filter.text("Name\tthen x.y")).toBe("getUserName\tthen ");
      expect(filter.text("\n")).toBe("x.y\n");
    });

    it("holds the word after secret-like wording (`token: `), even a plain one", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("the token: ")).toBe("the token: ");
      expect(filter.text("swordfish")).toBe("");
      expect(filter.text(" ok")).toBe("swordfish ok");
    });

    it("releases what it holds at the end", () => {
      const filter = createOutputFilter(VAULT);
      expect(filter.text("see x9")).toBe("see ");
      expect(filter.toolArguments(2, '{"n":"a1')).toBe('{"n":"');
      expect(filter.toolArguments(3, "<EMAIL_1>")).toBe("");
      const rest = filter.end();
      expect(rest.text).toBe("x9");
      expect(rest.toolArguments).toEqual(
        new Map([
          [2, "a1"],
          [3, "ann@example.com"],
        ]),
      );
    });

    it("ends a word at JSON punctuation in tool-call arguments", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.toolArguments(0, '{"id":"a1b2","n":')).toBe('{"id":"a1b2","n":');
      expect(filter.toolArguments(0, "42")).toBe("");
      expect(filter.toolArguments(0, "}")).toBe("42}");
    });

    it("holds a -----BEGIN block until its -----END line", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("Here it is:\n-----BEGIN PRIVATE KEY-----\n")).toBe("Here it is:\n");
      expect(filter.text("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nsecond line of it\n")).toBe("");
      expect(filter.text("-----END PRIVATE KEY-----\nDone")).toBe(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nsecond line of it\n-----END PRIVATE KEY-----\nDone",
      );
    });

    it("releases a pathologically long unfinished word once it passes the cap", () => {
      const filter = createOutputFilter(undefined);
      const chunk = "a1".repeat(512);
      let released = "";
      let pushed = 0;
      while (released === "" && pushed < 64) {
        released += filter.text(chunk);
        pushed++;
      }
      expect(released).toBe(chunk.repeat(pushed));
      expect(released.length).toBeGreaterThan(16 * 1024);
      expect(released.length).toBeLessThanOrEqual(16 * 1024 + chunk.length);
    });

    it("releases a -----BEGIN block that never ends once it passes the cap", () => {
      const filter = createOutputFilter(undefined);
      expect(filter.text("-----BEGIN X-----\n")).toBe("");
      let released = "";
      for (let line = 0; line < 400 && released === ""; line++)
        released += filter.text(`${"A".repeat(63)}\n`);
      expect(released.startsWith("-----BEGIN X-----\n")).toBe(true);
    });
  });

  it("without increments (Route) releases nothing until the end, then the whole answer masked and restored", () => {
    const filter = createOutputFilter(VAULT, { incremental: false });
    const pieces = ["Mail <EMA", "IL_1> now; the key is AKIAIOSF", "ODNN7EXAMPLE. Done"];
    expect(pieces.map((piece) => filter.text(piece))).toEqual(["", "", ""]);
    expect(filter.end().text).toBe("Mail ann@example.com now; the key is [REDACTED:aws_access_key_id]. Done");
    expect(filter.masked).toEqual(new Map([["aws_access_key_id", 1]]));
  });

  it("counts nothing masked when the answer has no secret", () => {
    const filter = createOutputFilter(VAULT);
    textThrough(filter, ["A plain answer, <EMAIL_1> included."]);
    expect(filter.masked.size).toBe(0);
  });

  describe("masking (stand-in detectors)", () => {
    const KEY_ID = "AKIAIOSFODNN7EXAMPLE";

    it("never lets a key out whole, wherever it is split, and counts it once", () => {
      const answer = `Use ${KEY_ID} for the bucket.`;
      for (let at = 0; at <= answer.length; at++) {
        const filter = createOutputFilter(VAULT);
        const out = textThrough(filter, splitAt(answer, at));
        expect(out, `split at ${at}`).not.toContain(KEY_ID);
        expect(out, `split at ${at}`).toContain("[REDACTED:aws_access_key_id] for the bucket.");
        expect(filter.masked.get("aws_access_key_id"), `split at ${at}`).toBe(1);
      }
    });

    it("lets no part of a key out when it arrives one character at a time", () => {
      const filter = createOutputFilter(undefined);
      expect(textThrough(filter, [...`key=${KEY_ID} ok`])).toBe("key=[REDACTED:aws_access_key_id] ok");
      expect(filter.masked.get("aws_access_key_id")).toBe(1);
    });

    it("lets at most a key's first letter out when it starts a delta of its own, one character at a time", () => {
      const filter = createOutputFilter(undefined);
      expect(textThrough(filter, ["id ", ...KEY_ID, " ok"])).toBe("id A[REDACTED:aws_access_key_id] ok");
    });

    it("masks a key in tool-call arguments wherever it is split, keeping the JSON valid", () => {
      const args = `{"key":"${KEY_ID}","region":"eu-west-1"}`;
      for (let at = 0; at <= args.length; at++) {
        const filter = createOutputFilter(undefined);
        const [first, second] = splitAt(args, at);
        const out =
          filter.toolArguments(0, first as string) +
          filter.toolArguments(0, second as string) +
          (filter.end().toolArguments.get(0) ?? "");
        expect(JSON.parse(out), `split at ${at}`).toEqual({
          key: "[REDACTED:aws_access_key_id]",
          region: "eu-west-1",
        });
      }
    });

    it("masks the value after `password=` when it comes in the next delta", () => {
      const filter = createOutputFilter(undefined);
      const out = textThrough(filter, ["The db password=", "hunter2 and then", " some more"]);
      expect(out).toBe("The db password=[REDACTED:password] and then some more");
      expect(filter.masked.get("password")).toBe(1);
    });

    it("masks a plain-word password after `password: ` in the next delta", () => {
      const filter = createOutputFilter(undefined);
      const out = textThrough(filter, ["my password: ", "swordfish", " is weak"]);
      expect(out).toBe("my password: [REDACTED:password] is weak");
    });

    it("masks before restoring: a restored value is the caller's own and is not masked", () => {
      const vault = new Map([
        ["<PASSWORD_1>", { value: "hunter2", kind: "password", group: "secret" as const }],
      ]);
      const filter = createOutputFilter(vault);
      expect(textThrough(filter, ["Your ", "<PASSWORD_1>", " works"])).toBe("Your hunter2 works");
      expect(filter.masked.size).toBe(0);
    });

    it("counts every secret masked, by kind", () => {
      const filter = createOutputFilter(undefined);
      textThrough(filter, [`${KEY_ID} and `, "AKIAABCDEFGHIJKLMNOP", " password=x1"]);
      expect(new Map(filter.masked)).toEqual(
        new Map([
          ["aws_access_key_id", 2],
          ["password", 1],
        ]),
      );
    });
  });
});
