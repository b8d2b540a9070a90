import type { z } from "zod";
import { DETECTORS } from "../classify/detectors/detectors.js";
import { isPlainObject } from "../core/json.js";
import { nearest } from "../core/suggest.js";
import { IMAGE_KIND } from "../core/types.js";
import { PROVIDER_KINDS } from "../providers/registry.js";
import type { MissingVariable } from "./interpolate.js";
import type { PathIssue } from "./read-yaml.js";
import {
  type AuthDocument,
  authSchema,
  type ContentRuleDocument,
  contentRuleSchema,
  type DataClassDocument,
  type DetectRuleDocument,
  dataClassSchema,
  defaultsShape,
  detectRuleSchema,
  type EscalationDocument,
  escalationSchema,
  identifierProblem,
  type LoggingDocument,
  loggingSchema,
  matchShape,
  POLICY_KEYS,
  type PoolDocument,
  type ProviderDocument,
  poolMemberShape,
  poolSchema,
  providerSchemas,
  type RouteDocument,
  routeShape,
  type StateDocument,
  stateSchema,
  type TargetDocument,
  type TenantDocument,
  type ToolDocument,
  targetShape,
  tenantSchema,
  toolSchema,
} from "./schema.js";

type Path = (string | number)[];
type Shape = Record<string, z.ZodType>;
type Fields<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

/** The blocks of one named section (`providers`, `data_classes`), sorted by whether they parsed. */
export interface Section<T> {
  /** Names whose block parsed, in file order. */
  valid: Map<string, T>;
  /**
   * Every name, in file order, including those whose block (or name) was refused: already
   * reported, so a reference to one is not reported again as unknown.
   */
  declared: string[];
  /** False when the section itself is unusable (absent or not a mapping): no reference into it is checked. */
  complete: boolean;
}

/** An object parsed key by key: what parsed, which keys did not, and the whole when all did. */
export interface Parsed<S extends Shape> {
  fields: Fields<S>;
  invalid: ReadonlySet<string>;
  whole?: z.output<z.ZodObject<S>>;
}

export interface CheckedTarget {
  /** "primary", "pool[N]", "fallback[N]" or "degrade" (the degrade ladder's target). */
  role: string;
  path: Path;
  target: Parsed<typeof targetShape>;
  /** A pool member's share. */
  weight?: number;
}

export interface CheckedRoute {
  index: number;
  path: Path;
  name?: string;
  /** An absent `match` parses as empty (the route matches every request). */
  match: Parsed<typeof matchShape>;
  targets: CheckedTarget[];
  /** The route, when every part of it parsed. */
  route?: RouteDocument;
}

/** The policy as far as it parsed. `complete` is true only when nothing was refused. */
export interface CheckedDocument {
  defaults: Parsed<typeof defaultsShape>;
  /** The keys of `defaults` the file writes (the others took their default). */
  defaultsWritten: ReadonlySet<string>;
  /** Undefined when the file declares none (the built-in classes apply). */
  dataClasses?: Section<DataClassDocument>;
  providers: Section<ProviderDocument>;
  routes: CheckedRoute[];
  /** Undefined when the file has no `detect:` (the built-in rules apply). */
  detect?: Section<DetectRuleDocument>;
  /** The rules that parsed, each with its path (for pattern errors found when compiling). */
  contentRules: { rule: ContentRuleDocument; path: Path }[];
  escalation?: EscalationDocument;
  tools?: Section<ToolDocument>;
  logging?: LoggingDocument;
  state?: StateDocument;
  /** Undefined when the file has no `tenants:`. */
  tenants?: Section<TenantDocument>;
  /** Undefined when the file has no `auth:` (or it did not parse: already reported). */
  auth?: AuthDocument;
  complete: boolean;
}

/** What `detect:` may name: a group, a detector's kind, or images (which no detector reads). */
const DETECT_KEYS = ["pii", "secret", ...DETECTORS.map((detector) => detector.kind), IMAGE_KIND];

const KNOWN_KINDS = PROVIDER_KINDS.map((definition) => definition.kind);

/**
 * Checks an interpolated document against the schema block by block (each provider, each data
 * class, each part of each route), so one bad block does not hide the errors of another, and
 * returns what parsed for compile-policy's cross-references. Unknown keys get the nearest known
 * key as a hint. A value left unset by a missing variable is not reported again here (the
 * unset variable is, by compile-policy).
 */
export function validatePolicy(
  raw: Record<string, unknown>,
  missing: readonly MissingVariable[],
): { document: CheckedDocument; issues: PathIssue[] } {
  const context = collector(missing);
  context.unknownKeys(raw, POLICY_KEYS, []);

  const defaults = context.object(defaultsShape, raw.defaults ?? {}, ["defaults"]) ?? {
    fields: {},
    invalid: new Set(Object.keys(defaultsShape)),
  };
  const dataClasses =
    raw.data_classes === undefined
      ? undefined
      : context.section(raw.data_classes, ["data_classes"], (block, path) =>
          context.parse(dataClassSchema, block, path),
        );
  const providers = context.section(raw.providers, ["providers"], (block, path) =>
    checkProvider(block, path, context),
  );
  const routes = checkRoutes(raw.routes, context);
  const detect =
    raw.detect === undefined
      ? undefined
      : context.section(raw.detect, ["detect"], (block, path) => {
          const key = String(path.at(-1));
          if (!DETECT_KEYS.includes(key)) {
            context.report(path, `unknown kind (${hint(key, DETECT_KEYS)}known: ${DETECT_KEYS.join(", ")})`);
            return undefined;
          }
          return context.parse(detectRuleSchema, block, path);
        });
  const contentRules = checkContentRules(raw.content_rules, context);
  const escalation = context.parse(escalationSchema, raw.escalation, ["escalation"]);
  const tools =
    raw.tools === undefined
      ? undefined
      : context.section(raw.tools, ["tools"], (block, path) => context.parse(toolSchema, block ?? {}, path));
  const logging = context.parse(loggingSchema, raw.logging, ["logging"]);
  const state = context.parse(stateSchema, raw.state, ["state"]);
  const tenants =
    raw.tenants === undefined
      ? undefined
      : context.section(raw.tenants, ["tenants"], (block, path) =>
          context.parse(tenantSchema, block ?? {}, path),
        );
  const auth = raw.auth === undefined ? undefined : context.parse(authSchema, raw.auth, ["auth"]);

  return {
    document: {
      defaults,
      defaultsWritten: new Set(isPlainObject(raw.defaults) ? Object.keys(raw.defaults) : []),
      ...(dataClasses && { dataClasses }),
      providers,
      routes,
      ...(detect && { detect }),
      contentRules,
      ...(escalation && { escalation }),
      ...(tools && { tools }),
      ...(logging && { logging }),
      ...(state && { state }),
      ...(tenants && { tenants }),
      ...(auth && { auth }),
      complete: context.issues.length === 0,
    },
    issues: context.issues,
  };
}

function checkProvider(block: unknown, path: Path, context: Collector): ProviderDocument | undefined {
  if (!isPlainObject(block)) return context.notAMapping(path, block);
  const kind = block.kind;
  const schema = typeof kind === "string" ? providerSchemas.get(kind) : undefined;
  if (schema) return context.parse(schema, block, path);
  const known = `known kinds: ${KNOWN_KINDS.join(", ")}`;
  if (kind === undefined) context.report([...path, "kind"], `required (${known})`);
  else if (typeof kind !== "string") context.report([...path, "kind"], `must be a string (${known})`);
  // Echoed only when it looks like a name: a stray secret pasted there stays out of the message.
  else if (identifierProblem(kind) !== undefined)
    context.report([...path, "kind"], `unknown kind (${known})`);
  else context.report([...path, "kind"], `unknown kind "${kind}" (${hint(kind, KNOWN_KINDS)}${known})`);
  return undefined;
}

function checkRoutes(raw: unknown, context: Collector): CheckedRoute[] {
  if (!Array.isArray(raw)) {
    context.report(["routes"], raw === undefined ? "required" : "must be a list of routes");
    return [];
  }
  if (raw.length === 0) context.report(["routes"], "must list at least one route");
  return raw.flatMap((item: unknown, index) => {
    const route = checkRoute(item, ["routes", index], context);
    return route ? [{ ...route, index }] : [];
  });
}

function checkContentRules(raw: unknown, context: Collector): CheckedDocument["contentRules"] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    context.report(["content_rules"], "must be a list of rules");
    return [];
  }
  return raw.flatMap((item: unknown, index) => {
    const path = ["content_rules", index];
    const rule = context.parse(contentRuleSchema, item, path);
    return rule ? [{ rule, path }] : [];
  });
}

function checkRoute(raw: unknown, path: Path, context: Collector): Omit<CheckedRoute, "index"> | undefined {
  if (!isPlainObject(raw)) return context.notAMapping(path, raw);
  const onlyKnownKeys = context.unknownKeys(raw, Object.keys(routeShape), path);
  const { fields, invalid } = context.each(
    {
      name: routeShape.name,
      budgets: routeShape.budgets,
      retry: routeShape.retry,
      hedge: routeShape.hedge,
      breaker: routeShape.breaker,
      resume_on_fallback: routeShape.resume_on_fallback,
      degrade: routeShape.degrade,
    },
    raw,
    path,
  );
  const match =
    raw.match === undefined
      ? { fields: {}, invalid: new Set<string>(), whole: {} }
      : (context.object(matchShape, raw.match, [...path, "match"]) ?? {
          fields: {},
          invalid: new Set(Object.keys(matchShape)),
        });
  const targets: CheckedTarget[] = [];
  let targetsComplete = true;
  const addTarget = (role: string, targetPath: Path, value: unknown) => {
    const target = context.object(targetShape, value, targetPath);
    if (target) targets.push({ role, path: targetPath, target });
    if (!target?.whole) targetsComplete = false;
  };
  let pool: PoolDocument | undefined;
  if (raw.primary !== undefined && raw.pool !== undefined) {
    context.report([...path, "pool"], "set either primary or pool, not both");
    targetsComplete = false;
  } else if (raw.pool !== undefined) {
    pool = context.parse(poolSchema, raw.pool, [...path, "pool"]);
    if (!pool) targetsComplete = false;
    pool?.targets.forEach((item, index) => {
      const memberPath = [...path, "pool", "targets", index];
      const member = context.object(poolMemberShape, item, memberPath);
      if (member) {
        const { weight, ...target } = member.fields;
        targets.push({
          role: `pool[${index}]`,
          path: memberPath,
          target: {
            fields: target,
            invalid: member.invalid,
            ...(member.whole && { whole: target as TargetDocument }),
          },
          ...(weight !== undefined && { weight }),
        });
      }
      if (!member?.whole) targetsComplete = false;
    });
  } else addTarget("primary", [...path, "primary"], raw.primary);
  if (Array.isArray(raw.fallback))
    raw.fallback.forEach((item: unknown, index) => {
      addTarget(`fallback[${index}]`, [...path, "fallback", index], item);
    });
  else if (raw.fallback !== undefined) {
    context.report([...path, "fallback"], "must be a list of targets");
    targetsComplete = false;
  }

  const [primary, ...fallback] = targets.map((target) => target.target.whole);
  // The degrade ladder's target is checked as the route's others are (provider, model, residency).
  const degradeTarget = fields.degrade?.target;
  if (degradeTarget)
    targets.push({
      role: "degrade",
      path: [...path, "degrade", "target"],
      target: { fields: degradeTarget, invalid: new Set(), whole: degradeTarget },
    });
  const checked = { path, ...(fields.name !== undefined && { name: fields.name }), match, targets };
  if (
    !onlyKnownKeys ||
    invalid.size > 0 ||
    !match.whole ||
    !targetsComplete ||
    (!primary && !pool) ||
    fields.name === undefined
  )
    return checked;
  return {
    ...checked,
    route: {
      name: fields.name,
      ...(raw.match !== undefined && { match: match.whole }),
      ...(pool ? { pool } : { primary }),
      fallback: fallback.filter((target): target is TargetDocument => target !== undefined),
      ...(fields.budgets && { budgets: fields.budgets }),
      ...(fields.retry && { retry: fields.retry }),
      ...(fields.hedge && { hedge: fields.hedge }),
      ...(fields.breaker && { breaker: fields.breaker }),
      ...(fields.resume_on_fallback !== undefined && { resume_on_fallback: fields.resume_on_fallback }),
      ...(fields.degrade && { degrade: fields.degrade }),
    },
  };
}

type Collector = ReturnType<typeof collector>;

/** Collects issues while parsing pieces of the document; turns zod's issues into ours. */
function collector(missing: readonly MissingVariable[]) {
  const issues: PathIssue[] = [];
  // Paths of values an unset variable left undefined: the unset variable is the issue there.
  const unset = new Set(missing.map((gap) => JSON.stringify(gap.path)));

  const report = (path: Path, message: string): void => {
    issues.push({ path, message });
  };

  const notAMapping = (path: Path, raw: unknown): undefined => {
    report(path, raw === undefined ? "required" : "must be a mapping (key: value)");
    return undefined;
  };

  /** Reports each key of `raw` not in `known`; true when there was none. */
  const unknownKeys = (raw: Record<string, unknown>, known: readonly string[], path: Path): boolean => {
    const unknown = Object.keys(raw).filter((key) => !known.includes(key));
    for (const key of unknown) report([...path, key], unknownKey(key, known));
    return unknown.length === 0;
  };

  const zodIssue = (issue: z.core.$ZodIssue, schema: z.ZodType, base: Path): void => {
    const path = [...base, ...(issue.path as Path)];
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = keysAt(schema, issue.path);
        for (const key of issue.keys) report([...path, key], unknownKey(key, known));
        return;
      }
      case "invalid_key":
        // A record key that is not a name: say why, not zod's "Invalid key in record".
        report(path, issue.issues[0]?.message ?? issue.message);
        return;
      case "invalid_type":
        if (unset.has(JSON.stringify(path))) return;
        report(path, /received undefined$/.test(issue.message) ? "required" : issue.message);
        return;
      default:
        report(path, issue.message);
    }
  };

  const attempt = <T>(
    schema: z.ZodType<T>,
    raw: unknown,
    path: Path,
  ): { ok: true; value: T } | { ok: false } => {
    const result = schema.safeParse(raw);
    if (result.success) return { ok: true, value: result.data };
    for (const issue of result.error.issues) zodIssue(issue, schema, path);
    return { ok: false };
  };

  /** Parses each key of `shape` in `raw` on its own. */
  const each = <S extends Shape>(
    shape: S,
    raw: Record<string, unknown>,
    path: Path,
  ): Omit<Parsed<S>, "whole"> => {
    const fields: Record<string, unknown> = {};
    const invalid = new Set<string>();
    for (const [key, schema] of Object.entries(shape)) {
      const result = attempt(schema, raw[key], [...path, key]);
      if (!result.ok) invalid.add(key);
      else if (result.value !== undefined) fields[key] = result.value;
    }
    return { fields: fields as Fields<S>, invalid };
  };

  return {
    issues,
    report,
    notAMapping,
    unknownKeys,
    each,

    /** Parses `raw` with `schema` as one block; undefined (and issues) when it does not parse. */
    parse<T>(schema: z.ZodType<T>, raw: unknown, path: Path): T | undefined {
      const result = attempt(schema, raw, path);
      return result.ok ? result.value : undefined;
    },

    /** A strict object parsed key by key, so a bad key does not hide what the others say. */
    object<S extends Shape>(shape: S, raw: unknown, path: Path): Parsed<S> | undefined {
      if (!isPlainObject(raw)) return notAMapping(path, raw);
      const onlyKnownKeys = unknownKeys(raw, Object.keys(shape), path);
      const { fields, invalid } = each(shape, raw, path);
      if (!onlyKnownKeys || invalid.size > 0) return { fields, invalid };
      // Every key of the shape parsed with its own schema and no other key is present: the object's output.
      return { fields, invalid, whole: fields as z.output<z.ZodObject<S>> };
    },

    /** A mapping of names to blocks, each name and block checked on its own. */
    section<T>(raw: unknown, path: Path, check: (block: unknown, path: Path) => T | undefined): Section<T> {
      if (!isPlainObject(raw)) {
        notAMapping(path, raw);
        return { valid: new Map(), declared: [], complete: false };
      }
      const section: Section<T> = { valid: new Map(), declared: Object.keys(raw), complete: true };
      for (const [name, block] of Object.entries(raw)) {
        const problem = identifierProblem(name);
        if (problem !== undefined) report([...path, name], problem);
        const value = check(block, [...path, name]);
        if (value !== undefined && problem === undefined) section.valid.set(name, value);
      }
      return section;
    },
  };
}

function unknownKey(key: string, known: readonly string[]): string {
  const match = nearest(key, known);
  return match === undefined ? "unknown key" : `unknown key (did you mean "${match}"?)`;
}

/** `did you mean "x"? ` when a candidate is close, for the start of a parenthesised remark. */
export function hint(word: string, candidates: Iterable<string>): string {
  const match = nearest(word, candidates);
  return match === undefined ? "" : `did you mean "${match}"? `;
}

/** The keys an object schema at `path` under `schema` accepts (for "did you mean"). */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const inner = (key: string) => def[key] as z.core.$ZodType;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return keysAt(inner("innerType"), path);
    case "pipe":
      // z.preprocess is a pipe from a transform: the keys are the output schema's.
      return keysAt(inner("in")._zod.def.type === "transform" ? inner("out") : inner("in"), path);
    case "union":
      return (def.options as z.core.$ZodType[]).flatMap((option) => keysAt(option, path));
    case "object": {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      const [key, ...rest] = path;
      if (key === undefined) return Object.keys(shape);
      const field = shape[String(key)];
      return field ? keysAt(field, rest) : [];
    }
    case "array":
      return path.length > 0 ? keysAt(inner("element"), path.slice(1)) : [];
    case "record":
      return path.length > 0 ? keysAt(inner("valueType"), path.slice(1)) : [];
    default:
      return [];
  }
}
