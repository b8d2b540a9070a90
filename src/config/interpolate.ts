import type { Environment } from "./env.js";
import { keyString, RESERVED_KEYS } from "./read-yaml.js";

/** A `${NAME}` or `${NAME:-fallback}` reference to an environment variable. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface MissingVariable {
  /** Path of the string in the document, e.g. ["providers", "openai", "api_key"]. */
  path: (string | number)[];
  variable: string;
}

/**
 * Replaces `${NAME}` references in every string of a parsed YAML tree and returns it as plain
 * data: mappings (`Map`s from readYaml, or objects) become objects. A reference to an unset
 * variable (with no `:-fallback`) leaves the string `undefined` and is reported, so the caller
 * decides whether that is fatal (most fields) or disables a provider (api keys). `$${` escapes.
 *
 * Reserved keys (`__proto__`, `constructor`, `prototype`) are left out (readYaml reports them),
 * and every key is defined as an own property, so no key can set an object's prototype.
 */
export function interpolate(
  value: unknown,
  env: Environment,
  missing: MissingVariable[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === "string") return interpolateString(value, env, missing, path);
  if (Array.isArray(value))
    return value.map((item, index) => interpolate(item, env, missing, [...path, index]));
  if (value instanceof Map || (value !== null && typeof value === "object")) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [rawKey, item] of entries) {
      const key = keyString(rawKey);
      if (key === undefined || RESERVED_KEYS.has(key)) continue;
      Object.defineProperty(out, key, {
        value: interpolate(item, env, missing, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function interpolateString(
  text: string,
  env: Environment,
  missing: MissingVariable[],
  path: (string | number)[],
): string | undefined {
  let unset = false;
  const escaped = text.split("$${");
  const replaced = escaped.map((part) =>
    part.replace(REFERENCE, (_whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      unset = true;
      missing.push({ path, variable: name });
      return "";
    }),
  );
  return unset ? undefined : replaced.join("${");
}
