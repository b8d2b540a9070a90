import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";

/** A problem at a place in the document: `path` as keys and indexes, e.g. ["routes", 2, "name"]. */
export interface PathIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Keys that would reach an object's prototype machinery if they were ever assigned with `obj[key] =`
 * (a `__proto__` key once made a provider inherit `hosted: false`). Refused wherever they appear.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

export interface YamlTree {
  /** Mappings are `Map`s (never plain objects, so no key can touch a prototype); undefined on syntax errors. */
  value?: unknown;
  /** Syntax errors (with their line), reserved keys, keys that are not plain scalars. */
  issues: PathIssue[];
  /** Syntax errors have no document path; they carry their line and column instead. */
  syntaxErrors: { line?: number; column?: number; message: string }[];
}

/**
 * Parses YAML text, checking its keys on the syntax tree before any JavaScript object is built:
 * reserved keys, keys that are collections, and two keys that read the same once made strings
 * (`1` and `"1"`) are issues with their path. The value keeps mappings as `Map`s; `interpolate`
 * turns them into objects and leaves out the reserved keys reported here.
 */
export function readYaml(text: string): YamlTree {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  if (document.errors.length > 0)
    return {
      issues: [],
      syntaxErrors: document.errors.map((error) => {
        const position = error.pos[0] !== undefined ? lineCounter.linePos(error.pos[0]) : undefined;
        return {
          ...(position && { line: position.line, column: position.col }),
          message: error.message.split("\n")[0] ?? error.code,
        };
      }),
    };
  const issues: PathIssue[] = [];
  checkKeys(document, document.contents, [], new Set(), issues);
  // A cycle would make the value infinitely deep; nothing after this could walk it.
  if (issues.some((issue) => issue.message === SELF_ALIAS)) return { issues, syntaxErrors: [] };
  try {
    // Aliases are expanded at most 100 times in all, so a small file cannot expand into a huge one.
    return { value: document.toJS({ maxAliasCount: MAX_ALIASES, mapAsMap: true }), issues, syntaxErrors: [] };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return {
      issues: [
        { path: [], message: `the document expands too many aliases (at most ${MAX_ALIASES} are allowed)` },
      ],
      syntaxErrors: [],
    };
  }
}

const MAX_ALIASES = 100;
const SELF_ALIAS = "alias to a node that contains it";

/** The string a scalar key becomes in the policy (what `interpolate` uses as the object key). */
export function keyString(key: unknown): string | undefined {
  if (key === null) return "";
  if (typeof key === "string") return key;
  if (typeof key === "number" || typeof key === "boolean" || typeof key === "bigint") return String(key);
  return undefined;
}

function checkKeys(
  document: Document,
  node: Node | null,
  path: (string | number)[],
  ancestors: Set<Node>,
  issues: PathIssue[],
): void {
  if (node === null || isScalar(node)) return;
  // An alias repeats a node checked where it is anchored, unless it sits inside that node.
  if (isAlias(node)) {
    const target = node.resolve(document);
    if (target && ancestors.has(target)) issues.push({ path, message: SELF_ALIAS });
    return;
  }
  const inside = new Set(ancestors).add(node);
  if (isSeq(node)) {
    node.items.forEach((item, index) => {
      checkKeys(document, item as Node | null, [...path, index], inside, issues);
    });
    return;
  }
  if (!isMap(node)) return;
  const seen = new Set<string>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? keyString(pair.key.value) : undefined;
    if (key === undefined) {
      issues.push({ path, message: "keys must be plain scalars, not collections or aliases" });
      continue;
    }
    if (RESERVED_KEYS.has(key)) {
      issues.push({ path: [...path, key], message: `reserved key "${key}" is not allowed` });
      continue;
    }
    if (seen.has(key)) issues.push({ path: [...path, key], message: "duplicate key" });
    seen.add(key);
    checkKeys(document, pair.value as Node | null, [...path, key], inside, issues);
  }
}
