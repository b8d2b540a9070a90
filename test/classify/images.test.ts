import { describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import { InvalidRequestError } from "../../src/core/errors.js";
import type { ChatMessage } from "../../src/core/types.js";
import { redact } from "../../src/guard/redact.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const policy = (detect: string) =>
  parsePolicy(
    `
providers:
  local: { kind: mock, hosted: false }
${detect}
routes:
  - name: r
    primary: { provider: local, model: m }
`,
    { source: "images.yaml", env: {} },
  );

const WITH_IMAGE: ChatMessage[] = [
  { role: "user", content: "what is in this?", images: [{ url: "data:image/png;base64,iVBORw0KGgo=" }] },
];

describe("images", () => {
  it("are an image finding each (detection cannot read them), which detect rules act on", () => {
    const raising = policy("detect:\n  image: { action: raise, to: pii }");
    const identified = identify(request({ messages: WITH_IMAGE, dataClass: "public" }), raising);
    const classification = classify(identified, raising);
    expect(classification.entities).toContainEqual(
      expect.objectContaining({ kind: "image", group: "pii", message: 0, field: "images[0]" }),
    );
    expect(classification.dataClass).toBe("pii");
    expect(classification.dataClassReason).toBe("raised from public to pii by detect.image: image found");
  });

  it("follow the personal-data group's rule when they have none of their own", () => {
    const viaGroup = policy("detect:\n  pii: { action: raise, to: pii }");
    const identified = identify(request({ messages: WITH_IMAGE, dataClass: "public" }), viaGroup);
    expect(classify(identified, viaGroup).dataClass).toBe("pii");
  });

  it("are left out of what a hosted target sees when the policy redacts them, and counted", () => {
    const redacted = redact(
      { messages: WITH_IMAGE, tools: [], stop: [] },
      [
        {
          entity: { kind: "image", group: "pii", message: 0, field: "images[0]", start: 0, end: 0, score: 1 },
          form: "placeholder",
        },
      ],
      undefined,
    );
    // The model is told an image was there (and a message that was only an image is not empty).
    expect(redacted?.messages[0]).toMatchObject({
      content: "what is in this?\n[image withheld by policy]",
      images: [],
    });
    expect(redacted?.count).toBe(1);
  });

  it("scan an image's http URL like any text (a signed URL can carry a key)", () => {
    const blocking = policy("");
    const identified = identify(
      request({
        messages: [
          {
            role: "user",
            content: "look",
            images: [{ url: "https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE" }],
          },
        ],
      }),
      blocking,
    );
    expect(classify(identified, blocking).entities).toContainEqual(
      expect.objectContaining({ kind: "aws_access_key_id", field: "images[0].url" }),
    );
  });

  it("come only in user messages, as https URLs of public hosts or inline data URLs of the image types providers take", () => {
    const any = policy("");
    const refused = (messages: ChatMessage[]) => {
      try {
        identify(request({ messages }), any);
      } catch (error) {
        if (error instanceof InvalidRequestError) return error.message;
        throw error;
      }
      return "accepted";
    };
    expect(refused([{ role: "user", content: "", images: [{ url: "https://example.com/a.jpg" }] }])).toBe(
      "accepted",
    );
    const refusal =
      "messages[0].images[0].url: must be an https URL of a public host or a data:image/png|jpeg|gif|webp;base64 URL";
    for (const url of [
      "data:image/svg+xml;base64,PHN2Zz4=",
      "data:image/png;base64,",
      "data:image/png;base64,abc",
      "http://example.com/a.png",
      "https://169.254.169.254/latest/meta-data",
      "https://127.0.0.1/a.png",
      "https://[::1]/a.png",
      "https://localhost/a.png",
      "https://metadata.internal/a.png",
      "https://intranet/a.png",
      "https://user:pass@example.com/a.png",
    ])
      expect(refused([{ role: "user", content: "x", images: [{ url }] }]), url).toBe(refusal);
    expect(
      refused([
        { role: "system", content: "x", images: [{ url: "https://example.com/a.jpg" }] },
        { role: "user", content: "hi" },
      ]),
    ).toBe("messages[0].images: only messages with role ROLE_USER carry images");
  });
});
