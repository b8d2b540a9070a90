import { type Logger, pino } from "pino";
import type { LoggingPolicy } from "../core/policy.js";

/**
 * Where the log lines of evaluation traffic (`eval: true`) go: the sink the policy names (a
 * JSON-lines file, stdout, or nowhere), never the service log, so evaluation runs neither drown
 * nor pollute what operators read. One writer per destination, opened on first use and kept
 * across reloads that name the same one.
 */
export interface EvalSinks {
  /** The logger for `sink`, or undefined when the sink discards. */
  logger(sink: LoggingPolicy["evalSink"]): Logger | undefined;
  /** Flushes and closes every file opened. */
  close(): Promise<void>;
}

export function createEvalSinks(): EvalSinks {
  const open = new Map<string, { logger: Logger; destination: ReturnType<typeof pino.destination> }>();
  return {
    logger(sink) {
      if (sink.kind === "discard") return undefined;
      const key = sink.kind === "file" ? `file:${sink.path}` : "stdout";
      let found = open.get(key);
      if (!found) {
        const destination =
          sink.kind === "file"
            ? pino.destination({ dest: sink.path, mkdir: true, sync: false })
            : pino.destination({ fd: 1, sync: false });
        found = { logger: pino({ base: { service: "switchyard", sink: "eval" } }, destination), destination };
        open.set(key, found);
      }
      return found.logger;
    },
    async close() {
      await Promise.all(
        [...open.values()].map(
          ({ destination }) =>
            new Promise<void>((resolve) => {
              destination.flush(() => {
                destination.end();
                resolve();
              });
            }),
        ),
      );
      open.clear();
    },
  };
}
