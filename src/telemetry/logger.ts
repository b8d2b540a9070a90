import { type DestinationStream, type Logger, pino } from "pino";
import { build as prettyStream } from "pino-pretty";

export type LogFormat = "json" | "pretty";

/**
 * The service logger, on stderr. JSON lines for machines (containers, log shippers); on a
 * terminal, readable lines (pino-pretty) unless `format` says otherwise. Request fields go through
 * pino's serializer, which escapes control characters, so nothing a caller sends can forge or
 * break a log line.
 */
export function createLogger(
  options: { level?: string; format?: LogFormat; destination?: DestinationStream } = {},
): Logger {
  const base = { level: options.level ?? "info", base: { service: "switchyard" } };
  if (options.destination) return pino(base, options.destination);
  const format = options.format ?? (process.stderr.isTTY ? "pretty" : "json");
  if (format === "pretty")
    return pino(
      base,
      prettyStream({
        destination: 2,
        sync: true,
        colorize: process.stderr.isTTY === true,
        ignore: "pid,hostname,service",
        translateTime: "SYS:HH:MM:ss.l",
      }),
    );
  return pino(base, pino.destination({ fd: 2, sync: false }));
}
