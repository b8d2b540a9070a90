import { type DestinationStream, type Logger, pino } from "pino";

/**
 * The service logger. JSON lines; request fields go through pino's serializer, which escapes
 * control characters, so nothing a caller sends can forge or break a log line.
 */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    { level: options.level ?? "info", base: { service: "switchyard" } },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
