/**
 * The one place that reads `process.env`. Everything else receives an `Environment` snapshot,
 * so tests pass their own and a reload sees the variables as they are at that moment.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function processEnvironment(): Environment {
  return { ...process.env };
}
