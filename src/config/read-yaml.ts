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

/**
 * `routes[2].primary.model`. A key that is not a plain name is quoted with its invisible and
 * non-ASCII characters escaped, so `providers["cloud "]` cannot pass for `providers.cloud`.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${quoteKey(String(key))}]`;
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9._:/@+-]*$/;

/** A JSON-style quoted key, printable ASCII only; a long one is cut (it is only a pointer). */
function quoteKey(key: string): string {
  const shown = key.length > 64 ? `${key.slice(0, 60)}...` : key;
  return JSON.stringify(shown).replace(
    /[^\x20-\x7e]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export interface YamlTree {
  /** Mappings are `Map`s (never plain objects, so no key can touch a prototype); undefined on syntax errors. */
  value?: unknown;
  /** Syntax errors (with their line), reserved keys, keys that are not plain scalars. */
  issues: PathIssue[];
  /** Syntax errors have no document path; they carry their line and column instead. */
  syntaxErrors: { line?: number; column?: number; message: string }[];
  /**
   * Where `path` is written in the text (a character offset: a mapping entry's key, a list
   * item), or its nearest written ancestor's; for listing issues in the order of the file.
   */
  positionOf(path: readonly (string | number)[]): number;
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
  const positionOf = (path: readonly (string | number)[]) => position(document.contents, path);
  if (document.errors.length > 0)
    return {
      positionOf,
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
  if (issues.some((issue) => issue.message === SELF_ALIAS)) return { issues, syntaxErrors: [], positionOf };
  try {
    // Aliases are expanded at most 100 times in all, so a small file cannot expand into a huge one.
    const value: unknown = document.toJS({ maxAliasCount: MAX_ALIASES, mapAsMap: true });
    return { value, issues, syntaxErrors: [], positionOf };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return {
      issues: [
        { path: [], message: `the document expands too many aliases (at most ${MAX_ALIASES} are allowed)` },
      ],
      syntaxErrors: [],
      positionOf,
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

function position(root: Node | null, path: readonly (string | number)[]): number {
  let node = root;
  let at = root?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && keyString(item.key.value) === String(segment),
      );
      if (!pair || !isScalar(pair.key)) break;
      at = pair.key.range?.[0] ?? at;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | null | undefined;
      if (!item) break;
      at = item.range?.[0] ?? at;
      node = item;
    } else break;
  }
  return at;
}
