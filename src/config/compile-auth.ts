import { credentialDigest } from "../core/credentials.js";
import type { AuthPolicy, TenantKey } from "../core/policy.js";
import type { MissingVariable } from "./interpolate.js";
import { formatPath, keyString, type PathIssue } from "./read-yaml.js";
import type { CheckedDocument } from "./validate-policy.js";

type Path = (string | number)[];

/** A key's digest as the policy writes it. */
const SHA256_KEY = /^sha256:([0-9a-f]{64})$/i;
/** A key written as exactly one reference to a variable: the key itself comes from the environment. */
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
/** Shorter keys are guessable; the environment's value is refused (never echoed). */
const MIN_KEY_LENGTH = 16;

/** How each `tenants.<name>.keys[i]` was written in the file, before interpolation. */
export type WrittenKeys = ReadonlyMap<string, string>;

const writtenKey = (tenant: string, index: number) => `${tenant}\u0000${index}`;

/**
 * The text of every tenant key as written (`${ACME_KEY}`, `sha256:…`), read from the YAML tree
 * before interpolation, so a key written in clear can be told from one taken from the
 * environment.
 */
export function writtenKeys(tree: unknown): WrittenKeys {
  const written = new Map<string, string>();
  const entries = (value: unknown): [string, unknown][] =>
    value instanceof Map
      ? [...value.entries()].flatMap(([key, item]) => {
          const name = keyString(key);
          return name === undefined ? [] : [[name, item] as [string, unknown]];
        })
      : [];
  const tenants = entries(tree).find(([key]) => key === "tenants")?.[1];
  for (const [tenant, block] of entries(tenants)) {
    const keys = entries(block).find(([key]) => key === "keys")?.[1];
    if (!Array.isArray(keys)) continue;
    keys.forEach((text: unknown, index) => {
      if (typeof text === "string") written.set(writtenKey(tenant, index), text);
    });
  }
  return written;
}

/** Whether an unset variable is a tenant key's (which leaves that key out, as a warning). */
export function isTenantKey(gap: MissingVariable): boolean {
  const [section, , field, index] = gap.path;
  return gap.path.length === 4 && section === "tenants" && field === "keys" && typeof index === "number";
}

/**
 * `auth` and the tenants' keys, compiled: each key as its SHA-256 digest (a `${VAR}` key hashed here, a
 * `sha256:` entry as written), every key once across tenants, and the mode with what it needs.
 * A key written in clear in the file is refused (the file is not a secret store); an unset
 * variable leaves its key out with a warning, as does a tenant left with no usable key.
 * Messages never contain a key.
 */
export function compileAuth(
  document: CheckedDocument,
  written: WrittenKeys,
  missing: readonly MissingVariable[],
  issues: PathIssue[],
  warnings: string[],
): { auth: AuthPolicy; keyCounts: Map<string, number> } {
  /** Each tenant's usable keys (compile-tenants.ts puts the count in its TenantPolicy). */
  const keyCounts = new Map<string, number>();
  const keys: (TenantKey & { path: Path })[] = [];
  let declaresKeys = false;
  for (const [tenant, block] of document.tenants?.valid ?? []) {
    if (block.keys === undefined) {
      keyCounts.set(tenant, 0);
      continue;
    }
    declaresKeys = true;
    let usable = 0;
    block.keys.forEach((value, index) => {
      const path: Path = ["tenants", tenant, "keys", index];
      const digest = keyDigest(
        value,
        written.get(writtenKey(tenant, index)),
        path,
        missing,
        issues,
        warnings,
      );
      if (!digest) return;
      const same = keys.find((key) => Buffer.compare(key.digest, digest) === 0);
      if (same) {
        issues.push({
          path,
          message: `the same key as ${formatPath(same.path)}: a key authenticates one tenant, once`,
        });
        return;
      }
      keys.push({ digest, tenant, path });
      usable += 1;
    });
    if (usable === 0) warnings.push(`tenant "${tenant}" has no usable key: no call can authenticate as it`);
    keyCounts.set(tenant, usable);
  }

  const { auth } = document;
  const mode = auth?.mode ?? (declaresKeys ? "keys" : "none");
  if (mode === "keys" && !declaresKeys)
    issues.push({
      path: ["auth", "mode"],
      message: "keys: but no tenant declares keys (tenants.<name>.keys), so every call would be refused",
    });
  if (mode === "keys" && declaresKeys && keys.length === 0)
    warnings.push(
      "auth.mode is keys and no tenant has a usable key: every call is refused as UNAUTHENTICATED",
    );
  const header = auth?.identity_header;
  if (mode === "identity_header" && header?.trusted !== true)
    issues.push({
      path: header ? ["auth", "identity_header", "trusted"] : ["auth", "identity_header"],
      message: header
        ? "must be true with mode identity_header: say so only when a proxy in front of the router sets this header on every call and strips any copy a caller sent"
        : "required with mode identity_header: { name: <header>, trusted: true }",
    });
  if (mode !== "identity_header" && header)
    warnings.push(
      `auth.identity_header is not read: auth.mode is ${mode} (calls carrying it are not trusted)`,
    );
  if (mode === "none")
    warnings.push(
      "auth.mode is none: calls are not authenticated, so any caller may name any tenant and spend its budget (declare tenants.<name>.keys to require keys)",
    );
  if (mode === "identity_header" && declaresKeys)
    warnings.push(
      "auth.mode is identity_header: tenants' keys are not read on calls (only AdminService takes them, for a tenant's own decisions)",
    );

  return {
    auth: {
      mode,
      ...(mode === "identity_header" && header && { identityHeader: header.name }),
      keys: keys.map(({ digest, tenant }) => ({ digest, tenant })),
    },
    keyCounts,
  };
}

/** One key's digest; undefined (with the issue or warning said) when it is refused or unset. */
function keyDigest(
  value: string | undefined,
  text: string | undefined,
  path: Path,
  missing: readonly MissingVariable[],
  issues: PathIssue[],
  warnings: string[],
): Buffer | undefined {
  if (value === undefined) {
    const gap = missing.find((entry) => formatPath(entry.path) === formatPath(path));
    warnings.push(`${formatPath(path)}: ${gap?.variable ?? "its variable"} is not set; that key is left out`);
    return undefined;
  }
  if (text !== undefined && WHOLE_REFERENCE.test(text)) {
    if (value.length < MIN_KEY_LENGTH || value.trim() !== value) {
      issues.push({
        path,
        message: `the key in ${text.slice(2, -1)} must be at least ${MIN_KEY_LENGTH} characters, with no surrounding whitespace`,
      });
      return undefined;
    }
    return credentialDigest(value);
  }
  const hashed = SHA256_KEY.exec(value);
  if (hashed?.[1] && text === value) return Buffer.from(hashed[1], "hex");
  issues.push({
    path,
    message: value.toLowerCase().startsWith("sha256:")
      ? "sha256: must be followed by the key's SHA-256 as 64 hexadecimal digits"
      : `must be "\${VARIABLE}" (the key, from the environment) or "sha256:<64 hex>" (its SHA-256), never the key itself`,
  });
  return undefined;
}
