/**
 * The one place that reads `process.env`. Everything else receives an `Environment` snapshot, so
 * tests pass their own. A policy's version hashes the file only: a variable changed under a
 * running process (which its environment does not allow anyway) needs a restart.
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function processEnvironment(): Environment {
  return { ...process.env };
}
