import { describe, expect, it } from "vitest";
import type { Detector } from "../../../src/classify/detectors/detector.js";
import { SECRET_DETECTORS } from "../../../src/classify/detectors/secrets.js";
import { ALNUM, BASE64, fakes, HEX } from "./fakes.js";

/**
 * Every secret detector on 1 MB inputs built to make a careless pattern backtrack or rescan:
 * walls of one character class, prefixes repeated with nothing valid after them, context words
 * everywhere. The suite asserts what each returns; that each returns at all, in well under a
 * second, is what it is for (no timing is asserted: timings depend on the machine).
 */
const MB = 1 << 20;
const fake = fakes(97);

const wall = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const randomWall = (alphabet: string) => fake.pick(alphabet, MB);

const ADVERSARIAL: Record<string, string> = {
  "a base64 wall": randomWall(BASE64),
  "a base64 wall after aws_secret_access_key=": `aws_secret_access_key=${randomWall(BASE64)}`,
  "a base64 wall after token=": `token=${randomWall(BASE64)}`,
  "a base64 wall after a PEM BEGIN line": `-----BEGIN PRIVATE KEY-----\n${randomWall(BASE64)}`,
  "eyJ repeated": wall("eyJ"),
  "eyJ. repeated": wall("eyJ."),
  "eyJ.eyJ. repeated": wall("eyJ.eyJ."),
  "a real JWT header repeated with dots": wall(`${Buffer.from('{"alg":"HS256"}').toString("base64url")}.`),
  "-----BEGIN repeated": wall("-----BEGIN"),
  "PEM BEGIN lines repeated": wall("-----BEGIN RSA PRIVATE KEY-----\n"),
  dashes: wall("-"),
  "AKIA repeated": wall("AKIA"),
  "AKIA and 15 base32 characters repeated": wall("AKIAABCDEFGHIJKLMNO "),
  "sk- repeated": wall("sk-"),
  "sk-proj- repeated": wall("sk-proj-"),
  "sk-ant-api03- repeated": wall("sk-ant-api03-"),
  "ghp_ and underscores": wall("ghp__"),
  "glpat- repeated": wall("glpat-"),
  "GR1348941 repeated": wall("GR1348941"),
  "xoxb- and digits": wall("xoxb-1234-"),
  "Slack webhook prefixes repeated": wall("hooks.slack.com/services/T0/"),
  "sk_live_ repeated": wall("sk_live_"),
  "password= repeated": wall("password="),
  "password: repeated": wall("password: "),
  "password= and a quote repeated": wall('password="'),
  "--password and a space repeated": wall("--password "),
  "<password> repeated": wall("<password>"),
  "Password=x; repeated": wall("Password=x;"),
  "Server=a;Password=b; repeated": wall("Server=a;Password=b;"),
  "://:@ repeated": wall("://:@"),
  "a:// repeated": wall("a://"),
  "a URI scheme and userinfo repeated": wall("a://u:pw@"),
  "a long hex run": randomWall(HEX),
  "a wall of digits": randomWall("0123456789"),
  "one 1 MB token": randomWall(ALNUM),
  "secret repeated": wall("secret "),
  "aws_secret_access_key repeated": wall("aws_secret_access_key "),
  "token and a 20-character token repeated": wall(`token ${fake.token(20)} `),
  "backslash escapes repeated": wall("\\n"),
  spaces: wall(" "),
};

/** What each detector returns on each input, where it is not nothing. */
const EXPECTED: Record<string, Record<string, number>> = {
  // One key cut off before its END line, flagged up to the 64 KB a block may run.
  "a base64 wall after a PEM BEGIN line": { private_key: 1 },
  // `password="password="…`: every other key has the quoted value `password=`.
  "password= and a quote repeated": { password: 52428 },
  // `a://u:pw@a://u:pw@…` with no delimiter: URIs of the 2 KB a URI may run.
  "a URI scheme and userinfo repeated": { connection_string: 509 },
  // Every token follows the word `token`: each is one (the last is cut short by the 1 MB).
  "token and a 20-character token repeated": { generic_secret: 38836 },
};

const count = (detector: Detector, text: string) => detector.find(text).length;

describe("the secret detectors on 1 MB adversarial inputs", () => {
  for (const [name, text] of Object.entries(ADVERSARIAL))
    it(`return on ${name}`, () => {
      const counts = Object.fromEntries(
        SECRET_DETECTORS.map((detector) => [detector.kind, count(detector, text)]).filter(([, n]) => n !== 0),
      );
      expect(counts).toEqual(EXPECTED[name] ?? {});
    });
});
