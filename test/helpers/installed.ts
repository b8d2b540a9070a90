import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Where a program the suites need is installed (`candidates` first, then each directory of
 * PATH), or null. Under CI=true a missing one is an error: the suites that need it must run
 * there, and .ci/run installs it (`apt-get install <package>`); elsewhere the caller skips them,
 * visibly.
 */
export function installed(
  program: string,
  aptPackage: string,
  candidates: readonly string[] = [],
): string | null {
  const found =
    [
      ...candidates,
      ...(process.env.PATH ?? "")
        .split(delimiter)
        .filter((directory) => directory !== "")
        .map((directory) => join(directory, program)),
    ].find(executable) ?? null;
  if (found === null && process.env.CI === "true")
    throw new Error(
      `${program} is not installed, and CI must run the tests that need it (apt-get install ${aptPackage})`,
    );
  return found;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
