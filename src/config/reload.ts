import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { PolicyIssue } from "./compile-policy.js";
import type { Environment } from "./env.js";
import { loadPolicyFile, PolicyError } from "./load-policy.js";
import type { PolicyStore } from "./policy-store.js";

export interface PolicyReloader {
  /** Loads the file now; resolves true when a new policy took effect. Never throws. */
  reload(trigger: string): Promise<boolean>;
  /** What came of the last reload, for operators (GetPolicy); undefined before the first. */
  lastReload(): ReloadRecord | undefined;
  stop(): void;
}

export interface ReloadRecord {
  at: Date;
  trigger: string;
  outcome: "applied" | "unchanged" | "refused";
  /** The version read, when the file parsed. */
  version?: string;
  issues: PolicyIssue[];
}

/**
 * Reloads the policy when its file changes and on SIGHUP. A valid file takes effect atomically
 * (calls in flight finish under the policy they started with); an invalid one is refused and
 * logged with every issue, and the policy in force stays. The directory is watched, not the
 * file, because editors and config-map updates replace files by rename.
 */
export function watchPolicyFile(options: {
  path: string;
  store: PolicyStore;
  env: () => Environment;
  logger: Logger;
  debounceMs?: number;
  /** Also reload on SIGHUP (the CLI; in-process tests leave the signal alone). */
  onSighup: boolean;
}): PolicyReloader {
  const log = options.logger.child({ component: "policy" });
  let running: Promise<boolean> = Promise.resolve(false);
  let last: ReloadRecord | undefined;

  const reload = (trigger: string): Promise<boolean> => {
    // Serialised so two quick edits cannot apply out of order.
    running = running.then(async () => {
      try {
        const policy = await loadPolicyFile(options.path, options.env());
        if (policy.version === options.store.current().version) {
          last = { at: new Date(), trigger, outcome: "unchanged", version: policy.version, issues: [] };
          log.info({ trigger, version: policy.version }, "policy unchanged");
          return false;
        }
        options.store.replace(policy);
        last = { at: new Date(), trigger, outcome: "applied", version: policy.version, issues: [] };
        log.info({ trigger, version: policy.version, warnings: policy.warnings }, "policy reloaded");
        return true;
      } catch (error) {
        const issues = error instanceof PolicyError ? error.issues : [{ path: "", message: String(error) }];
        last = { at: new Date(), trigger, outcome: "refused", issues };
        log.error(
          { trigger, issues, version: options.store.current().version },
          "policy refused; the previous one stays in force",
        );
        return false;
      }
    });
    return running;
  };

  let timer: NodeJS.Timeout | undefined;
  // Any change in the directory triggers a load: a Kubernetes ConfigMap update swaps a `..data`
  // symlink, never touching the file's own name. Loading is cheap and an unchanged content hash
  // is a no-op.
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload("file change"), options.debounceMs ?? 100);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(options.path), onChange);
    watcher.on("error", (error) =>
      log.warn({ err: error }, "stopped watching the policy file; SIGHUP still reloads"),
    );
  } catch (error) {
    // e.g. ENOSPC when the inotify watch limit is reached: serve on, reload on SIGHUP only.
    log.warn({ err: error }, "cannot watch the policy file; SIGHUP still reloads");
  }
  const onSighup = () => void reload("SIGHUP");
  if (options.onSighup) process.on("SIGHUP", onSighup);

  return {
    reload,
    lastReload: () => last,
    stop() {
      clearTimeout(timer);
      watcher?.close();
      process.off("SIGHUP", onSighup);
    },
  };
}
