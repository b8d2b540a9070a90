import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { type Browser, chromium } from "playwright-core";

let binary: string | null | undefined;

/**
 * Debian's chromium (`apt-get install chromium`), which playwright-core drives with nothing
 * downloaded. Under CI=true a missing one is an error (the console suites must run there;
 * .ci/run installs it); elsewhere the suites are skipped, visibly.
 */
export function chromiumPath(): string | undefined {
  if (binary === undefined)
    binary =
      ["/usr/bin/chromium", ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "chromium"))]
        .filter((path) => path !== "chromium")
        .find(executable) ?? null;
  if (binary === null && process.env.CI === "true")
    throw new Error(
      "chromium is not installed, and CI must run the console tests (apt-get install chromium)",
    );
  if (binary === null) console.warn("chromium is not installed: the console browser tests are skipped");
  return binary ?? undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A headless chromium; close it in afterAll. */
export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("chromium is not installed");
  return chromium.launch({
    executablePath,
    headless: true,
    // Tests run as root in a container, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}
