import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { type Logger, pino } from "pino";
import type { LoggingPolicy } from "../core/policy.js";

/**
 * Where the log lines of evaluation traffic (`eval: true`) go: the sink the policy names (a
 * JSON-lines file, stdout, or nowhere), never the service log, so evaluation runs neither drown
 * nor pollute what operators read. One writer per destination, opened on first use and kept
 * across reloads that name the same one. A file that cannot be opened or written is reported
 * once to `log` and discards from then on: evaluation traffic never takes the service down.
 */
export interface EvalSinks {
  /** The logger for `sink`, or undefined when the sink discards (or its file failed). */
  logger(sink: LoggingPolicy["evalSink"]): Logger | undefined;
  /** Writes what is buffered and closes every file opened; resolves once it is on disk. */
  close(): Promise<void>;
}

interface OpenSink {
  logger?: Logger;
  destination?: ReturnType<typeof pino.destination>;
  failed: boolean;
}

export function createEvalSinks(log?: Logger): EvalSinks {
  const open = new Map<string, OpenSink>();
  return {
    logger(sink) {
      if (sink.kind === "discard") return undefined;
      const key = sink.kind === "file" ? `file:${sink.path}` : "stdout";
      let found = open.get(key);
      if (!found) {
        // The file is opened here, synchronously (once per sink): a destination still opening
        // when the process exits makes pino's exit flush throw.
        let fd = 1;
        if (sink.kind === "file")
          try {
            mkdirSync(dirname(sink.path), { recursive: true });
            fd = openSync(sink.path, "a");
          } catch (error) {
            log?.warn(
              { sink: key, error: (error as Error).message },
              "eval sink failed; its lines are dropped",
            );
            open.set(key, { failed: true });
            return undefined;
          }
        const destination = pino.destination({ fd, sync: false });
        const opened: OpenSink = {
          logger: pino({ base: { service: "switchyard", sink: "eval" } }, destination),
          destination,
          failed: false,
        };
        // Without a listener, an 'error' (a write that fails: the disk is full) is thrown from
        // an fs callback and ends the process.
        destination.on("error", (error: Error) => {
          if (opened.failed) return;
          opened.failed = true;
          // pino flushes its destinations at exit: a destroyed one is skipped, a broken one throws.
          destination.destroy();
          log?.warn({ sink: key, error: error.message }, "eval sink failed; its lines are dropped");
        });
        found = opened;
        open.set(key, found);
      }
      return found.failed ? undefined : found.logger;
    },
    async close() {
      // flush(cb) calls back at once (nothing is held for minLength): the lines are on disk
      // only once end() has written them and closed the file.
      const closing = [...open.values()]
        .flatMap((sink) => (!sink.failed && sink.destination ? [sink.destination] : []))
        .map(
          (destination) =>
            new Promise<void>((resolve) => {
              destination.once("close", () => resolve());
              destination.once("error", () => resolve());
              destination.end();
            }),
        );
      open.clear();
      await Promise.all(closing);
    },
  };
}
