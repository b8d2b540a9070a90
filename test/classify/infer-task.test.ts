import { describe, expect, it } from "vitest";
import { classify } from "../../src/classify/classify.js";
import { inferTask } from "../../src/classify/infer-task.js";
import { parsePolicy } from "../../src/config/load-policy.js";
import type { ChatMessage } from "../../src/core/types.js";
import { identify } from "../../src/identify/identify.js";
import { request } from "../helpers/pipeline.js";

const user = (content: string): ChatMessage => ({ role: "user", content });
const system = (content: string): ChatMessage => ({ role: "system", content });
const task = (...messages: ChatMessage[]) => inferTask(messages);

describe("inferTask", () => {
  it("reads a code block or a programming ask as code", () => {
    expect(task(user("What does this do?\n```js\nconst x = 1;\n```"))).toBe("code");
    expect(task(user("Please write a function that reverses a list"))).toBe("code");
    expect(task(user("Fix the bug in my parser"))).toBe("code");
    expect(task(user("I get this stack trace when I start the app"))).toBe("code");
  });

  it("reads summarize, TL;DR and the like as summarize", () => {
    expect(task(user("Summarize this article for me: ..."))).toBe("summarize");
    expect(task(user("Please summarise the meeting notes"))).toBe("summarize");
    expect(task(user("TL;DR: what did the report say?"))).toBe("summarize");
    expect(task(user("tldr of the thread please"))).toBe("summarize");
    expect(task(user("What are the key takeaways?"))).toBe("summarize");
  });

  it("reads extraction or schema wording as extract", () => {
    expect(task(user("Extract the names and dates as JSON"))).toBe("extract");
    expect(task(user("Pull out every invoice number from this email"))).toBe("extract");
    expect(task(user("Return JSON with fields name and age for: John, 42"))).toBe("extract");
  });

  it("reads a short question asking for a label as classify", () => {
    expect(task(user("Is this review positive or negative? 'Great phone, awful battery.'"))).toBe("classify");
    expect(task(user("Classify this ticket: my order never arrived"))).toBe("classify");
    expect(task(user("What is the sentiment of: I love it"))).toBe("classify");
  });

  it("reads a long text that mentions sentiment as chat", () => {
    const long = `I have been thinking about public sentiment lately. ${"It is a long story. ".repeat(40)}What do you think?`;
    expect(long.length).toBeGreaterThan(600);
    expect(task(user(long))).toBe("chat");
  });

  it("reads plain conversation as chat", () => {
    expect(task(user("Hi! How are you today?"))).toBe("chat");
    expect(task(user("Tell me about the history of Rome"))).toBe("chat");
    expect(task()).toBe("chat");
  });

  it("takes the ask from the system prompt and the last user message", () => {
    expect(task(system("You summarize documents."), user("Here is the document: ..."))).toBe("summarize");
    expect(
      task(user("Summarize this"), { role: "assistant", content: "Done." }, user("Thanks, and hello")),
    ).toBe("chat");
  });

  it("prefers code to extract to summarize to classify when several apply", () => {
    expect(task(user("Summarize this function:\n```py\ndef f(): pass\n```"))).toBe("code");
    expect(task(user("Summarize the invoice and extract the total as JSON"))).toBe("extract");
    expect(task(user("Summarize the reviews; is the sentiment positive?"))).toBe("summarize");
  });

  it("reads only the first 2000 characters of each", () => {
    const padding = "Lorem ipsum dolor sit amet. ".repeat(80);
    expect(padding.length).toBeGreaterThan(2000);
    expect(task(user(`${padding} Please summarize.`))).toBe("chat");
    expect(task(user(`Please summarize. ${padding}`))).toBe("summarize");
    expect(task(system(`${padding} Summarize.`), user("hello"))).toBe("chat");
  });

  it("is whole-word: summary-like words inside other words do not count", () => {
    expect(task(user("The summaryless page loaded"))).toBe("chat");
    expect(task(user("I saw extractors at the dentist"))).toBe("chat");
  });
});

describe("classify's task", () => {
  const policyWith = (defaults: string) =>
    parsePolicy(
      `
defaults: { ${defaults} }
providers:
  local: { kind: mock, hosted: false }
routes:
  - name: default
    primary: { provider: local, model: m }
`,
      { source: "infer-task.test.yaml", env: {} },
    );
  const taskOf = (policy: ReturnType<typeof policyWith>, overrides: { task?: string; content: string }) => {
    const identified = identify(
      request({ messages: [user(overrides.content)], ...(overrides.task && { task: overrides.task }) }),
      policy,
    );
    const classification = classify(identified, policy);
    return { task: classification.task, inferred: classification.taskInferred };
  };

  it("infers the task when none is declared", () => {
    expect(taskOf(policyWith("task: chat"), { content: "Summarize this" })).toEqual({
      task: "summarize",
      inferred: true,
    });
  });

  it("never overrides a declared task", () => {
    expect(taskOf(policyWith("task: chat"), { task: "draft", content: "Summarize this ```code```" })).toEqual(
      {
        task: "draft",
        inferred: false,
      },
    );
  });

  it("uses the policy's default task when inference is off", () => {
    expect(taskOf(policyWith("task: assist, infer_task: false"), { content: "Summarize this" })).toEqual({
      task: "assist",
      inferred: false,
    });
  });
});
