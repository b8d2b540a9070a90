import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ms } from "../../console/src/format.js";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { eventually } from "../helpers/async.js";
import { PROJECT_ROOT } from "../helpers/build.js";
import { always, type Chaos, startChaos } from "../helpers/chaos.js";
import { chromiumPath, launchChromium } from "../helpers/chromium.js";
import { createTransports, userRequest } from "../helpers/rpc.js";
import { MINIMAL_POLICY, startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

/**
 * The operator console (console/, served by the operator listener under /console/) driven in
 * Debian's headless chromium against a real server with fake providers. Each page is
 * photographed at two widths into test-output/console/ (gitignored) for a reviewer.
 */
const SHOTS = join(PROJECT_ROOT, "test-output", "console");
const WIDTHS = [
  { name: "wide", width: 1280, height: 800 },
  { name: "narrow", width: 390, height: 844 },
] as const;
const TOKEN = "console-test-operator-token";
const CHAT = userRequest("hello", { task: "chat" });

async function photograph(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  for (const { name: width, ...size } of WIDTHS) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDTHS[0]);
}

const available = chromiumPath() !== undefined;

describe.skipIf(!available)("the operator console, with an operator token", () => {
  let browser: Browser;
  let chaos: Chaos<"primary" | "fallback">;
  let context: BrowserContext;
  let page: Page;
  let consoleUrl: string;

  beforeAll(async () => {
    [browser, chaos] = await Promise.all([
      launchChromium(),
      startChaos(
        ["primary", "fallback"],
        (providers) => `
${providers}
routes:
  - name: chat
    match: { task: chat }
    primary: { provider: primary, model: m1 }
    fallback:
      - { provider: fallback, model: m2 }
    retry: { max_attempts: 1 }
`,
        { switchyard: { operatorToken: TOKEN } },
      ),
    ]);
    consoleUrl = `${chaos.switchyard.operatorUrl}/console/`;
    context = await browser.newContext({ viewport: WIDTHS[0] });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await chaos?.stop();
  });

  it("refuses access without the operator credential, says so, and works with it", async () => {
    const response = await page.goto(consoleUrl);
    expect(response?.status()).toBe(200);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expect(page.getByRole("alert").first().textContent()).resolves.toContain(
      "The operator token is required",
    );
    expect(await page.getByRole("navigation").count()).toBe(0);
    // What the page would get without the token: AdminService refuses the call itself.
    const refused = await page.evaluate(async () => {
      const answer = await fetch("/switchyard.v1.AdminService/ListTargets", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      return { status: answer.status, body: await answer.text() };
    });
    expect(refused.status).toBe(401);
    expect(refused.body).not.toContain("primary/m1");
    await photograph(page, "sign-in");

    await page.getByLabel("Operator token").fill("not-the-operator-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("The operator token was refused.").waitFor();

    await page.getByLabel("Operator token").fill(TOKEN);
    await page.getByLabel("Operator token").press("Enter");
    await page.getByRole("navigation", { name: "Pages" }).waitFor();
    await page.getByText("No decisions yet: send a Route").waitFor();
  });

  it("draws a call that failed over as a timeline with both attempts", async () => {
    always(chaos.fakes.primary, { type: "error", status: 503 });
    const answer = await chaos.router.route(CHAT);
    const callId = answer.decision?.callId ?? "";
    expect(answer.decision?.target).toBe("fallback/m2");

    await page.goto(`${consoleUrl}#/decisions`);
    const link = page.getByRole("link", { name: callId });
    await link.waitFor();
    await photograph(page, "decisions");
    await link.click();
    await page.getByRole("heading", { name: `Call ${callId}` }).waitFor();

    const attempts = page.locator(".timeline > li");
    await expect(attempts.count()).resolves.toBe(2);
    const [first, second] = [attempts.nth(0), attempts.nth(1)];
    await expect(first.getAttribute("data-target")).resolves.toBe("primary/m1");
    await expect(first.textContent()).resolves.toMatch(/failed.*overloaded/);
    await expect(second.getAttribute("data-target")).resolves.toBe("fallback/m2");
    await expect(second.textContent()).resolves.toContain("succeeded");
    // Each sent attempt is a bar on one time axis; the fallback's starts after the primary's.
    const [firstBar, secondBar] = await Promise.all([
      first.locator(".bar").boundingBox(),
      second.locator(".bar").boundingBox(),
    ]);
    expect(firstBar?.width).toBeGreaterThan(0);
    expect(secondBar?.x).toBeGreaterThanOrEqual((firstBar?.x ?? 0) + (firstBar?.width ?? 0) - 1);
    await expect(page.locator(".candidates").textContent()).resolves.toMatch(/primary\/m1.*fallback\/m2/);
    await expect(page.locator(".facts").textContent()).resolves.toContain("Served byfallback/m2");
    await photograph(page, "decision");
  });

  it("takes a target out of service after confirming: the next Route skips it and its decision says so", async () => {
    await page.goto(`${consoleUrl}#/targets`);
    const row = page.locator('tr[data-target="primary/m1"]');
    await row.getByRole("button", { name: "Take out of service" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel(/Reason/).fill("outage drill 7");
    await photograph(page, "targets-confirm");
    await dialog.getByRole("button", { name: "Take out of service" }).click();
    await row.getByText("out of service", { exact: true }).waitFor();
    await expect(row.textContent()).resolves.toContain("outage drill 7");
    await photograph(page, "targets");

    const sentBefore = chaos.fakes.primary.requests.length;
    const answer = await chaos.router.route(CHAT);
    expect(chaos.fakes.primary.requests.length).toBe(sentBefore);
    await page.goto(`${consoleUrl}#/decisions/${answer.decision?.callId}`);
    const skipped = page.locator('.timeline > li[data-target="primary/m1"]');
    await skipped.waitFor();
    await expect(skipped.textContent()).resolves.toMatch(/skipped.*not sent.*outage drill 7/);
    expect(await skipped.locator(".bar").count()).toBe(0);

    // And back, confirmed the same way.
    await page.goto(`${consoleUrl}#/targets`);
    await row.getByRole("button", { name: "Return to service" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Return to service" }).click();
    await row.getByText("available", { exact: true }).waitFor();
  });

  it("shows the latency percentiles of a target that answered, and a dash for one that never did", async () => {
    always(chaos.fakes.primary, { type: "error", status: 503 });
    for (let call = 0; call < 3; call++)
      expect((await chaos.router.route(CHAT)).decision?.target).toBe("fallback/m2");
    const { targets } = await chaos.admin.listTargets({}, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { firstToken, attempt } = targets.find((target) => target.target === "fallback/m2") ?? {};
    if (!firstToken || !attempt) throw new Error("ListTargets gives fallback/m2 no percentiles");

    await page.goto(`${consoleUrl}#/targets`);
    const answered = page.locator('tr[data-target="fallback/m2"]');
    const cell = (row: typeof answered, label: string) => row.locator(`td[data-label^="${label}"]`);
    await cell(answered, "First token").getByText(`${firstToken.samples} samples`).waitFor();
    await expect(cell(answered, "First token").textContent()).resolves.toBe(
      `${ms(firstToken.p50Ms)} / ${ms(firstToken.p95Ms)} / ${ms(firstToken.p99Ms)}${firstToken.samples} samples`,
    );
    await expect(cell(answered, "Whole attempt").textContent()).resolves.toBe(
      `${ms(attempt.p50Ms)} / ${ms(attempt.p95Ms)} / ${ms(attempt.p99Ms)}${attempt.samples} samples`,
    );
    const failing = page.locator('tr[data-target="primary/m1"]');
    await expect(cell(failing, "First token").textContent()).resolves.toBe("—");
    await expect(cell(failing, "Whole attempt").textContent()).resolves.toBe("—");
    await photograph(page, "targets-latency");
  });

  it("shows a refused reload on the Policy page, with its error", async () => {
    // A key the schema does not know, under the route: the file is refused, the policy stays.
    const policy = await readFile(chaos.switchyard.policyPath, "utf8");
    await writeFile(chaos.switchyard.policyPath, `${policy}\n    fallback_typo: []\n`);
    await eventually(
      () => chaos.switchyard.logs.some((line) => String(line.msg).startsWith("policy refused")),
      "the reload to be refused",
    );
    await page.goto(`${consoleUrl}#/policy`);
    const reload = page.locator(".reload");
    await reload.waitFor();
    await expect(reload.textContent()).resolves.toContain("refused");
    await expect(page.locator(".issues").textContent()).resolves.toContain("fallback_typo");
    await expect(page.getByRole("list").filter({ hasText: "chat" }).count()).resolves.toBeGreaterThan(0);
    // The policy declares neither: the built-in data classes and detect rules are in force.
    const internal = page.locator("table.data-classes tr", { hasText: "internal" });
    await expect(internal.locator("td").first().textContent()).resolves.toBe("no");
    const secret = page.locator("table.detection tr", { hasText: "secret" });
    await expect(secret.locator("td").allTextContents()).resolves.toEqual(["block", "built-in"]);
    await photograph(page, "policy");
  });
});

describe.skipIf(!available)("the operator console, on a listener without a token (loopback)", () => {
  let browser: Browser;
  let service: TestSwitchyard;
  beforeAll(async () => {
    [browser, service] = await Promise.all([launchChromium(), startTestSwitchyard(MINIMAL_POLICY)]);
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it("opens without a token, says what to do when empty, and works from the keyboard", async () => {
    const page = await browser.newPage({ viewport: WIDTHS[0] });
    await page.goto(`${service.operatorUrl}/console/`);
    await page.getByText("No decisions yet: send a Route").waitFor();
    await page.getByText("no operator token (loopback)").waitFor();
    await photograph(page, "decisions-empty");

    // Keyboard: Tab reaches the page links, Enter follows one.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await expect(page.evaluate<string>("document.activeElement?.textContent")).resolves.toBe("Decisions");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Targets" }).waitFor();
    await page.getByText("local/tiny").first().waitFor();
  });

  it("asks for the page's data beside the access check, not after it", async () => {
    const page = await browser.newPage({ viewport: WIDTHS[0] });
    let pageCallSent: () => void = () => {};
    const pageCall = new Promise<void>((resolve) => {
      pageCallSent = resolve;
    });
    page.on("request", (request) => {
      if (request.url().endsWith("/switchyard.v1.AdminService/ListTargets")) pageCallSent();
    });
    // The access check is let through only once the page's own call has gone out: were the two
    // sent one after the other, the page would never show its targets.
    await page.route("**/switchyard.v1.AdminService/GetPolicy", async (route) => {
      await pageCall;
      await route.continue();
    });
    await page.goto(`${service.operatorUrl}/console/#/targets`);
    await page.getByText("local/tiny").first().waitFor({ timeout: 10_000 });
    await page.getByRole("navigation", { name: "Pages" }).waitFor({ timeout: 10_000 });
    await page.close();
  });
});

describe.skipIf(!available)("the operator console's Spend page", () => {
  let browser: Browser;
  let service: TestSwitchyard;
  beforeAll(async () => {
    [browser, service] = await Promise.all([
      launchChromium(),
      // Priced high enough that a few calls are a visible share of the daily budget.
      startTestSwitchyard(`
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "one two three" }
    models:
      tiny: { input_usd_per_mtok: 20000, output_usd_per_mtok: 40000 }
routes:
  - name: default
    primary: { provider: local, model: tiny }
tenants:
  acme:
    budgets: { usd_per_day: 5 }
    per_user: { usd_per_day: 2 }
  globex: {}
`),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it("says what to do when no tenant has a budget", async () => {
    const empty = await startTestSwitchyard(MINIMAL_POLICY);
    try {
      const page = await browser.newPage({ viewport: WIDTHS[0] });
      await page.goto(`${empty.operatorUrl}/console/#/spend`);
      await page.getByText("No tenants with budgets or limits: declare tenants.<name>.budgets").waitFor();
      await photograph(page, "spend-empty");
    } finally {
      await empty.stop();
    }
  });

  it("shows a tenant's usage as bars against its budget line, and its calls' cost over time", async () => {
    const transports = createTransports(service.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    // Three calls by ann, one by bo: the tenant's spend is all four, ann's her three.
    let cost = 0;
    let annCost = 0;
    try {
      for (const user of ["ann", "bo", "ann", "ann"]) {
        const { decision } = await router.route({
          ...userRequest("hello"),
          tenant: "acme",
          user,
          params: { maxTokens: 16 },
        });
        cost += decision?.costUsd ?? 0;
        if (user === "ann") annCost += decision?.costUsd ?? 0;
      }
    } finally {
      transports.close();
    }
    expect(annCost).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: WIDTHS[0] });
    await page.goto(`${service.operatorUrl}/console/`);
    await page.getByRole("link", { name: "Spend" }).click();
    await page.getByRole("heading", { name: "Spend" }).waitFor();
    // Only the tenant with a budget is offered, and picked.
    await expect(page.getByLabel("Tenant").locator("option").allTextContents()).resolves.toEqual(["acme"]);

    const daily = page.locator('.usage[data-limit="tenants.acme.budgets.usd_per_day"]');
    await daily.waitFor();
    const [fill, line, meter] = await Promise.all([
      daily.locator(".meter-fill").boundingBox(),
      daily.locator(".budget-line").boundingBox(),
      daily.locator(".meter").boundingBox(),
    ]);
    // The bar is the share of $5 used; the budget line is at the end of the scale.
    expect(fill?.width).toBeGreaterThan(0);
    expect((fill?.width ?? 0) / (meter?.width ?? 1)).toBeCloseTo(cost / 5, 2);
    expect(
      Math.abs((line?.x ?? 0) + (line?.width ?? 0) / 2 - ((meter?.x ?? 0) + (meter?.width ?? 0))),
    ).toBeLessThan(2);
    await expect(daily.locator(".meter").getAttribute("aria-label")).resolves.toContain("of $5.0000 used");

    // Over time: the calls' cost in the current hour's bar, the running total, the budget line.
    const chart = page.getByRole("img", { name: /Spend of tenant acme per 1 h/ });
    await chart.waitFor();
    await expect(page.locator(".spend-chart .budget-line").count()).resolves.toBe(1);
    await expect(page.locator(".spend-chart .budget").textContent()).resolves.toContain(
      "daily budget $5.0000",
    );
    const bars = page.locator(".spend-bar");
    await expect(bars.count()).resolves.toBe(24);
    await expect((await bars.nth(23).boundingBox())?.height).toBeGreaterThan(0);
    await page.getByText("As a table").click();
    const rows = page.locator(".spend-table tbody tr");
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().locator("td").allTextContents()).resolves.toEqual([
      "4",
      `$${cost.toFixed(4)}`,
      `$${cost.toFixed(4)}`,
    ]);
    await photograph(page, "spend");

    // A user: their per-user budget now, beside the tenant's, and their own calls over time
    // against the per-user daily budget, above the whole tenant's.
    await page.getByLabel(/User/).fill("ann");
    await page.getByLabel(/User/).press("Enter");
    const perUser = page.locator('.usage[data-limit="tenants.acme.per_user.usd_per_day"]');
    await perUser.waitFor();
    await expect(perUser.locator(".meter").getAttribute("aria-label")).resolves.toContain("of $2.0000 used");
    const userChart = page.locator('figure[data-chart="user"]');
    await page.getByRole("img", { name: /Spend of user ann of acme per 1 h/ }).waitFor();
    await expect(userChart.locator(".budget").textContent()).resolves.toContain(
      "per-user daily budget $2.0000",
    );
    await expect(userChart.locator(".spend-bar").count()).resolves.toBe(24);
    await userChart.getByText("As a table").click();
    await expect(userChart.locator(".spend-table tbody tr td").allTextContents()).resolves.toEqual([
      "3",
      `$${annCost.toFixed(4)}`,
      `$${annCost.toFixed(4)}`,
    ]);
    const tenantChart = page.locator('figure[data-chart="tenant"]');
    await expect(tenantChart.locator("figcaption").textContent()).resolves.toContain("over 4 calls");
    await photograph(page, "spend-user");

    // Her calls are listed by user on the Decisions page, each naming her.
    await page.goto(`${service.operatorUrl}/console/#/decisions?tenant=acme&user=ann`);
    const listed = page.locator("table.decisions tbody tr");
    await page.getByText("user ann").first().waitFor();
    await expect(listed.count()).resolves.toBe(3);
  });
});

describe.skipIf(!available)("the operator console's Replay page", () => {
  /** Personal data stays on premises; internal data goes to the hosted cloud first. */
  const POLICY = `
defaults: { data_class: internal, task: chat, infer_task: false }
providers:
  cloud:
    kind: mock
    hosted: true
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "from cloud" }
    models: { big: { input_usd_per_mtok: 2, output_usd_per_mtok: 8 } }
  onprem:
    kind: mock
    hosted: false
    mock: { latency_ms: 1, token_interval_ms: 1, reply: "from onprem" }
    models: { llama: { input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.1 } }
data_classes:
  internal: { may_leave: true }
  pii: { may_leave: false }
routes:
  - name: private
    match: { data_class: pii }
    primary: { provider: onprem, model: llama }
  - name: default
    match: { data_class: internal }
    primary: { provider: cloud, model: big }
    fallback: [{ provider: onprem, model: llama }]
`;
  /** The edit under review: personal data may leave, and its route tries the cloud first. */
  const PII_TO_CLOUD = POLICY.replace("pii: { may_leave: false }", "pii: { may_leave: true }").replace(
    "primary: { provider: onprem, model: llama }\n  - name: default",
    "primary: { provider: cloud, model: big }\n    fallback: [{ provider: onprem, model: llama }]\n  - name: default",
  );
  /** A datetime-local input's value for `date`, in this machine's time zone (the browser's). */
  const local = (date: Date) =>
    new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

  let browser: Browser;
  let service: TestSwitchyard;
  beforeAll(async () => {
    [browser, service] = await Promise.all([launchChromium(), startTestSwitchyard(POLICY)]);
  });
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });

  it("says when no call was recorded, and lists an invalid candidate's issues by path", async () => {
    const page = await browser.newPage({ viewport: WIDTHS[0] });
    await page.goto(`${service.operatorUrl}/console/`);
    await page.getByRole("link", { name: "Replay" }).click();
    await page.getByRole("heading", { name: "Replay" }).waitFor();
    await page.getByLabel(/or paste it/).fill(POLICY);
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByText("No recorded calls in this range").waitFor();
    await photograph(page, "replay-empty");

    await page
      .getByLabel(/or paste it/)
      .fill(POLICY.replace("model: llama }\n  - name: default", "modle: llama }\n  - name: default"));
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByRole("heading", { name: "The candidate policy is invalid" }).waitFor();
    await expect(page.locator(".issues li code").allTextContents()).resolves.toContain(
      "routes[0].primary.model",
    );
    await page.close();
  });

  it("shows what an uploaded candidate changes: the pii call's new target, and the hosted:pii rule it breaks", async () => {
    const router = createClient(
      RouterService,
      createTransports(service.baseUrl).get("gRPC over h2c (binary)"),
    );
    await router.route(userRequest("hello"));
    const pii = await router.route(userRequest("my record", { dataClass: "pii" }));
    await router.route(userRequest("again"));
    expect(pii.decision?.target).toBe("onprem/llama");
    const piiCall = pii.decision?.callId ?? "";

    const page = await browser.newPage({ viewport: WIDTHS[0] });
    await page.goto(`${service.operatorUrl}/console/#/replay`);
    await page.getByLabel("Candidate policy file").setInputFiles({
      name: "pii-to-cloud.yaml",
      mimeType: "application/yaml",
      buffer: Buffer.from(PII_TO_CLOUD),
    });
    await page.getByText("from pii-to-cloud.yaml").waitFor();
    await expect(page.getByLabel(/or paste it/).inputValue()).resolves.toBe(PII_TO_CLOUD);
    await page.getByLabel("Since").fill(local(new Date(Date.now() - 3_600_000)));
    await page.getByLabel("Until").fill(local(new Date(Date.now() + 3_600_000)));
    await page.getByLabel(/Fail on/).fill("hosted:pii");
    await page.getByRole("button", { name: "Run" }).click();

    await page.getByRole("heading", { name: /What would change/ }).waitFor();
    const rows = page.locator("table.replay tbody tr");
    await expect(rows.count()).resolves.toBe(1);
    const row = rows.first();
    await expect(row.getByRole("link").textContent()).resolves.toBe(piiCall);
    await expect(row.getByRole("link").getAttribute("href")).resolves.toBe(`#/decisions/${piiCall}`);
    const changes = await row.locator(".changes li").allTextContents();
    expect(changes).toContain("target onprem/llama → cloud/big");
    expect(changes.join("\n")).toContain("newly eligible on a hosted provider cloud/big");
    const violations = page.locator(".violations");
    await expect(violations.textContent()).resolves.toContain("hosted:pii");
    await expect(violations.getByRole("link").textContent()).resolves.toBe(piiCall);
    await expect(page.locator(".facts").textContent()).resolves.toMatch(/Replayed3 calls.*Changed1/);
    await photograph(page, "replay");

    // The row leads to the call's decision as recorded.
    await row.getByRole("link").click();
    await page.getByText("onprem/llama").first().waitFor();
    expect(page.url()).toContain(`#/decisions/${piiCall}`);
    await page.close();
  });
});
