import { readFileSync } from "node:fs";
import { request as http1Request } from "node:http";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import { RouterService } from "../../gen/switchyard/v1/router_pb.js";
import { createClusterMetrics } from "../../src/telemetry/metrics.js";
import { failureOf } from "../helpers/async.js";
import { PROJECT_ROOT } from "../helpers/build.js";
import { createTransports, type TransportSet, userRequest } from "../helpers/rpc.js";
import { startTestSwitchyard, type TestSwitchyard } from "../helpers/switchyard.js";

/** What Grafana imports: deploy/grafana/switchyard-dashboard.json. */
const DASHBOARD_FILE = join(PROJECT_ROOT, "deploy", "grafana", "switchyard-dashboard.json");

/** The data source every query names: the dashboard's `datasource` variable, so it imports anywhere. */
const TEMPLATED_PROMETHEUS = { type: "prometheus", uid: `$\{datasource}` };

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  collapsed?: boolean;
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;

/** Every panel, those inside collapsed rows included, rows too. */
function allPanels(): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every panel that queries (not a row). */
function queryPanels(): Panel[] {
  return allPanels().filter((panel) => panel.type !== "row");
}

function variables(): Variable[] {
  return dashboard.templating?.list ?? [];
}

/** Every PromQL expression with where it is: each panel query and each query variable's query. */
function expressions(): Array<{ where: string; expr: string }> {
  const fromPanels = queryPanels().flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: target.expr ?? "",
    })),
  );
  const fromVariables = variables()
    .filter((variable) => variable.type === "query")
    .map((variable) => ({ where: `variable ${variable.name}`, expr: variableQuery(variable) }));
  return [...fromPanels, ...fromVariables];
}

function variableQuery(variable: Variable): string {
  return typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
}

/** PromQL's functions and aggregations this dashboard may call; anything else followed by "(" is an error. */
const FUNCTIONS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "count",
  "topk",
  "rate",
  "increase",
  "histogram_quantile",
  "label_values",
]);
const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
]);
/** Functions that read a range of a counter. */
const RANGE_FUNCTIONS = new Set(["rate", "increase"]);

interface Selector {
  metric: string;
  /** Labels its matchers name. */
  labels: string[];
  /** The function the selector is the argument of ("" at top level), and whether a range follows it. */
  inside: string;
  ranged: boolean;
}

interface Parsed {
  selectors: Selector[];
  /** Labels grouped by (`by (…)`, `without (…)`) and label_values' label. */
  grouping: string[];
  /** Identifiers called as functions. */
  functions: string[];
}

/**
 * What a PromQL expression reads: each metric selector with its matchers' labels, the function it
 * is the argument of and whether it takes a range, and the labels it groups by. Enough of PromQL
 * for dashboard queries; anything it cannot place (an unknown function, a stray token) is thrown.
 */
function parsePromQL(expr: string): Parsed {
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const functions: string[] = [];
  const token = /\s*(?:([a-zA-Z_:][\w:]*)|(\d+(?:\.\d+)?)|(\{[^}]*\})|(\[[^\]]*\])|([(),*/+-]))/y;
  const stack: string[] = [];
  let pending = "";
  let pendingGroup = false;
  let last: Selector | undefined;
  let index = 0;
  while (index < expr.length) {
    token.lastIndex = index;
    const match = token.exec(expr);
    if (!match) {
      if (expr.slice(index).trim() === "") break;
      throw new Error(`cannot read "${expr.slice(index)}" in ${expr}`);
    }
    index = token.lastIndex;
    const [, word, , braces, range, punct] = match;
    if (word !== undefined) {
      const next = expr.slice(index).trimStart();
      if (KEYWORDS.has(word)) {
        pendingGroup = word === "by" || word === "without";
        last = undefined;
      } else if (pendingGroup) {
        grouping.push(word);
      } else if (next.startsWith("(") || /^(?:by|without)\b/.test(next)) {
        functions.push(word);
        pending = word;
        last = undefined;
      } else if (
        stack.at(-1) === "label_values" &&
        selectors.length > 0 &&
        expr.slice(0, match.index).trimEnd().endsWith(",")
      ) {
        grouping.push(word);
      } else {
        last = { metric: word, labels: [], inside: stack.at(-1) ?? "", ranged: false };
        selectors.push(last);
      }
    } else if (braces !== undefined) {
      if (!last) throw new Error(`matchers with no metric in ${expr}`);
      for (const matcher of braces
        .slice(1, -1)
        .matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g))
        last.labels.push(matcher[1] ?? "");
    } else if (range !== undefined) {
      if (!last) throw new Error(`a range with no metric in ${expr}`);
      last.ranged = true;
    } else if (punct === "(") {
      // An aggregation's grouping comes between its name and its argument: keep the name for that.
      if (pendingGroup) stack.push("(group)");
      else {
        stack.push(pending);
        pending = "";
      }
    } else if (punct === ")") {
      if (stack.pop() === "(group)") pendingGroup = false;
      last = undefined;
    } else {
      last = undefined;
    }
  }
  return { selectors, grouping, functions };
}

/** What one scrape shows: each sample name with the labels its samples carry, and each metric's type. */
interface Exposed {
  labels: Map<string, Set<string>>;
  types: Map<string, string>;
}

function readExposition(text: string, into: Exposed = { labels: new Map(), types: new Map() }): Exposed {
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) into.types.set(type[1], type[2]);
    if (line === "" || line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!sample?.[1]) throw new Error(`not a sample line: ${line}`);
    const labels = into.labels.get(sample[1]) ?? new Set<string>();
    for (const pair of (sample[2] ?? "").matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g))
      labels.add(pair[1] ?? "");
    into.labels.set(sample[1], labels);
  }
  return into;
}

/** The type # TYPE gives a sample name: its own, or its histogram's for _bucket, _sum and _count. */
function typeOf(exposed: Exposed, sample: string): string | undefined {
  const own = exposed.types.get(sample);
  if (own) return own;
  const base = /^(.*)_(?:bucket|sum|count)$/.exec(sample)?.[1];
  return base !== undefined && exposed.types.get(base) === "histogram" ? "histogram" : undefined;
}

/**
 * A policy whose few calls bring out every conditional series: `flaky` fails over (attempts with
 * an error class, a fallback), `hedged` starts a hedge beside a slow primary, `doomed` is answered
 * by its degrade ladder, `free` goes to a model no price covers, and tenant `capped` has a rate
 * limit its second call passes (a quota refusal).
 */
const POLICY = `
providers:
  local:
    kind: mock
    hosted: false
    mock: { latency_ms: 0, token_interval_ms: 0 }
    models:
      tiny: { input_usd_per_mtok: 1, output_usd_per_mtok: 2 }
  down: { kind: mock, hosted: false, mock: { failure_rate: 1, failure: server_error } }
  slow: { kind: mock, hosted: false, mock: { latency_ms: 400, token_interval_ms: 0 } }
  spare:
    kind: mock
    hosted: false
    mock: { latency_ms: 0, token_interval_ms: 0 }
    models:
      cheap: { input_usd_per_mtok: 1, output_usd_per_mtok: 1 }
routes:
  - name: flaky
    match: { task: flaky }
    primary: { provider: down, model: a }
    fallback: [{ provider: local, model: tiny }]
    retry: { max_attempts: 1 }
  - name: hedged
    match: { task: hedged }
    primary: { provider: slow, model: steady }
    fallback: [{ provider: spare, model: cheap }]
    hedge: { after_ms: 20 }
  - name: doomed
    match: { task: doomed }
    primary: { provider: down, model: a }
    retry: { max_attempts: 1 }
    degrade: { answer: "Try again later." }
  - name: free
    match: { task: free }
    primary: { provider: slow, model: steady }
  - name: default
    primary: { provider: local, model: tiny }
tenants:
  capped: { limits: { requests_per_minute: 1 } }
`;

function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http1Request(url, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    })
      .on("error", reject)
      .end();
  });
}

describe("deploy/grafana/switchyard-dashboard.json", () => {
  it("is a dashboard Grafana imports: uid, title, a current schema version, panels laid out on the grid", () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBe("Switchyard");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = allPanels();
    expect(panels.length).toBeGreaterThan(10);
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id) && (id ?? 0) > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const grid = panel.gridPos;
      expect(grid, `panel ${panel.id} gridPos`).toBeDefined();
      if (!grid) continue;
      expect(grid.x + grid.w, `panel "${panel.title}" fits the 24 columns`).toBeLessThanOrEqual(24);
      expect(grid.h * grid.w, `panel "${panel.title}" has an area`).toBeGreaterThan(0);
    }
    // No two panels of the open layout overlap (collapsed rows keep their own layout).
    const open = (dashboard.panels ?? []).map((panel) => panel.gridPos);
    open.forEach((a, i) => {
      open.slice(i + 1).forEach((b) => {
        if (!a || !b) return;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`).toBe(true);
      });
    });
  });

  it("has the rows the issue names, each query on the templated Prometheus data source", () => {
    const rows = allPanels()
      .filter((panel) => panel.type === "row")
      .map((panel) => panel.title);
    expect(rows).toEqual([
      "Traffic",
      "Latency",
      "Errors",
      "Targets",
      "Cost and tokens",
      "Tenants",
      "Workers (serve --workers)",
    ]);
    const datasource = variables().find((variable) => variable.name === "datasource");
    expect(datasource).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const panel of queryPanels()) {
      expect(panel.targets?.length, `panel "${panel.title}" has queries`).toBeGreaterThan(0);
      expect(panel.datasource).toEqual(TEMPLATED_PROMETHEUS);
      for (const target of panel.targets ?? []) {
        expect(target.expr, `panel "${panel.title}" ${target.refId}`).toMatch(/\S/);
        expect(target.datasource).toEqual(TEMPLATED_PROMETHEUS);
      }
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it("offers route, target and tenant variables from label_values; queries name only variables it defines", () => {
    const byName = new Map(variables().map((variable) => [variable.name, variable]));
    for (const name of ["route", "target", "tenant"]) {
      const variable = byName.get(name);
      expect(variable?.type, name).toBe("query");
      expect(variable?.datasource).toEqual(TEMPLATED_PROMETHEUS);
      expect(variableQuery(variable ?? { name, type: "" })).toMatch(
        new RegExp(`^label_values\\(switchyard_\\w+, ${name}\\)$`),
      );
    }
    // A query only names variables the dashboard defines (or Grafana's own $__ ones).
    for (const { where, expr } of expressions())
      for (const used of expr.matchAll(/\$(\w+)/g))
        expect(used[1]?.startsWith("__") || byName.has(used[1] ?? ""), `${where}: $${used[1]}`).toBe(true);
  });

  it("reads counters and histogram buckets through rate() or increase() over a range, gauges as they are", async () => {
    const { exposed } = await scrape();
    for (const { where, expr } of expressions()) {
      const parsed = parsePromQL(expr);
      for (const name of parsed.functions) expect(FUNCTIONS.has(name), `${where}: ${name}()`).toBe(true);
      for (const selector of parsed.selectors) {
        const type = typeOf(exposed, selector.metric);
        const what = `${where}: ${selector.metric}`;
        if (selector.inside === "label_values") continue;
        if (type === "counter" || type === "histogram") {
          expect(RANGE_FUNCTIONS.has(selector.inside), `${what} inside ${selector.inside}()`).toBe(true);
          expect(selector.ranged, `${what} takes a range`).toBe(true);
          if (type === "histogram") expect(selector.metric, what).toMatch(/_bucket$/);
        } else {
          expect(type, what).toBe("gauge");
          expect(selector.ranged, `${what} is read as it is`).toBe(false);
        }
      }
      // A quantile groups its buckets by le.
      if (expr.includes("histogram_quantile")) expect(parsed.grouping, where).toContain("le");
    }
  });

  describe("against what a running server exposes on /metrics", () => {
    it("names only metrics the server exposes, each with every label the query filters or groups by", async () => {
      const { exposed } = await scrape();
      let checked = 0;
      for (const { where, expr } of expressions()) {
        const parsed = parsePromQL(expr);
        expect(parsed.selectors.length, `${where} reads a metric`).toBeGreaterThan(0);
        const used = new Set([
          ...parsed.grouping,
          ...parsed.selectors.flatMap((selector) => selector.labels),
        ]);
        for (const selector of parsed.selectors) {
          const labels = exposed.labels.get(selector.metric);
          expect(labels, `${where}: ${selector.metric} is not exposed`).toBeDefined();
          for (const label of used)
            expect(labels?.has(label), `${where}: ${selector.metric} has no label ${label}`).toBe(true);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
    });

    it("shows every metric the server exposes somewhere", async () => {
      const { exposed } = await scrape();
      const read = new Set(
        expressions().flatMap(({ expr }) =>
          parsePromQL(expr).selectors.map((selector) => selector.metric.replace(/_bucket$/, "")),
        ),
      );
      expect([...exposed.types.keys()].filter((metric) => !read.has(metric))).toEqual([]);
    });
  });
});

let scraped: Promise<{ exposed: Exposed }> | undefined;
let service: TestSwitchyard | undefined;
let transports: TransportSet | undefined;

afterAll(async () => {
  transports?.close();
  await service?.stop();
});

/**
 * One scrape of a real server after calls that bring out every series, with a `serve --workers`
 * primary's own series (switchyard_workers, switchyard_worker_restarts_total) added from its
 * metrics in process: a scrape of a primary is its workers' aggregate plus these.
 */
function scrape(): Promise<{ exposed: Exposed }> {
  scraped ??= (async () => {
    service = await startTestSwitchyard(POLICY);
    transports = createTransports(service.baseUrl);
    const router = createClient(RouterService, transports.get("gRPC over h2c (binary)"));
    const route = (task: string, tenant = "acme") => router.route({ ...userRequest("hi", { task }), tenant });
    expect((await route("")).decision?.costUsd).toBeGreaterThan(0);
    expect((await route("flaky")).decision?.attempts.length).toBe(2);
    expect((await route("hedged")).decision?.attempts.some((attempt) => attempt.hedge)).toBe(true);
    expect((await route("doomed")).decision?.degradeRung).toBe("answer");
    expect((await route("free")).decision?.unpriced).toBe(true);
    await route("", "capped");
    expect((await failureOf(route("", "capped"))).rawMessage).toMatch(/requests_per_minute/);
    const { status, text } = await get(`${service.operatorUrl}/metrics`);
    expect(status).toBe(200);
    const exposed = readExposition(text);
    const primary = createClusterMetrics();
    primary.setWorkers(2);
    primary.workerRestarted();
    readExposition((await primary.render()).text, exposed);
    return { exposed };
  })();
  return scraped;
}

describe("the metric check itself", () => {
  it("finds a metric's name, matchers and grouping, and fails on a name the server does not expose", async () => {
    const parsed = parsePromQL(
      'histogram_quantile(0.95, sum by (le, route) (rate(switchyard_call_duration_secs_bucket{route=~"$route"}[$__rate_interval])))',
    );
    expect(parsed.selectors).toEqual([
      { metric: "switchyard_call_duration_secs_bucket", labels: ["route"], inside: "rate", ranged: true },
    ]);
    expect(parsed.grouping).toEqual(["le", "route"]);
    const { exposed } = await scrape();
    expect(exposed.labels.has("switchyard_call_duration_secs_bucket")).toBe(false);
    expect(exposed.labels.get("switchyard_call_duration_seconds_bucket")).toEqual(new Set(["le", "route"]));
    expect(parsePromQL("label_values(switchyard_calls_total, tenant)")).toMatchObject({
      selectors: [{ metric: "switchyard_calls_total", inside: "label_values" }],
      grouping: ["tenant"],
    });
  });
});
