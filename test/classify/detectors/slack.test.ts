import { describe, expect, it } from "vitest";
import { slackToken } from "../../../src/classify/detectors/slack.js";
import { fakes, found, values } from "./fakes.js";

const fake = fakes(31);

describe("slackToken", () => {
  it("finds bot and user tokens, with score 1", () => {
    const bot = fake.slackBot();
    const user = fake.slackUser();
    expect(found(slackToken, `SLACK_BOT_TOKEN=${bot}\nSLACK_USER_TOKEN=${user}`)).toEqual([
      { value: bot, score: 1 },
      { value: user, score: 1 },
    ]);
  });

  it("finds app, refresh and rotating tokens", () => {
    const tokens = [
      `xoxa-2-${fake.pick("0123456789", 12)}-${fake.token(40)}`,
      `xoxe-1-${fake.token(60)}`,
      `xoxe.xoxp-1-${fake.token(120)}`,
      `xoxr-${fake.pick("0123456789", 10)}-${fake.token(30)}`,
      `xapp-1-A${fake.pick("ABCDEFGHJK0123", 10)}-${fake.pick("0123456789", 13)}-${fake.hex(64)}`,
    ];
    expect(values(slackToken, tokens.join(" "))).toEqual(tokens);
  });

  it("finds incoming webhook URLs with their scheme", () => {
    const hook = fake.slackWebhook();
    const text = `curl -X POST -d '{"text":"deployed"}' ${hook}`;
    expect(found(slackToken, text)).toEqual([{ value: hook, score: 1 }]);
  });

  it("finds workflow webhooks, and webhooks written without a scheme", () => {
    const workflow = `https://hooks.slack.com/workflows/T${fake.pick("ABCDEFGHJK0123", 10)}/A${fake.pick(
      "ABCDEFGHJK0123",
      10,
    )}/${fake.pick("0123456789", 18)}/${fake.token(32)}`;
    const bare = fake.slackWebhook().slice("https://".length);
    expect(values(slackToken, `${workflow}\n${bare}`)).toEqual([workflow, bare]);
  });

  it("does not flag placeholders, short tokens, or webhook paths without the secret", () => {
    const text = [
      "xoxb-your-bot-token-here-please",
      "xoxb-000000000000-0000000000000-XXXXXXXXXXXXXXXXXXXXXXXX",
      "xoxb-1234",
      "https://hooks.slack.com/services/T00000000/B00000000",
      "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
      "https://hooks.slack.com/",
    ].join("\n");
    expect(slackToken.find(text)).toEqual([]);
  });
});
