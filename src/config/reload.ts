import { type FSWatcher, lstatSync, readlinkSync, watch } from "node:fs";
import { isAbsolute, join, parse, resolve, sep } from "node:path";
import type { Logger } from "pino";
import type { Policy } from "../core/policy.js";
import type { PolicyIssue } from "./compile-policy.js";
import type { Environment } from "./env.js";
import { PolicyError, parsePolicy, readPolicyText } from "./load-policy.js";
import type { PolicyStore } from "./policy-store.js";

export interface PolicyReloader {
  /**
   * Reads and loads the file now (SIGHUP: the operator says the file is ready); resolves true
   * when a new policy took effect. Never throws.
   */
  reload(trigger: string): Promise<boolean>;
  /**
   * Loads `text` as the policy file's content, as reload() loads what it reads (a cluster worker
   * applying the text its primary read and applied, so that every process loads the same bytes).
   */
  apply(trigger: string, text: string): Promise<boolean>;
  /** What came of the last reload attempt, for operators (GetPolicy); undefined before the first. */
  lastReload(): ReloadRecord | undefined;
  stop(): void;
}

export interface ReloadRecord {
  at: Date;
  /** "SIGHUP", "file change", or what the caller of reload() named. */
  trigger: string;
  outcome: "applied" | "unchanged" | "refused";
  /** The version read, when the file parsed (so not for a refused one). */
  version?: string;
  /** Why it was refused; empty otherwise. */
  issues: PolicyIssue[];
}

/** After a change, how long no further change must be seen before the file is read. */
const DEFAULT_QUIET_MS = 100;
/** Between the two reads that must agree before the file is loaded. */
const DEFAULT_SETTLE_MS = 200;

/**
 * Reloads the policy when its file changes and on SIGHUP. A valid file takes effect atomically
 * (calls in flight finish under the policy they started with); an invalid one is refused and
 * logged with every issue, and the policy in force stays. Every attempt is logged, an unchanged
 * file included, and remembered (`lastReload`).
 *
 * A change is loaded only once the file has stopped changing: after the last change event a
 * quiet period (`quietMs`) with no other event, a read, a settle interval (`settleMs`), a second
 * read; a new event or two reads that differ start the wait over. So a file caught half-written
 * by a slow in-place write is never loaded, as long as the writer's pauses are shorter than the
 * settle interval.
 *
 * Directories are watched, not the file, because editors and config-map updates replace files
 * by rename: the file's directory, and for each symlink on the way to the real file (the path
 * itself, a Kubernetes ConfigMap's `..data`, a link into another directory) the directory that
 * holds the link. Only events for those names count. The chain is resolved again after every
 * reload attempt, since a link may now point elsewhere.
 */
export function watchPolicyFile(options: {
  path: string;
  store: PolicyStore;
  env: () => Environment;
  logger: Logger;
  /** Milliseconds without a change event before the file is first read; default 100. */
  quietMs?: number;
  /** Milliseconds between the two reads that must agree; default 200. */
  settleMs?: number;
  /** Also reload on SIGHUP (the CLI; in-process tests leave the signal alone). */
  onSighup: boolean;
  /** Watch the file (default true); a cluster worker does not, its primary does and forwards. */
  watch?: boolean;
  /** Told of every text that took effect, after it did (the cluster primary forwards it). */
  onApplied?: (text: string, trigger: string) => void;
}): PolicyReloader {
  const log = options.logger.child({ component: "policy" });
  const quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  let running: Promise<boolean> = Promise.resolve(false);
  let last: ReloadRecord | undefined;
  let stopped = false;

  const load = async (trigger: string, read: () => Promise<string>): Promise<boolean> => {
    try {
      const text = await read();
      const policy = parsePolicy(text, { source: options.path, env: options.env() });
      if (policy.version === options.store.current().version) {
        last = { at: new Date(), trigger, outcome: "unchanged", version: policy.version, issues: [] };
        log.info({ trigger, version: policy.version }, "policy unchanged");
        return false;
      }
      const restartOnly = restartOnlyChanges(options.store.current(), policy);
      if (restartOnly.length > 0) throw new PolicyError(options.path, restartOnly);
      options.store.replace(policy);
      last = { at: new Date(), trigger, outcome: "applied", version: policy.version, issues: [] };
      log.info({ trigger, version: policy.version, warnings: policy.warnings }, "policy reloaded");
      options.onApplied?.(text, trigger);
      return true;
    } catch (error) {
      const issues = error instanceof PolicyError ? error.issues : [{ path: "", message: String(error) }];
      last = { at: new Date(), trigger, outcome: "refused", issues };
      log.error(
        { trigger, issues, inForce: options.store.current().version },
        "policy refused; the previous one stays in force",
      );
      return false;
    } finally {
      rewatch();
    }
  };

  // Serialised so two quick reloads cannot apply out of order.
  const enqueue = (trigger: string, read: () => Promise<string>): Promise<boolean> => {
    running = running.then(() => load(trigger, read));
    return running;
  };
  const reload = (trigger: string) => enqueue(trigger, () => readPolicyText(options.path));

  // Every change event bumps the generation and restarts the quiet period; a settle interval
  // that ends under another generation gives up (the newer wait carries on).
  let generation = 0;
  let quietTimer: NodeJS.Timeout | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  const onChange = () => {
    generation += 1;
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => void settle(generation), quietMs);
  };
  const settle = async (started: number): Promise<void> => {
    const first = await readOnce(options.path);
    await new Promise<void>((resolve) => {
      settleTimer = setTimeout(resolve, settleMs);
    });
    if (stopped || generation !== started) return;
    const second = await readOnce(options.path);
    if (stopped || generation !== started) return;
    if (first.key !== second.key) {
      // Still being written, and its change event not (yet) seen: start over.
      quietTimer = setTimeout(() => void settle(started), quietMs);
      return;
    }
    await enqueue("file change", second.read);
  };

  const watchers = new Map<string, { watcher: FSWatcher; names: ReadonlySet<string> }>();
  const rewatch = () => {
    if (stopped || options.watch === false) return;
    const wanted = watchPoints(options.path);
    for (const [directory, entry] of watchers)
      if (!wanted.has(directory)) {
        entry.watcher.close();
        watchers.delete(directory);
      }
    for (const [directory, names] of wanted) {
      const existing = watchers.get(directory);
      if (existing) {
        existing.names = names;
        continue;
      }
      try {
        const watcher = watch(directory, (_event, name) => {
          if (name === null || watchers.get(directory)?.names.has(name)) onChange();
        });
        watcher.on("error", (error) => {
          log.warn({ err: error, directory }, "stopped watching the policy file; SIGHUP still reloads");
          watcher.close();
          if (watchers.get(directory)?.watcher === watcher) watchers.delete(directory);
        });
        watchers.set(directory, { watcher, names });
      } catch (error) {
        // e.g. ENOSPC when the inotify watch limit is reached: serve on, reload on SIGHUP only.
        log.warn({ err: error, directory }, "cannot watch the policy file; SIGHUP still reloads");
      }
    }
  };
  rewatch();

  const onSighup = () => void reload("SIGHUP");
  if (options.onSighup) process.on("SIGHUP", onSighup);

  return {
    reload,
    apply: (trigger, text) => enqueue(trigger, async () => text),
    lastReload: () => last,
    stop() {
      stopped = true;
      // A settle interval cut short here never resumes: its reader checks `stopped` anyway.
      clearTimeout(quietTimer);
      clearTimeout(settleTimer);
      for (const { watcher } of watchers.values()) watcher.close();
      watchers.clear();
      process.off("SIGHUP", onSighup);
    },
  };
}

/**
 * What a reload cannot change in a running process: `state:` (the store is made once at start,
 * and its counters would not follow a switch). Messages name no value (a Redis URL may hold a
 * password).
 */
function restartOnlyChanges(current: Policy, next: Policy): PolicyIssue[] {
  if (JSON.stringify(current.state) === JSON.stringify(next.state)) return [];
  return [
    {
      path: "state",
      message: "changing the state store takes a restart; the policy in force stays (restart to apply it)",
    },
  ];
}

/** One read, as a key two reads compare by (a failed read by its error) and the text it gave. */
async function readOnce(path: string): Promise<{ key: string; read: () => Promise<string> }> {
  try {
    const text = await readPolicyText(path);
    return { key: `text:${text}`, read: async () => text };
  } catch (error) {
    return { key: `error:${String(error)}`, read: () => Promise.reject(error) };
  }
}

/**
 * Directory → entry names whose change may change what `path` reads: every symlink met while
 * resolving it (in the directory holding the link) and the file it finally names. Resolution
 * follows the kernel's: a link's target replaces it, relative to the link's directory.
 */
function watchPoints(path: string): Map<string, Set<string>> {
  const points = new Map<string, Set<string>>();
  const add = (directory: string, name: string) => {
    const names = points.get(directory) ?? new Set<string>();
    names.add(name);
    points.set(directory, names);
  };
  const absolute = resolve(path);
  const { root } = parse(absolute);
  const components = (text: string) => text.split(sep).filter((part) => part !== "");
  let pending = components(absolute);
  let current = root;
  // Bounded like the kernel's ELOOP, so a link cycle ends.
  for (let links = 0; pending.length > 0; ) {
    const name = pending.shift() as string;
    if (name === ".") continue;
    if (name === "..") {
      current = join(current, "..");
      continue;
    }
    const candidate = join(current, name);
    const link = links < 40 && isSymlink(candidate) ? readLink(candidate) : undefined;
    if (link !== undefined) {
      links += 1;
      add(current, name);
      pending = [...components(link), ...pending];
      if (isAbsolute(link)) current = root;
      continue;
    }
    if (pending.length === 0) add(current, name);
    current = candidate;
  }
  return points;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
