// The user message of every benchmark request (bench/run.mjs --prompt NAME). Fixed text, so runs
// on different days send the same bytes.
//
//   hello  the default: five bytes, so the benchmark measures the gateway, not the content
//   prose  ~2 KB of a realistic request, with one e-mail address and one phone number in it (both
//          fictional: example.com, and the 555-01xx range reserved for fiction), placed past the
//          first 200 characters that the mock provider quotes back in its reply. What content
//          detection costs a Route call shows against a build without it (--baseline).

const PROSE = [
  "I'm putting together the quarterly operations update for our logistics team and would like your",
  "help turning my rough notes into something the steering committee can read in five minutes. The",
  "audience is mostly regional managers, so keep it plain, avoid jargon, and lead with what changed",
  "since the last update rather than with background they already know.",
  "",
  "Here are the notes. Warehouse throughput in the northern region went up about eleven percent after",
  "we moved the returns desk next to the loading bays, but the southern region is still struggling",
  "with late inbound trucks on Mondays and Tuesdays. We trialled a new slotting plan for the two",
  "busiest days and it cut the average dwell time from ninety minutes to a little over an hour, which",
  "is good, although the night shift says the plan makes picking slower for bulky items. The carrier",
  "contract renewal is due at the end of next month; procurement wants a recommendation by the",
  "twentieth. Customer complaints about damaged parcels fell for the third quarter in a row, mostly",
  "thanks to the new packaging guidelines, and the pilot with reusable crates is ready to expand to",
  "two more sites if the budget allows.",
  "",
  "Please also add a short section on open risks: the forklift fleet is ageing and two units failed",
  "inspection, overtime costs are above plan in the south, and we still have no backup for the",
  "routing software administrator, who is on leave for most of the next quarter. If there is room,",
  "mention that the safety audit found no major issues this time.",
  "",
  "For questions about the figures, people should contact Maria Keller, our operations analyst, at",
  "maria.keller@example.com or on (415) 555-0142 during office hours. Do not include the detailed",
  "tables; a sentence per region is enough, and a closing paragraph with the three decisions we need",
  "from the committee: the carrier contract, the crate rollout and the forklift replacements. Aim for",
  "about four hundred words, use headings, and end with a list of the decisions and their deadlines.",
].join("\n");

export const PROMPTS = { hello: "hello", prose: PROSE };
